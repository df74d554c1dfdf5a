// Adaptive micro-batching: concurrent small requests for one model are merged into one predict call, with a bounded queue.
import { LoopmlError } from "../errors.ts";
import type { Batch, ModelRuntime, PredictResult } from "./types.ts";

export interface BatchingOptions {
  /** Most rows merged into one predict call. */
  readonly maxBatchRows: number;
  /**
   * How long the first queued request waits for company. 0 (the default) flushes once the current
   * round of I/O callbacks has run: under load every request parsed in that round shares one predict
   * call, and a lone request waits for nothing; that is what makes the batching adaptive.
   */
  readonly maxWaitMs: number;
  /** Most rows waiting; a request that would exceed it is refused with UNAVAILABLE (503 + Retry-After). */
  readonly maxQueueRows: number;
}

export const DEFAULT_BATCHING: BatchingOptions = { maxBatchRows: 64, maxWaitMs: 0, maxQueueRows: 4096 };

export interface Batcher {
  /** Predicts the batch, possibly merged with other requests; results are views for this batch only. */
  submit(batch: Batch): Promise<PredictResult>;
  /** Rows waiting right now. */
  readonly queuedRows: number;
}

interface Pending {
  readonly batch: Batch;
  readonly resolve: (r: PredictResult) => void;
  readonly reject: (e: unknown) => void;
}

export interface BatcherHooks {
  /** Called with the rows of every predict call, for the batch-size histogram. */
  readonly onBatch?: (rows: number) => void;
}

/**
 * @example
 * const batcher = createBatcher(runtime, { maxBatchRows: 64, maxWaitMs: 0, maxQueueRows: 4096 });
 * const { predictions } = await batcher.submit(batch);
 */
export function createBatcher(
  runtime: ModelRuntime,
  options: BatchingOptions = DEFAULT_BATCHING,
  hooks: BatcherHooks = {},
): Batcher {
  const width = runtime.signature.inputs.length;
  const hasStrings = runtime.signature.inputs.some((c) => c.type === "string");
  let queue: Pending[] = [];
  let queuedRows = 0;
  let scheduled = false;

  const run = (batch: Batch): PredictResult => {
    hooks.onBatch?.(batch.nRows);
    return runtime.predict(batch);
  };

  const flush = (): void => {
    scheduled = false;
    while (queue.length > 0) {
      // Take requests up to maxBatchRows (at least one), predict them together, hand out views.
      let rows = 0;
      let take = 0;
      while (take < queue.length) {
        const n = (queue[take] as Pending).batch.nRows;
        if (take > 0 && rows + n > options.maxBatchRows) break;
        rows += n;
        take++;
      }
      const group = take === queue.length ? queue : queue.slice(0, take);
      queue = take === queue.length ? [] : queue.slice(take);
      queuedRows -= rows;
      predictGroup(group, rows);
    }
  };

  const predictGroup = (group: Pending[], rows: number): void => {
    if (group.length === 1) {
      const only = group[0] as Pending;
      try {
        only.resolve(run(only.batch));
      } catch (e) {
        only.reject(e);
      }
      return;
    }
    let result: PredictResult;
    try {
      result = run(merge(group, rows));
    } catch (e) {
      for (const p of group) p.reject(e);
      return;
    }
    const k = result.probabilities ? result.probabilities.length / rows : 0;
    let offset = 0;
    for (const p of group) {
      const n = p.batch.nRows;
      const predictions = result.predictions.subarray(offset, offset + n);
      const probabilities = result.probabilities?.subarray(offset * k, (offset + n) * k);
      p.resolve(probabilities ? { predictions, probabilities } : { predictions });
      offset += n;
    }
  };

  const merge = (group: Pending[], rows: number): Batch => {
    const values = new Float64Array(rows * width);
    const strings: ((string | null)[] | null)[] = runtime.signature.inputs.map((c) =>
      hasStrings && c.type === "string" ? [] : null,
    );
    let offset = 0;
    for (const p of group) {
      values.set(p.batch.values, offset * width);
      if (hasStrings) {
        p.batch.strings.forEach((col, c) => {
          if (col) for (const s of col) (strings[c] as (string | null)[]).push(s);
        });
      }
      offset += p.batch.nRows;
    }
    return { nRows: rows, values, strings };
  };

  return {
    get queuedRows() {
      return queuedRows;
    },
    submit(batch) {
      // A request that fills a batch by itself gains nothing from waiting.
      if (batch.nRows >= options.maxBatchRows) {
        try {
          return Promise.resolve(run(batch));
        } catch (e) {
          return Promise.reject(e instanceof Error ? e : new Error(String(e)));
        }
      }
      if (queuedRows + batch.nRows > options.maxQueueRows) {
        return Promise.reject(
          new LoopmlError(
            "UNAVAILABLE",
            `The prediction queue is full (${queuedRows} rows waiting, limit ${options.maxQueueRows}); retry shortly.`,
            { retryAfterSeconds: 1 },
          ),
        );
      }
      return new Promise<PredictResult>((resolve, reject) => {
        queue.push({ batch, resolve, reject });
        queuedRows += batch.nRows;
        if (queuedRows >= options.maxBatchRows) {
          flush();
        } else if (!scheduled) {
          scheduled = true;
          if (options.maxWaitMs > 0) setTimeout(flush, options.maxWaitMs);
          else setImmediate(flush);
        }
      });
    },
  };
}
