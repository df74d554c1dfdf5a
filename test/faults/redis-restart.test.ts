// Redis restarted (without persistence, so every queued job is gone) while a pipeline's steps wait in the queue:
// the worker reconnects, the waiting `loopml run` queues its lost attempts again, and the run completes with every
// step recorded once.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { afterAll, expect, it } from "vitest";
import { openWorkspace } from "../../src/workspace.ts";
import { freePort } from "../setup/ports.ts";
import { makeTempDir } from "../setup/tmp.ts";
import { runLoopml, startLoopml } from "../scale/procs.ts";

const tmp = makeTempDir("loopml-fault-redis-");
let port = 0;
afterAll(() => {
  if (port !== 0) stopRedis();
  tmp.remove();
});

function startRedis(): void {
  execFileSync("redis-server", [
    ...["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    ...["--daemonize", "yes", "--dir", tmp.path, "--logfile", join(tmp.path, "redis.log")],
  ]);
}
function stopRedis(): void {
  try {
    execFileSync("redis-cli", ["-p", String(port), "shutdown", "nosave"], { stdio: "ignore" });
  } catch {
    // already down
  }
}
function redisAnswers(): boolean {
  try {
    return execFileSync("redis-cli", ["-p", String(port), "ping"], { encoding: "utf8" }).trim() === "PONG";
  } catch {
    return false;
  }
}

const PIPELINE = `pipelines:
  p:
    stages:
${["a", "b", "c", "d"]
  .map(
    (s) => `      ${s}:
        run: sleep 1 && echo ${s} > build/${s}.txt
        outs: [build/${s}.txt]`,
  )
  .join("\n")}
      join:
        run: cat build/a.txt build/b.txt build/c.txt build/d.txt > build/all.txt
        deps: [build/a.txt, build/b.txt, build/c.txt, build/d.txt]
        outs: [build/all.txt]
`;

it("[slow] queued steps resume after Redis restarts and loses its queue", async () => {
  port = await freePort();
  startRedis();
  for (let i = 0; !redisAnswers(); i++) {
    if (i > 100) throw new Error("redis-server did not start");
    await delay(100);
  }
  const dir = tmp.path;
  mkdirSync(join(dir, "w"));
  writeFileSync(join(dir, "loopml.yaml"), PIPELINE);
  const env = { LOOPML_QUEUE: `redis://127.0.0.1:${port}` };
  // One worker taking one step at a time: the other steps wait in Redis when it restarts.
  const worker = startLoopml(["worker", "--json", "--lease", "5"], { cwd: dir, env });
  try {
    await worker.waitFor(/"type":"ready"/);
    const run = runLoopml(["run", "p", "--json", "--jobs", "4"], { cwd: dir, env });
    await worker.waitFor(/"type":"claimed"/);
    stopRedis();
    await delay(1000);
    startRedis();
    const result = await run;
    expect(result.status, result.stderr).toBe(0);
    const parsed = JSON.parse(result.stdout) as { runId: string; steps: { step: string; status: string }[] };
    expect(parsed.steps.map((s) => [s.step, s.status])).toEqual([
      ["a", "succeeded"],
      ["b", "succeeded"],
      ["c", "succeeded"],
      ["d", "succeeded"],
      ["join", "succeeded"],
    ]);
    expect(readFileSync(join(dir, "build", "all.txt"), "utf8")).toBe("a\nb\nc\nd\n");
    const ws = await openWorkspace({ dir, env: {} });
    try {
      const results = await ws.store.db
        .selectFrom("queue_step_results")
        .select("step")
        .where("run_id", "=", parsed.runId)
        .execute();
      // Each step recorded once, although some were queued twice.
      expect(results.map((r) => r.step).sort()).toEqual(["a", "b", "c", "d", "join"]);
    } finally {
      await ws.close();
    }
  } finally {
    await worker.stop();
  }
}, 120_000);
