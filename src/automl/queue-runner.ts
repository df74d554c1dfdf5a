// AutoML trials as queue jobs (LOOPML_QUEUE=redis://…): the search's data goes to the shared blob store once,
// each trial is a BullMQ job that any `loopml worker` runs, and its outcome comes back as a blob.
import { hostname } from "node:os";
import { setTimeout as delay } from "node:timers/promises";
import { deserialize, serialize } from "node:v8";
import type { Job, Queue, Worker } from "bullmq";
import { LoopmlError } from "../errors.ts";
import type { Frame } from "../learn/frame.ts";
import type { Split } from "../learn/split.ts";
import { connectRedis, parseQueueUri } from "../pipeline/queue.ts";
import type { BlobStore } from "../store/types.ts";
import { contextOnBase, type EvalContext, type TrialOutcome } from "./evaluate.ts";
import { runTrialJob, type TrialJob, type TrialRunner } from "./trial.ts";
import type { Problem } from "./types.ts";

export const TRIAL_QUEUE_NAME = "loopml-automl-trials";

/** What a worker receives: the trial and where the search's data is (content-addressed, fetched once per search). */
export interface TrialQueueJob {
  readonly data: string;
  readonly job: TrialJob;
}

interface SearchData {
  readonly problem: Problem;
  readonly base: Frame;
  readonly splits: readonly Split[];
  readonly seed: number;
}

export interface QueueRunnerOptions {
  /** Trials queued at once (the batch size); the workers' total concurrency is a good value. */
  readonly slots: number;
  readonly signal?: AbortSignal;
  readonly pollMs?: number;
}

/**
 * @example
 * const result = await automl(frame, {
 *   target: "late", maxTrials: 40, seed: 1, parallel: 4,
 *   runner: (ctx) => createQueueRunner(process.env.LOOPML_QUEUE!, ws.blobs, ctx, { slots: 4 }),
 * });
 */
export async function createQueueRunner(
  uri: string,
  blobs: BlobStore,
  ctx: EvalContext,
  options: QueueRunnerOptions,
): Promise<TrialRunner> {
  const connection = await connectRedis(uri);
  const { Queue: BullQueue } = await import("bullmq");
  const queue: Queue<TrialQueueJob, string> = new BullQueue(TRIAL_QUEUE_NAME, { connection });
  const data: SearchData = { problem: ctx.problem, base: ctx.base, splits: ctx.splits, seed: ctx.seed };
  const { id: dataId } = await blobs.put(serialize(data));
  const pollMs = options.pollMs ?? 100;
  const queued = new Set<string>();
  return {
    slots: options.slots,
    async run(job) {
      const added = await queue.add(
        "trial",
        { data: dataId, job },
        { removeOnComplete: 1000, removeOnFail: 1000, attempts: 2 },
      );
      const id = added.id as string;
      queued.add(id);
      try {
        for (;;) {
          const state = await queue.getJobState(id);
          if (state === "completed") {
            const done = await queue.getJob(id);
            const outcomeId = done?.returnvalue;
            if (typeof outcomeId !== "string")
              throw new LoopmlError("INTERNAL", `AutoML trial job ${id} completed without an outcome.`);
            return deserialize(await blobs.getBytes(outcomeId)) as TrialOutcome;
          }
          if (state === "failed") {
            const failed = await queue.getJob(id);
            throw new LoopmlError(
              "INTERNAL",
              `An AutoML trial failed on a queue worker: ${failed?.failedReason ?? "unknown reason"}.`,
            );
          }
          if (state === "unknown")
            throw new LoopmlError(
              "UNAVAILABLE",
              `AutoML trial job ${id} vanished from the queue at ${parseQueueUri(uri).printable} (Redis restarted?).`,
            );
          await delay(pollMs);
        }
      } finally {
        queued.delete(id);
      }
    },
    async close() {
      // Trials not yet taken by a worker are withdrawn (e.g. after Ctrl-C); running ones end on their own.
      for (const id of queued) await queue.remove(id).catch(() => undefined);
      await queue.close();
      connection.disconnect();
    },
  };
}

export interface TrialWorker {
  readonly name: string;
  close(): Promise<void>;
}

export interface TrialWorkerOptions {
  readonly queue: string;
  readonly name?: string;
  readonly concurrency?: number;
  readonly onTrial?: (e: { worker: string; learner: string; status: string }) => void;
}

/**
 * Runs queued AutoML trials with the data of their search, read from the shared blob store (kept in memory for
 * the search's next trials). Started by `loopml worker` next to the pipeline step worker.
 *
 * @example
 * const worker = await startTrialWorker(ws.blobs, { queue: "redis://127.0.0.1:6379" });
 */
export async function startTrialWorker(blobs: BlobStore, options: TrialWorkerOptions): Promise<TrialWorker> {
  const name = options.name ?? `${hostname()}:${process.pid}`;
  const connection = await connectRedis(options.queue);
  const { Worker: BullWorker } = await import("bullmq");
  // The search whose data this worker holds: trials of one search arrive together.
  let cached: { id: string; ctx: EvalContext } | null = null;
  const contextFor = async (id: string): Promise<EvalContext> => {
    if (cached?.id === id) return cached.ctx;
    const d = deserialize(await blobs.getBytes(id)) as SearchData;
    // One fit thread per trial: the parallelism is across trials (and workers).
    cached = { id, ctx: contextOnBase(d.problem, d.base, d.splits, d.seed, 1) };
    return cached.ctx;
  };
  const worker: Worker<TrialQueueJob, string> = new BullWorker(
    TRIAL_QUEUE_NAME,
    async (job: Job<TrialQueueJob, string>) => {
      const ctx = await contextFor(job.data.data);
      // Between splits the event loop runs, so BullMQ keeps renewing the job's lock during a long trial.
      const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
      const outcome = await runTrialJob(ctx, job.data.job, () => false, tick);
      options.onTrial?.({ worker: name, learner: job.data.job.learner, status: outcome.status });
      return (await blobs.put(serialize(outcome))).id;
    },
    { connection, concurrency: options.concurrency ?? 1 },
  );
  worker.on("error", () => undefined);
  await worker.waitUntilReady();
  return {
    name,
    close: async () => {
      await worker.close();
      connection.disconnect();
    },
  };
}
