// AutoML trials on queue workers: real Redis, two workers sharing one blob store, the same result as in process.
import { beforeAll, describe, expect, it } from "vitest";
import { useQueueSuite } from "../../test/setup/queue-suite.ts";
import { openBlobs } from "../store/open.ts";
import type { BlobStore } from "../store/types.ts";
import { automl } from "./automl.ts";
import { createQueueRunner, startTrialWorker, type TrialWorker } from "./queue-runner.ts";
import { syntheticFrame } from "./testing/synthetic.ts";

const suite = useQueueSuite();
let blobs: BlobStore;
beforeAll(async () => {
  blobs = await openBlobs(`file:${suite.tmp.path}/objects`);
});

describe("AutoML trials on queue workers", () => {
  it("runs every trial on two workers and gives the same leaderboard and model as worker threads", async () => {
    const frame = syntheticFrame({ rows: 160, task: "binary", seed: 21 });
    const options = { target: "target", maxTrials: 8, seed: 4, parallel: 2 } as const;
    const ran: string[] = [];
    const workers: TrialWorker[] = [];
    for (const name of ["w1", "w2"])
      workers.push(
        await startTrialWorker(blobs, {
          queue: suite.redis.url,
          name,
          onTrial: (e) => void ran.push(e.worker),
        }),
      );
    try {
      const queued = await automl(frame, {
        ...options,
        runner: (ctx) => createQueueRunner(suite.redis.url, blobs, ctx, { slots: 2 }),
      });
      expect(ran).toHaveLength(8);
      expect(new Set(ran)).toEqual(new Set(["w1", "w2"]));
      const local = await automl(frame, options);
      const strip = (r: typeof local) =>
        r.leaderboard.map((e) => [e.learner, e.trial, e.score, JSON.stringify(e.params)]);
      expect(strip(queued)).toEqual(strip(local));
      expect(queued.model.predictProba(frame)).toEqual(local.model.predictProba(frame));
    } finally {
      for (const w of workers) await w.close();
    }
  });

  it("names the queue it cannot reach", async () => {
    const frame = syntheticFrame({ rows: 60, task: "binary", seed: 2 });
    const err = await automl(frame, {
      target: "target",
      maxTrials: 2,
      runner: (ctx) => createQueueRunner("redis://127.0.0.1:1", blobs, ctx, { slots: 1 }),
    }).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe("UNAVAILABLE");
    expect((err as Error).message).toMatch(/127\.0\.0\.1:1/);
  });
});
