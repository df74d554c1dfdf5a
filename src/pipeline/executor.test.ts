import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeTempDir } from "../../test/setup/tmp.ts";
import { createDataService } from "../data/service.ts";
import { openWorkspace, type Workspace } from "../workspace.ts";
import { definePipeline, step } from "./define.ts";
import { planPipeline, runPipeline, type PipelineRunResult } from "./executor.ts";
import { pipelineDeps } from "./service.ts";

let tmp: { path: string; remove(): void };
let ws: Workspace;
beforeEach(async () => {
  tmp = makeTempDir();
  ws = await openWorkspace({ dir: tmp.path });
  mkdirSync(join(tmp.path, "data"));
  writeFileSync(join(tmp.path, "data", "raw.txt"), "b\na\nc\n");
});
afterEach(async () => {
  await ws.close();
  tmp.remove();
});

const statuses = (r: PipelineRunResult): Record<string, string> =>
  Object.fromEntries(r.steps.map((s) => [s.step, s.status]));
/** A killed child that this sandbox's init never reaps stays a zombie ("Z"): dead all the same. */
const isAlive = (pid: number): boolean => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};
const read = (p: string): string => readFileSync(join(tmp.path, p), "utf8");

const chain = definePipeline({
  name: "chain",
  steps: {
    sort: step({
      run: "sort data/raw.txt > build/sorted.txt",
      deps: ["data/raw.txt"],
      outs: ["build/sorted.txt"],
    }),
    count: step({
      run: "wc -l < build/sorted.txt | tr -d ' ' > build/count.txt",
      deps: ["build/sorted.txt"],
      outs: ["build/count.txt"],
    }),
    folder: step({
      run: "mkdir -p build/parts/x && cp build/sorted.txt build/parts/a.txt && echo y > build/parts/x/b.txt",
      deps: ["build/sorted.txt"],
      outs: ["build/parts"],
    }),
  },
});

describe("runPipeline", () => {
  it("runs, then reuses everything, restores deleted outputs, and re-runs only what an input change touches", async () => {
    const first = await runPipeline(pipelineDeps(ws), chain, { jobs: 2 });
    expect(first.status).toBe("succeeded");
    expect(statuses(first)).toEqual({ sort: "succeeded", count: "succeeded", folder: "succeeded" });
    expect(read("build/count.txt").trim()).toBe("3");

    rmSync(join(tmp.path, "build"), { recursive: true });
    const second = await runPipeline(pipelineDeps(ws), chain, { jobs: 2 });
    expect(statuses(second)).toEqual({ sort: "cached", count: "cached", folder: "cached" });
    expect(read("build/sorted.txt")).toBe("a\nb\nc\n");
    expect(read("build/parts/x/b.txt")).toBe("y\n");

    const dry = await planPipeline(pipelineDeps(ws), chain);
    expect(dry.plan.map((s) => s.action)).toEqual(["reuse", "reuse", "reuse"]);

    // Same lines in another order: sort's output is unchanged, so its dependants stay cached.
    writeFileSync(join(tmp.path, "data", "raw.txt"), "c\nb\na\n");
    const third = await runPipeline(pipelineDeps(ws), chain, { jobs: 2 });
    expect(statuses(third)).toEqual({ sort: "succeeded", count: "cached", folder: "cached" });
    expect(third.steps[0]?.cacheKey).not.toBe(first.steps[0]?.cacheKey);

    const forced = await runPipeline(pipelineDeps(ws), chain, { force: ["count"], targets: ["count"] });
    expect(statuses(forced)).toEqual({ sort: "cached", count: "succeeded" });

    const audit = await ws.audit.list({ action: "pipeline.run.finish" });
    expect(audit).toHaveLength(4);
    expect(
      (await ws.audit.list({ targetPrefix: `pipeline-run:${first.runId}/` })).map((e) => e.action).sort(),
    ).toEqual(["pipeline.step.succeeded", "pipeline.step.succeeded", "pipeline.step.succeeded"]);
    expect((await ws.audit.verify()).ok).toBe(true);
    const rows = await ws.store.db
      .selectFrom("step_runs")
      .selectAll()
      .where("run_id", "=", second.runId)
      .execute();
    expect(rows.every((r) => r.cache_hit === 1)).toBe(true);
  });

  it("stops a failed step's dependants, not its siblings, never caches partial outputs, and names the stderr tail", async () => {
    const p = definePipeline({
      name: "fail",
      steps: {
        bad: step({
          run: "echo partial > out/bad.txt; echo 'boom: disk on fire' >&2; exit 3",
          outs: ["out/bad.txt"],
        }),
        after: step({ run: "cp out/bad.txt out/after.txt", deps: ["out/bad.txt"], outs: ["out/after.txt"] }),
        sibling: step({ run: "sleep 0.3; echo ok > out/sib.txt", outs: ["out/sib.txt"] }),
        later: step({ run: "echo later > out/later.txt", deps: ["out/sib.txt"], outs: ["out/later.txt"] }),
      },
    });
    const r = await runPipeline(pipelineDeps(ws), p, { jobs: 2 });
    expect(r.status).toBe("failed");
    expect(statuses(r)).toEqual({ bad: "failed", after: "skipped", sibling: "succeeded", later: "skipped" });
    const bad = r.steps.find((s) => s.step === "bad");
    expect(bad?.error).toMatch(/exited with 3[\s\S]*boom: disk on fire/);
    expect(r.steps.find((s) => s.step === "later")?.error).toMatch(/--keep-going/);
    const cacheRows = await ws.store.db.selectFrom("step_cache").select("outputs").execute();
    expect(cacheRows.map((c) => c.outputs).join()).not.toContain("out/bad.txt");

    const kept = await runPipeline(pipelineDeps(ws), p, { jobs: 2, keepGoing: true });
    expect(statuses(kept)).toEqual({
      bad: "failed",
      after: "skipped",
      sibling: "cached",
      later: "succeeded",
    });
  });

  it("fails clearly when a promised output is missing or the command does not exist", async () => {
    const p = definePipeline({
      name: "bad",
      steps: {
        lazy: step({ run: "true", outs: ["never.txt"] }),
        typo: step({ run: "no-such-command-xyz --flag" }),
      },
    });
    const r = await runPipeline(pipelineDeps(ws), p, { jobs: 1, keepGoing: true });
    expect(r.steps[0]?.error).toMatch(/did not write "never.txt"/);
    expect(r.steps[1]?.error).toMatch(/127 \(command not found: check "no-such-command-xyz"\)/);
  });

  it("retries with backoff, then succeeds", async () => {
    const p = definePipeline({
      name: "flaky",
      steps: {
        flaky: step({
          run: "n=$(cat tries 2>/dev/null || echo 0); n=$((n+1)); echo $n > tries; [ $n -ge 3 ] && echo done > ok.txt",
          outs: ["ok.txt"],
          retries: 3,
        }),
      },
    });
    const retries: number[] = [];
    const r = await runPipeline(pipelineDeps(ws), p, {
      retryBackoffMs: 20,
      onEvent: (e) => {
        if (e.type === "step-retry") retries.push(e.delayMs);
      },
    });
    expect(r.status).toBe("succeeded");
    expect(r.steps[0]?.attempts).toBe(3);
    expect(retries).toEqual([20, 40]);
  });

  it("kills the whole process tree on timeout", async () => {
    const p = definePipeline({
      name: "slow",
      steps: { slow: step({ run: "sleep 30 & echo $! > child.pid; wait", timeout: 400 }) },
    });
    const t0 = Date.now();
    const r = await runPipeline(pipelineDeps(ws), p);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(r.steps[0]?.error).toMatch(/timed out after 0.4 s; its whole process tree was killed/);
    const pid = Number(read("child.pid"));
    await new Promise((res) => setTimeout(res, 100));
    expect(isAlive(pid)).toBe(false);
  });

  it("runs independent steps in parallel up to --jobs", async () => {
    const steps = Object.fromEntries(
      Array.from({ length: 4 }, (_, i) => [
        `s${i}`,
        step({ run: `sleep 0.4; echo ${i} > o${i}.txt`, outs: [`o${i}.txt`] }),
      ]),
    );
    const t0 = Date.now();
    const r = await runPipeline(pipelineDeps(ws), definePipeline({ name: "par", steps }), { jobs: 2 });
    const ms = Date.now() - t0;
    expect(r.status).toBe("succeeded");
    expect(ms).toBeGreaterThanOrEqual(800);
    expect(ms).toBeLessThan(1500);
  });

  it("runs TypeScript function steps with params and records metrics", async () => {
    const p = definePipeline({
      name: "fn",
      steps: {
        write: step({
          params: { factor: 3 },
          outs: ["m.json"],
          metrics: "m.json",
          run: (ctx) => {
            writeFileSync(
              join(ctx.cwd, "m.json"),
              JSON.stringify({ score: { f1: 0.5 * Number(ctx.params["factor"]) } }),
            );
          },
        }),
      },
    });
    const r = await runPipeline(pipelineDeps(ws), p);
    expect(r.steps[0]?.metrics).toEqual({ "score.f1": 1.5 });
    expect(existsSync(join(tmp.path, "m.json"))).toBe(true);
    const again = await runPipeline(pipelineDeps(ws), p);
    expect(again.steps[0]).toMatchObject({ status: "cached", metrics: { "score.f1": 1.5 } });
  });

  it("keys a dataset input by its version's content id and tells the command which version it got", async () => {
    const data = createDataService(ws);
    writeFileSync(join(tmp.path, "data", "flights.csv"), "a,b\n1,2\n");
    const v1 = await data.add("data/flights.csv", { name: "flights" });
    const p = definePipeline({
      name: "ds",
      steps: {
        use: step({
          run: 'echo "$LOOPML_DATASET_FLIGHTS" > used.txt',
          deps: ["dataset:flights@latest"],
          outs: ["used.txt"],
        }),
      },
    });
    const first = await runPipeline(pipelineDeps(ws), p);
    expect(first.status).toBe("succeeded");
    const id1 = read("used.txt").trim();
    expect(id1).toMatch(/^[0-9a-f]{64}$/);
    expect(first.steps[0]?.inputs).toEqual([{ dep: "dataset:flights@latest", id: id1 }]);
    expect(JSON.stringify(v1)).toContain(id1);
    expect((await runPipeline(pipelineDeps(ws), p)).steps[0]?.status).toBe("cached");
    writeFileSync(join(tmp.path, "data", "flights.csv"), "a,b\n1,2\n3,4\n");
    await data.add("data/flights.csv", { name: "flights" });
    const third = await runPipeline(pipelineDeps(ws), p);
    expect(third.steps[0]?.status).toBe("succeeded");
    expect(read("used.txt").trim()).not.toBe(id1);
    const missing = definePipeline({
      name: "nods",
      steps: { x: step({ run: "true", deps: ["dataset:nope@1"] }) },
    });
    await expect(runPipeline(pipelineDeps(ws), missing)).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});
