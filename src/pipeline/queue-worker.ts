// A queue worker: takes step attempts from BullMQ, runs each in a scratch folder laid out from blobs, stores its
// outputs as blobs and records the result once per (pipeline run, step, attempt) in the shared metadata store.
import { mkdtemp, rm } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import type { Job, Worker } from "bullmq";
import { canonicalJson } from "../_internal/hash.ts";
import type { Workspace } from "../workspace.ts";
import { builtinSpec } from "./builtins/index.ts";
import { restoreOutput, storeOutput } from "./outputs.ts";
import { stepOutputs } from "./plan.ts";
import { connectRedis, QUEUE_NAME, type StepJob } from "./queue.ts";
import { attemptStep, readMetrics } from "./step-run.ts";
import type { OutputRef, StepSpec } from "./types.ts";

export interface WorkerOptions {
  readonly queue: string;
  readonly concurrency?: number;
  /** How long a claimed attempt stays leased without a renewal; a killed worker's attempt is redelivered after it. */
  readonly leaseMs?: number;
  readonly name?: string;
  readonly onEvent?: (e: WorkerEvent) => void;
}

export type WorkerEvent =
  | { readonly type: "claimed"; readonly runId: string; readonly step: string; readonly attempt: number }
  | {
      readonly type: "finished";
      readonly runId: string;
      readonly step: string;
      readonly attempt: number;
      readonly ok: boolean;
      readonly duplicate: boolean;
    };

export interface StepWorker {
  readonly name: string;
  close(): Promise<void>;
}

const DEFAULT_LEASE_MS = 30_000;

/**
 * @example
 * const worker = await startStepWorker(ws, { queue: "redis://127.0.0.1:6379", concurrency: 2 });
 * process.on("SIGTERM", () => void worker.close());
 */
export async function startStepWorker(ws: Workspace, options: WorkerOptions): Promise<StepWorker> {
  const name = options.name ?? `${hostname()}:${process.pid}`;
  const connection = await connectRedis(options.queue);
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const { Worker: BullWorker } = await import("bullmq");
  const worker: Worker = new BullWorker(
    QUEUE_NAME,
    (job: Job<StepJob>) => processJob(ws, name, job.data, options),
    {
      connection,
      concurrency: options.concurrency ?? 1,
      lockDuration: leaseMs,
      // Leases are checked twice per lease, and a step lost this often is failed rather than retried forever.
      stalledInterval: Math.max(500, Math.floor(leaseMs / 2)),
      maxStalledCount: 5,
    },
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

async function processJob(
  ws: Workspace,
  worker: string,
  job: StepJob,
  options: WorkerOptions,
): Promise<void> {
  const key = { run_id: job.runId, step: job.spec.name, attempt: job.attempt };
  const done = await ws.store.db
    .selectFrom("queue_step_results")
    .select("worker")
    .where("run_id", "=", key.run_id)
    .where("step", "=", key.step)
    .where("attempt", "=", key.attempt)
    .executeTakeFirst();
  if (done) {
    // A redelivery of an attempt another worker already completed: nothing runs, nothing is recorded again.
    options.onEvent?.({
      type: "finished",
      runId: job.runId,
      step: key.step,
      attempt: key.attempt,
      ok: true,
      duplicate: true,
    });
    return;
  }
  const startedAt = ws.clock.now();
  await ws.store.db
    .insertInto("queue_step_claims")
    .values({ ...key, worker, claimed_at: startedAt })
    .execute();
  options.onEvent?.({ type: "claimed", runId: job.runId, step: key.step, attempt: key.attempt });
  const spec = rebuild(job.spec);
  const scratch = await mkdtemp(join(tmpdir(), "loopml-worker-"));
  let result: {
    ok: boolean;
    retryable: boolean;
    outputs: OutputRef[];
    metrics: Record<string, number>;
    error: string;
    log: Buffer;
  };
  try {
    for (const input of job.inputs) await restoreOutput(ws.blobs, join(scratch, input.path), input);
    const attempt = await attemptStep(spec, job.params, job.pipeline, scratch, {
      env: job.env,
      context: { pipelineRunId: job.runId, workspace: ws },
    });
    result = { ...attempt, outputs: [], metrics: {} };
    if (attempt.ok) {
      const missing: string[] = [];
      for (const out of stepOutputs(spec)) {
        const ref = await storeOutput(ws.blobs, join(scratch, out), out);
        if (ref) result.outputs.push(ref);
        else missing.push(out);
      }
      const metrics =
        spec.metrics !== undefined && missing.length === 0
          ? await readMetrics(join(scratch, spec.metrics), spec.name)
          : {};
      if (missing.length > 0)
        result = {
          ...result,
          ok: false,
          outputs: [],
          error: `Step "${spec.name}" succeeded but did not write ${missing.map((m) => `"${m}"`).join(", ")} that it declares in outs. Fix the command or the outs list.`,
        };
      else if (typeof metrics === "string") result = { ...result, ok: false, outputs: [], error: metrics };
      else result.metrics = metrics;
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const logBlob = result.log.length > 0 ? (await ws.blobs.put(result.log)).id : null;
  await ws.store.transaction(async (tx) => {
    // Two workers may finish the same attempt (a lease lost to a pause, not a crash): the first one wins.
    await tx
      .insertInto("queue_step_results")
      .values({
        ...key,
        status: result.ok ? "succeeded" : "failed",
        retryable: result.retryable ? 1 : 0,
        outputs: canonicalJson(result.outputs),
        metrics: canonicalJson(result.metrics),
        log_blob: logBlob,
        error: result.ok ? null : result.error,
        worker,
        started_at: startedAt,
        ended_at: ws.clock.now(),
      })
      .onConflict((oc) => oc.columns(["run_id", "step", "attempt"]).doNothing())
      .execute();
  });
  options.onEvent?.({
    type: "finished",
    runId: job.runId,
    step: key.step,
    attempt: key.attempt,
    ok: result.ok,
    duplicate: false,
  });
}

/** A built-in gets its function back from its name and inputs; a shell step needs nothing more. */
function rebuild(spec: Omit<StepSpec, "fn">): StepSpec {
  if (!spec.uses) return spec;
  return builtinSpec(spec.name, spec.uses.name, spec.uses.with, {
    env: spec.env,
    ...(spec.timeoutMs !== undefined && { timeoutMs: spec.timeoutMs }),
    retries: spec.retries,
  });
}
