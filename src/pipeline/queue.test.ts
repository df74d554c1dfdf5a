import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type RedisHandle } from "../../test/setup/redis.ts";
import { makeTempDir } from "../../test/setup/tmp.ts";
import { openWorkspace, type Workspace } from "../workspace.ts";
import { definePipeline, step } from "./define.ts";
import { runPipeline } from "./executor.ts";
import { openStepQueue } from "./queue.ts";
import { pipelineDeps } from "./service.ts";

const BIN = join(import.meta.dirname, "..", "..", "bin", "loopml.js");

let redis: RedisHandle;
let tmp: { path: string; remove(): void };
beforeAll(async () => {
  redis = await startRedis();
  tmp = makeTempDir();
});
afterAll(async () => {
  await redis.stop();
  tmp.remove();
});

interface WorkerProc {
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: string[];
  readonly exited: Promise<number | null>;
}

function startWorker(cwd: string, args: readonly string[] = []): WorkerProc {
  const child = spawn(process.execPath, [BIN, "worker", "--json", ...args], {
    cwd,
    env: { ...process.env, LOOPML_QUEUE: redis.url, LOOPML_STORE: undefined, LOOPML_ARTIFACTS: undefined },
  });
  const lines: string[] = [];
  let buf = "";
  child.stdout.on("data", (c: Buffer) => {
    buf += c.toString("utf8");
    const parts = buf.split("\n");
    buf = parts.pop() ?? "";
    lines.push(...parts);
  });
  child.stderr.on("data", (c: Buffer) => lines.push(`stderr: ${c.toString("utf8")}`));
  const exited = new Promise<number | null>((res) => child.on("exit", (code) => res(code)));
  return { child, lines, exited };
}

async function until(what: string, test: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(100);
  }
}

describe("distributed executor (real Redis, loopml worker processes)", () => {
  it("finishes the pipeline after a worker is killed with SIGKILL mid-step, recording nothing twice", async () => {
    const dir = join(tmp.path, "proj");
    mkdirSync(join(dir, "data"), { recursive: true });
    writeFileSync(join(dir, "data", "raw.txt"), "b\na\nc\n");
    const ws: Workspace = await openWorkspace({ dir });
    const workers = [startWorker(dir, ["--lease", "2"]), startWorker(dir, ["--lease", "2"])];
    try {
      await until("both workers ready", () =>
        workers.every((w) => w.lines.some((l) => l.includes('"ready"'))),
      );
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
      const queue = await openStepQueue(redis.url, ws.store, { pollMs: 100 });
      const running = runPipeline({ ...pipelineDeps(ws), queue }, spec, { jobs: 2 });

      // Kill whichever worker claimed the slow step, while it sleeps.
      let victim: WorkerProc | undefined;
      await until("a claim of the slow step", async () => {
        const claim = await ws.store.db
          .selectFrom("queue_step_claims")
          .select("worker")
          .where("step", "=", "slow")
          .executeTakeFirst();
        victim = claim && workers.find((w) => claim.worker.endsWith(`:${w.child.pid}`));
        return victim !== undefined;
      });
      process.kill(victim!.child.pid!, "SIGKILL");

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
      for (const w of workers) w.child.kill("SIGTERM");
      await Promise.all(workers.map((w) => w.exited));
      await ws.close();
    }
  });

  it("a worker that cannot reach the store or the queue exits with a clear error", async () => {
    const dir = join(tmp.path, "bad");
    mkdirSync(dir, { recursive: true });
    const noStore = startWorker(dir, ["--store", "postgres://loopml@127.0.0.1:1/nope"]);
    const noQueue = startWorker(dir, ["--queue", "redis://127.0.0.1:1"]);
    expect(await noStore.exited).toBe(1);
    expect(noStore.lines.join("\n")).toMatch(
      /Cannot reach PostgreSQL at postgres:\/\/loopml@127\.0\.0\.1:1\/nope/,
    );
    expect(await noQueue.exited).toBe(1);
    expect(noQueue.lines.join("\n")).toMatch(/Cannot reach the queue at redis:\/\/127\.0\.0\.1:1/);
  });
});
