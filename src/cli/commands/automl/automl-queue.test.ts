// loopml automl with LOOPML_QUEUE: trials run on two `loopml worker` processes of the same project (real Redis).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runLoopml, until } from "../../../../test/scale/procs.ts";
import { startQueueWorker, useQueueSuite, workersReady } from "../../../../test/setup/queue-suite.ts";

const suite = useQueueSuite();

describe("loopml automl on queue workers", () => {
  it("runs the trials on loopml worker processes and ranks them as a local run does", async () => {
    const dir = join(suite.tmp.path, "proj");
    mkdirSync(dir, { recursive: true });
    const lines = ["x,kind,label"];
    for (let i = 0; i < 90; i++)
      lines.push(
        `${(i * 37) % 100},${i % 3 === 0 ? "a" : "b"},${(i * 37) % 100 > 50 !== (i % 7 === 0) ? "up" : "down"}`,
      );
    writeFileSync(join(dir, "t.csv"), `${lines.join("\n")}\n`);
    const args = [
      "automl",
      "--data",
      "t.csv",
      "--target",
      "label",
      "--max-trials",
      "6",
      "--seed",
      "2",
      "--parallel",
      "2",
      "--json",
    ];
    const workers = [0, 1].map(() => startQueueWorker(dir, suite.redis.url));
    try {
      await workersReady(workers);
      const queued = await runLoopml(args, { cwd: dir, env: { LOOPML_QUEUE: suite.redis.url } });
      expect(queued.status, queued.stderr).toBe(0);
      const local = await runLoopml(args, { cwd: dir });
      expect(local.status, local.stderr).toBe(0);
      const trials = () =>
        workers.flatMap((w) =>
          w
            .output()
            .split("\n")
            .filter((l) => l.includes('"trial"')),
        );
      await until("the workers' trial lines", () => trials().length >= 6, 10_000);
      expect(trials()).toHaveLength(6);
      type Doc = { leaderboard: { learner: string; trial: number; score: number; params: unknown }[] };
      const board = (text: string) =>
        (JSON.parse(text) as Doc).leaderboard.map((e) => [
          e.learner,
          e.trial,
          e.score,
          JSON.stringify(e.params),
        ]);
      expect(board(queued.stdout)).toEqual(board(local.stdout));
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
  });
});
