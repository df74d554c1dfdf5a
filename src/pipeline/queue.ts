// The distributed executor's client side: step attempts become BullMQ jobs; their results are read back from the
// shared metadata store, where a worker records each (pipeline run, step, attempt) exactly once.
import { setTimeout as delay } from "node:timers/promises";
import type { Queue } from "bullmq";
import type { Redis, RedisOptions } from "ioredis";
import { LoopmlError } from "../errors.ts";
import type { MetadataStore } from "../store/types.ts";
import type { OutputRef, ParamValue, StepSpec } from "./types.ts";

export const QUEUE_NAME = "loopml-steps";

/** A step attempt as a worker receives it: everything it needs, by content id, nothing by local path. */
export interface StepJob {
  readonly runId: string;
  readonly pipeline: string;
  readonly attempt: number;
  /** The step without its function (a built-in is rebuilt from `uses`). */
  readonly spec: Omit<StepSpec, "fn">;
  readonly params: Readonly<Record<string, ParamValue>>;
  /** Files and folders to lay out in the worker's scratch folder before running. */
  readonly inputs: readonly OutputRef[];
  readonly env: Readonly<Record<string, string>>;
}

export interface StepJobResult {
  readonly ok: boolean;
  readonly retryable: boolean;
  readonly outputs: readonly OutputRef[];
  readonly metrics: Readonly<Record<string, number>>;
  readonly logBlob?: string;
  readonly error: string;
  readonly worker: string;
}

export interface StepQueue {
  readonly location: string;
  /** Queues one attempt and waits until some worker recorded its result. */
  run(job: StepJob, signal?: AbortSignal): Promise<StepJobResult>;
  close(): Promise<void>;
}

/** redis://[:password@]host:port[/db] → ioredis options; BullMQ needs maxRetriesPerRequest null. */
export function parseQueueUri(uri: string): RedisOptions & { printable: string } {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw badUri(uri);
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") throw badUri(uri);
  const db = url.pathname.replace(/^\//, "");
  return {
    host: url.hostname || "127.0.0.1",
    port: url.port === "" ? 6379 : Number(url.port),
    ...(url.password !== "" && { password: decodeURIComponent(url.password) }),
    ...(url.username !== "" && { username: decodeURIComponent(url.username) }),
    ...(db !== "" && { db: Number(db) }),
    ...(url.protocol === "rediss:" && { tls: {} }),
    maxRetriesPerRequest: null,
    printable: `${url.protocol}//${url.hostname}:${url.port || 6379}${db !== "" ? `/${db}` : ""}`,
  };
}

function badUri(uri: string): LoopmlError {
  return new LoopmlError(
    "INVALID_ARGUMENT",
    `LOOPML_QUEUE "${uri.replace(/\/\/[^@/]*@/, "//***@")}" is not a Redis URI. Example: redis://127.0.0.1:6379/0`,
  );
}

/** Connects and pings within `timeoutMs`, so that a wrong address is an error, not a silent hang. */
export async function connectRedis(uri: string, timeoutMs = 5000): Promise<Redis> {
  const { printable, ...options } = parseQueueUri(uri);
  const { Redis: RedisClient } = await import("ioredis");
  const client = new RedisClient({ ...options, lazyConnect: true, connectTimeout: timeoutMs });
  client.on("error", () => undefined);
  try {
    await Promise.race([
      client.connect().then(() => client.ping()),
      delay(timeoutMs).then(() => {
        throw new Error(`no answer within ${timeoutMs / 1000} s`);
      }),
    ]);
  } catch (e) {
    client.disconnect();
    throw new LoopmlError(
      "UNAVAILABLE",
      `Cannot reach the queue at ${printable}: ${(e as Error).message}. Start Redis or fix LOOPML_QUEUE.`,
    );
  }
  return client;
}

/** The job id of one attempt: queuing the same attempt twice is a no-op in BullMQ. */
export function jobId(job: Pick<StepJob, "runId" | "spec" | "attempt">): string {
  return `${job.runId}-${Buffer.from(job.spec.name).toString("hex")}-${job.attempt}`;
}

/**
 * @example
 * const queue = await openStepQueue("redis://127.0.0.1:6379", ws.store);
 * const result = await queue.run(job);
 */
export async function openStepQueue(
  uri: string,
  store: MetadataStore,
  options: { pollMs?: number } = {},
): Promise<StepQueue> {
  const connection = await connectRedis(uri);
  const { Queue: BullQueue } = await import("bullmq");
  const queue: Queue = new BullQueue(QUEUE_NAME, { connection });
  const pollMs = options.pollMs ?? 200;
  return {
    location: parseQueueUri(uri).printable,
    run: async (job, signal) => {
      const enqueue = (): Promise<unknown> =>
        queue.add("step", job, { jobId: jobId(job), removeOnComplete: 1000, removeOnFail: 1000 });
      await enqueue();
      // The store, not Redis, holds the result: it survives a lost worker and is written once per attempt.
      for (;;) {
        const row = await store.db
          .selectFrom("queue_step_results")
          .selectAll()
          .where("run_id", "=", job.runId)
          .where("step", "=", job.spec.name)
          .where("attempt", "=", job.attempt)
          .executeTakeFirst();
        if (row)
          return {
            ok: row.status === "succeeded",
            retryable: row.retryable === 1,
            outputs: JSON.parse(row.outputs) as OutputRef[],
            metrics: JSON.parse(row.metrics) as Record<string, number>,
            ...(row.log_blob !== null && { logBlob: row.log_blob }),
            error: row.error ?? "",
            worker: row.worker,
          };
        const state = await queue.getJobState(jobId(job));
        if (state === "unknown") {
          // Neither a result nor a job: Redis restarted without its data (or was flushed). Queue the attempt
          // again; if a worker had already finished it, the worker sees the recorded result and skips it.
          await enqueue();
          continue;
        }
        if (state === "failed") {
          const failed = await queue.getJob(jobId(job));
          return {
            ok: false,
            retryable: true,
            outputs: [],
            metrics: {},
            error: `Step "${job.spec.name}" was lost by the queue: ${failed?.failedReason ?? "the job failed"}.`,
            worker: "",
          };
        }
        if (signal?.aborted) {
          await queue.remove(jobId(job)).catch(() => undefined);
          return {
            ok: false,
            retryable: false,
            outputs: [],
            metrics: {},
            error: "the run was cancelled",
            worker: "",
          };
        }
        await delay(pollMs);
      }
    },
    close: async () => {
      await queue.close();
      connection.disconnect();
    },
  };
}
