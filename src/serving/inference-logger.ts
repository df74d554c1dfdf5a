// The server's asynchronous inference logger: samples answered requests, buffers them (bounded), writes columnar batches in the background.
import { setTimeout as delay } from "node:timers/promises";
import { toLoopmlError } from "../errors.ts";
import type { InferenceRecords } from "./inference-log.ts";
import type { Batch, ModelSignature, PredictResult } from "./types.ts";

export interface InferenceLoggerOptions {
  /** Share of requests logged, 0–1 (a request is logged whole or not at all). */
  readonly sampleRate: number;
  /** Rows held in memory (waiting plus being written); beyond it new rows are dropped and counted. */
  readonly maxBufferedRows: number;
  /** A batch is written once this many rows wait… */
  readonly flushRows: number;
  /** …or this long after the first of them arrived. */
  readonly flushIntervalMs: number;
}

/** About two minutes of retries (backoff capped at 2 s) before rows of an unreachable store count as failed. */
const MAX_WRITE_ATTEMPTS = 60;

export const DEFAULT_INFERENCE_LOGGING: InferenceLoggerOptions = {
  sampleRate: 1,
  maxBufferedRows: 100_000,
  flushRows: 8192,
  flushIntervalMs: 1000,
};

/** The model that answered, as the log names it. */
export interface LoggedModel {
  readonly name: string;
  readonly version: number;
  readonly signature: ModelSignature;
}

export interface InferenceLoggerHooks {
  /** Rows written, dropped because the buffer was full, or lost because the write failed. */
  readonly onRows?: (model: string, outcome: "written" | "dropped" | "failed", rows: number) => void;
  readonly onError?: (error: unknown) => void;
}

export interface InferenceLogger {
  /**
   * Takes one answered request; never throws, never waits. `requestId` names a single row; the rows of
   * a multi-row request are logged as `requestId:0`, `requestId:1`, …
   */
  log(
    model: LoggedModel,
    batch: Batch,
    result: PredictResult,
    requestId: string,
    ts: number,
    sampleRate?: number,
  ): void;
  /** Rows held right now. */
  readonly bufferedRows: number;
  /** Writes everything buffered and waits for it. */
  flush(): Promise<void>;
  /** Flushes and stops the timer; gives up waiting for the store after `timeoutMs` (default 5 s). */
  close(timeoutMs?: number): Promise<void>;
}

/** One model version's waiting rows, already columnar: logging copies numbers, it keeps no request objects alive. */
interface Pending {
  readonly model: LoggedModel;
  rows: number;
  requestIds: string[];
  ts: Float64Array;
  predictions: Float64Array;
  probabilities: Float64Array | null;
  /** One per input: numbers for "double" inputs, cells for "string" inputs. */
  columns: (Float64Array | (string | null)[])[];
}

function newPending(model: LoggedModel, capacity: number): Pending {
  return {
    model,
    rows: 0,
    requestIds: [],
    ts: new Float64Array(capacity),
    predictions: new Float64Array(capacity),
    probabilities: model.signature.task === "binary" ? new Float64Array(capacity) : null,
    columns: model.signature.inputs.map((c) => (c.type === "string" ? [] : new Float64Array(capacity))),
  };
}

function grow(a: Float64Array, need: number): Float64Array {
  if (need <= a.length) return a;
  const b = new Float64Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

function append(g: Pending, batch: Batch, result: PredictResult, requestId: string, ts: number): void {
  const n = batch.nRows;
  const r0 = g.rows;
  const need = r0 + n;
  g.ts = grow(g.ts, need);
  g.predictions = grow(g.predictions, need);
  if (g.probabilities) g.probabilities = grow(g.probabilities, need);
  const width = g.columns.length;
  for (let c = 0; c < width; c++) {
    const col = g.columns[c] as Float64Array | (string | null)[];
    if (col instanceof Float64Array) {
      const out = grow(col, need);
      g.columns[c] = out;
      for (let i = 0; i < n; i++) out[r0 + i] = batch.values[i * width + c] as number;
    } else {
      const cells = batch.strings[c];
      for (let i = 0; i < n; i++) col.push(cells?.[i] ?? null);
    }
  }
  for (let i = 0; i < n; i++) {
    g.requestIds.push(n === 1 ? requestId : `${requestId}:${i}`);
    g.ts[r0 + i] = ts;
    g.predictions[r0 + i] = result.predictions[i] as number;
    // The positive class of a binary model; probabilities are row-major, two per row.
    if (g.probabilities)
      g.probabilities[r0 + i] = result.probabilities ? (result.probabilities[i * 2 + 1] as number) : NaN;
  }
  g.rows = need;
}

/**
 * @example
 * const logger = createInferenceLogger((records) => appendInferenceLog(ws, records), { ...DEFAULT_INFERENCE_LOGGING, sampleRate: 0.1 });
 * logger.log({ name: "churn", version: 3, signature }, batch, result, requestId, Date.now());
 */
export function createInferenceLogger(
  write: (records: InferenceRecords) => Promise<void>,
  options: InferenceLoggerOptions = DEFAULT_INFERENCE_LOGGING,
  hooks: InferenceLoggerHooks = {},
): InferenceLogger {
  // One pending group per model version; replaced (not mutated) when it is handed to the writer.
  let pending = new Map<string, Pending>();
  /** Rows of each model version's last batch handed to the writer. */
  const lastRows = new Map<string, number>();
  let pendingRows = 0;
  let writingRows = 0;
  let writing: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | null = null;

  // A store that is briefly away (PostgreSQL restarting) must not cost logged rows: a write that failed with
  // UNAVAILABLE is retried with backoff, the rows staying buffered (and counted against maxBufferedRows).
  let closing = false;
  const writeWithRetries = async (g: Pending): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await write(toRecords(g));
      } catch (e) {
        if (closing || attempt >= MAX_WRITE_ATTEMPTS || toLoopmlError(e).code !== "UNAVAILABLE") throw e;
        hooks.onError?.(e);
        await delay(Math.min(2000, 50 * 2 ** attempt));
      }
    }
  };

  const startWrite = (): Promise<void> => {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    if (pendingRows === 0) return writing;
    for (const [key, g] of pending) lastRows.set(key, g.rows);
    const groups = [...pending.values()];
    const rows = pendingRows;
    pending = new Map();
    pendingRows = 0;
    writingRows += rows;
    // Writes run one after another, so the store sees batches in order and one at a time.
    writing = writing.then(async () => {
      for (const g of groups) {
        try {
          await writeWithRetries(g);
          hooks.onRows?.(g.model.name, "written", g.rows);
        } catch (e) {
          hooks.onRows?.(g.model.name, "failed", g.rows);
          hooks.onError?.(e);
        } finally {
          writingRows -= g.rows;
        }
      }
    });
    return writing;
  };

  return {
    log(model, batch, result, requestId, ts, sampleRate = options.sampleRate) {
      if (sampleRate <= 0 || (sampleRate < 1 && Math.random() >= sampleRate)) return;
      const n = batch.nRows;
      if (pendingRows + writingRows + n > options.maxBufferedRows) {
        hooks.onRows?.(model.name, "dropped", n);
        return;
      }
      const key = `${model.name}\u0000${model.version}`;
      let group = pending.get(key);
      if (!group || group.model !== model) {
        if (group) void startWrite();
        // Sized like this model's previous batch: under steady traffic the columns never regrow (no copies, less garbage).
        const capacity = Math.min(options.flushRows, Math.max(n, 64, lastRows.get(key) ?? 1024));
        group = newPending(model, capacity);
        pending.set(key, group);
      }
      // Copied now: the result may be a view into a micro-batch that the runtime could reuse.
      append(group, batch, result, requestId, ts);
      pendingRows += n;
      if (pendingRows >= options.flushRows) void startWrite();
      else if (!timer) {
        timer = setTimeout(() => void startWrite(), options.flushIntervalMs);
        timer.unref();
      }
    },
    get bufferedRows() {
      return pendingRows + writingRows;
    },
    flush: () => startWrite(),
    close: async (timeoutMs = 5000) => {
      closing = true;
      let giveUp: NodeJS.Timeout | undefined;
      await Promise.race([
        startWrite(),
        new Promise<void>((resolve) => {
          giveUp = setTimeout(resolve, timeoutMs);
          giveUp.unref();
        }),
      ]);
      clearTimeout(giveUp);
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}

/** The waiting rows of one model version as one columnar batch. */
function toRecords(g: Pending): InferenceRecords {
  const n = g.rows;
  const inputs = g.model.signature.inputs;
  return {
    model: g.model.name,
    version: g.model.version,
    requestIds: g.requestIds,
    ts: g.ts.subarray(0, n),
    inputs: Object.fromEntries(
      inputs.map((c, i) => {
        const col = g.columns[i] as Float64Array | (string | null)[];
        return [c.name, col instanceof Float64Array ? col.subarray(0, n) : col];
      }),
    ),
    predictions: g.predictions.subarray(0, n),
    ...(g.probabilities && { probabilities: g.probabilities.subarray(0, n) }),
  };
}
