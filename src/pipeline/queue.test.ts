// The distributed executor on real Redis with loopml worker processes: a worker killed mid-step, a worker that cannot reach its store or queue.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startQueueWorker, useQueueSuite, workersReady } from "../../test/setup/queue-suite.ts";
import { until, type LoopmlChild } from "../../test/scale/procs.ts";
import { openWorkspace, type Workspace } from "../workspace.ts";
import { definePipeline, step } from "./define.ts";
import { runPipeline } from "./executor.ts";
import { openStepQueue } from "./queue.ts";
import { pipelineDeps } from "./service.ts";

const suite = useQueueSuite();

describe("distributed executor (real Redis, loopml worker processes)", () => {
  it("finishes the pipeline after a worker is killed with SIGKILL mid-step, recording nothing twice", async () => {
    const dir = join(suite.tmp.path, "proj");
    mkdirSync(join(dir, "data"), { recursive: true });
    writeFileSync(join(dir, "data", "raw.txt"), "b\na\nc\n");
    const ws: Workspace = await openWorkspace({ dir });
    const workers = [0, 1].map(() => startQueueWorker(dir, suite.redis.url, ["--lease", "2"]));
    try {
      await workersReady(workers);
      const spec = definePipeline({
        name: "queued",
        steps: {
          slow: step({
            run: "sleep 3; sort data/raw.txt > build/sorted.txt; echo sorted",
            deps: ["data/raw.txt"],
            outs: ["build/sorted.txt"],
          }),
          count: step({
            run: "wc -l < data/raw.txt | tr -d ' ' > build/n.txt",
            deps: ["data/raw.txt"],
            outs: ["build/n.txt"],
          }),
          join: step({
            run: "cat build/sorted.txt build/n.txt > build/all.txt",
            deps: ["build/sorted.txt", "build/n.txt"],
            outs: ["build/all.txt"],
          }),
        },
      });
      const queue = await openStepQueue(suite.redis.url, ws.store, { pollMs: 100 });
      const running = runPipeline({ ...pipelineDeps(ws), queue }, spec, { jobs: 2 });

      // Kill whichever worker claimed the slow step, while it sleeps.
      let victim: LoopmlChild | undefined;
      await until("a claim of the slow step", async () => {
        const claim = await ws.store.db
          .selectFrom("queue_step_claims")
          .select("worker")
          .where("step", "=", "slow")
          .executeTakeFirst();
        victim = claim && workers.find((w) => claim.worker.endsWith(`:${w.pid}`));
        return victim !== undefined;
      });
      process.kill(victim!.pid, "SIGKILL");

      const result = await running;
      await queue.close();
      expect(result.steps.map((s) => [s.step, s.status, s.attempts])).toEqual([
        ["slow", "succeeded", 1],
        ["count", "succeeded", 1],
        ["join", "succeeded", 1],
      ]);
      expect(readFileSync(join(dir, "build", "all.txt"), "utf8")).toBe("a\nb\nc\n3\n");

      const claims = await ws.store.db
        .selectFrom("queue_step_claims")
        .select(["worker", "attempt"])
        .where("run_id", "=", result.runId)
        .where("step", "=", "slow")
        .execute();
      // Attempt 1 was claimed by the killed worker, then again by the survivor after the lease ran out.
      expect(claims.map((c) => c.attempt)).toEqual([1, 1]);
      expect(new Set(claims.map((c) => c.worker)).size).toBe(2);
      const results = await ws.store.db
        .selectFrom("queue_step_results")
        .select(["step", "attempt"])
        .where("run_id", "=", result.runId)
        .execute();
      expect(results.map((r) => r.step).sort()).toEqual(["count", "join", "slow"]);
      const stepRows = await ws.store.db
        .selectFrom("step_runs")
        .select("step")
        .where("run_id", "=", result.runId)
        .execute();
      expect(stepRows.length).toBe(3);
      const slow = result.steps.find((s) => s.step === "slow");
      const log = (await ws.blobs.getBytes(slow?.logBlob as string)).toString("utf8");
      expect(log).toContain("sorted");
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await ws.close();
    }
  });

  it("a worker that cannot reach the store or the queue exits with a clear error", async () => {
    const dir = join(suite.tmp.path, "bad");
    mkdirSync(dir, { recursive: true });
    const noStore = startQueueWorker(dir, suite.redis.url, ["--store", "postgres://loopml@127.0.0.1:1/nope"]);
    const noQueue = startQueueWorker(dir, suite.redis.url, ["--queue", "redis://127.0.0.1:1"]);
    expect(await noStore.exited).toBe(1);
    expect(noStore.output()).toMatch(/Cannot reach PostgreSQL at postgres:\/\/loopml@127\.0\.0\.1:1\/nope/);
    expect(await noQueue.exited).toBe(1);
    expect(noQueue.output()).toMatch(/Cannot reach the queue at redis:\/\/127\.0\.0\.1:1/);
  });
});
