// A run as the training code sees it: params and tags written at once, metrics buffered and flushed in batches.
import { LoopmlError } from "../errors.ts";
import { MetricColumnsBuilder } from "./columns.ts";
import type { LogBatch, RunStatus } from "./types.ts";

/** Where a run handle sends its writes: the local service, or a server over HTTP. */
export interface RunSink {
  logBatch(runId: string, batch: LogBatch): Promise<void>;
  endRun(runId: string, status: RunStatus): Promise<void>;
  logArtifact?(runId: string, localPath: string, artifactPath?: string): Promise<unknown>;
  logInputs?(runId: string, refs: readonly string[], context?: string): Promise<void>;
}

export interface RunHandleOptions {
  /** Metric points buffered before a flush; one flush is one transaction (and one request over HTTP). */
  readonly batchSize?: number;
  readonly now?: () => number;
}

/**
 * @example
 * const run = await tracking.startRun({ experiment: "churn" });
 * await run.logParams({ model: "gbdt", depth: 6 });
 * for (let step = 0; step < 100; step++) await run.logMetrics({ loss: 1 / (step + 1) }, step);
 * await run.end();
 */
export interface RunHandle {
  readonly id: string;
  readonly experimentId: string;
  logParams(params: Readonly<Record<string, string | number | boolean>>): Promise<void>;
  setTags(tags: Readonly<Record<string, string>>): Promise<void>;
  /** Buffered: resolves at once unless the buffer is full and a flush runs. */
  logMetrics(values: Readonly<Record<string, number>>, step?: number): Promise<void>;
  logMetric(key: string, value: number, step?: number): Promise<void>;
  /** A file or a folder, stored as blobs under `artifactPath` (default: the file or folder name). */
  logArtifact(localPath: string, artifactPath?: string): Promise<void>;
  /** `NAME@VERSION` dataset versions the run read. */
  logInputs(refs: readonly string[], context?: string): Promise<void>;
  flush(): Promise<void>;
  /** Flushes and sets the final status (FINISHED unless told otherwise). */
  end(status?: RunStatus): Promise<void>;
}

export function createRunHandle(
  sink: RunSink,
  run: { id: string; experimentId: string },
  options: RunHandleOptions = {},
): RunHandle {
  const batchSize = options.batchSize ?? 1000;
  const now = options.now ?? Date.now;
  // Points go straight into typed columns: no object per point, and the batch is sent as is.
  const buffer = new MetricColumnsBuilder(batchSize);
  let ended = false;

  const flush = async (): Promise<void> => {
    if (buffer.length === 0) return;
    await sink.logBatch(run.id, { points: buffer.take() });
  };
  const push = async (key: string, value: number, step: number, timestamp: number): Promise<void> => {
    // A typed array would quietly turn "0.9" into 0.9 and "high" into NaN: refuse non-numbers here.
    if (typeof value !== "number") {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Metric "${key}" has value ${JSON.stringify(value)}, which is not a number.`,
        { key },
      );
    }
    buffer.push(key, value, step, timestamp);
    if (buffer.length >= batchSize) await flush();
  };
  return {
    id: run.id,
    experimentId: run.experimentId,
    logParams: (params) =>
      sink.logBatch(run.id, {
        params: Object.entries(params).map(([key, v]) => ({ key, value: String(v) })),
      }),
    setTags: (tags) =>
      sink.logBatch(run.id, { tags: Object.entries(tags).map(([key, value]) => ({ key, value })) }),
    logMetrics: async (values, step = 0) => {
      const timestamp = now();
      for (const [key, value] of Object.entries(values)) await push(key, value, step, timestamp);
    },
    logMetric: (key, value, step = 0) => push(key, value, step, now()),
    logArtifact: async (localPath, artifactPath) => {
      if (!sink.logArtifact) throw new Error("this run sink cannot store artifacts");
      await sink.logArtifact(run.id, localPath, artifactPath);
    },
    logInputs: async (refs, context) => {
      if (!sink.logInputs) throw new Error("this run sink cannot record inputs");
      await sink.logInputs(run.id, refs, context);
    },
    flush,
    end: async (status = "FINISHED") => {
      if (ended) return;
      ended = true;
      try {
        await flush();
      } catch (e) {
        // Points were lost: the run must not look like it finished cleanly.
        await sink.endRun(run.id, "FAILED");
        throw e;
      }
      await sink.endRun(run.id, status);
    },
  };
}
