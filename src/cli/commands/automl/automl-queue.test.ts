// loopml automl with LOOPML_QUEUE: trials run on two `loopml worker` processes of the same project (real Redis).
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type RedisHandle } from "../../../../test/setup/redis.ts";
import { makeTempDir } from "../../../../test/setup/tmp.ts";

const BIN = join(import.meta.dirname, "..", "..", "..", "..", "bin", "loopml.js");

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

const baseEnv = {
  ...process.env,
  LOOPML_STORE: undefined,
  LOOPML_ARTIFACTS: undefined,
  LOOPML_QUEUE: undefined,
};

describe("loopml automl on queue workers", () => {
  it("runs the trials on loopml worker processes and ranks them as a local run does", async () => {
    const dir = join(tmp.path, "proj");
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
    const workers = [0, 1].map(() => {
      const child = spawn(process.execPath, [BIN, "worker", "--json"], {
        cwd: dir,
        env: { ...baseEnv, LOOPML_QUEUE: redis.url },
      });
      const out: string[] = [];
      child.stdout.on("data", (c: Buffer) => out.push(...c.toString("utf8").split("\n").filter(Boolean)));
      return { child, out };
    });
    try {
      for (let i = 0; !workers.every((w) => w.out.some((l) => l.includes('"ready"'))); i++) {
        if (i > 600) throw new Error("workers did not start");
        await delay(100);
      }
      const queued = spawnSync(process.execPath, [BIN, ...args], {
        cwd: dir,
        env: { ...baseEnv, LOOPML_QUEUE: redis.url },
        encoding: "utf8",
      });
      expect(queued.status, queued.stderr).toBe(0);
      const local = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, env: baseEnv, encoding: "utf8" });
      expect(local.status, local.stderr).toBe(0);
      // spawnSync blocked this process's event loop: let the workers' buffered output arrive.
      const trials = (): string[] => workers.flatMap((w) => w.out.filter((l) => l.includes('"trial"')));
      for (let i = 0; i < 50 && trials().length < 6; i++) await delay(100);
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
      for (const w of workers) w.child.kill("SIGTERM");
    }
  });
});
