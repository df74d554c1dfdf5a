// The server's asynchronous inference logger: samples answered requests, buffers them (bounded), writes columnar batches in the background.
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

interface Entry {
  readonly batch: Batch;
  readonly predictions: Float64Array;
  readonly probabilities: Float64Array | undefined;
  readonly requestId: string;
  readonly ts: number;
}

interface Pending {
  readonly model: LoggedModel;
  entries: Entry[];
  rows: number;
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
  let pendingRows = 0;
  let writingRows = 0;
  let writing: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | null = null;

  const startWrite = (): Promise<void> => {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    if (pendingRows === 0) return writing;
    const groups = [...pending.values()];
    const rows = pendingRows;
    pending = new Map();
    pendingRows = 0;
    writingRows += rows;
    // Writes run one after another, so the store sees batches in order and one at a time.
    writing = writing.then(async () => {
      for (const g of groups) {
        try {
          await write(toRecords(g));
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
        group = { model, entries: [], rows: 0 };
        pending.set(key, group);
      }
      // Copies: the result may be a view into a micro-batch that the runtime could reuse.
      group.entries.push({
        batch,
        predictions: result.predictions.slice(),
        probabilities: result.probabilities?.slice(),
        requestId,
        ts,
      });
      group.rows += n;
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

/** Turns the row-major requests of one model version into one columnar batch. */
function toRecords(group: Pending): InferenceRecords {
  const { model, entries, rows } = group;
  const inputs = model.signature.inputs;
  const width = inputs.length;
  const binary = model.signature.task === "binary";
  const requestIds = new Array<string>(rows);
  const ts = new Float64Array(rows);
  const predictions = new Float64Array(rows);
  const probabilities = binary ? new Float64Array(rows) : undefined;
  const columns = inputs.map((c) =>
    c.type === "string" ? new Array<string | null>(rows) : new Float64Array(rows),
  );
  let r = 0;
  for (const e of entries) {
    const n = e.batch.nRows;
    for (let i = 0; i < n; i++, r++) {
      requestIds[r] = n === 1 ? e.requestId : `${e.requestId}:${i}`;
      ts[r] = e.ts;
      predictions[r] = e.predictions[i] as number;
      if (probabilities) probabilities[r] = e.probabilities ? (e.probabilities[i * 2 + 1] as number) : NaN;
      for (let c = 0; c < width; c++) {
        const col = columns[c] as Float64Array | (string | null)[];
        if (col instanceof Float64Array) col[r] = e.batch.values[i * width + c] as number;
        else col[r] = e.batch.strings[c]?.[i] ?? null;
      }
    }
  }
  return {
    model: model.name,
    version: model.version,
    requestIds,
    ts,
    inputs: Object.fromEntries(inputs.map((c, i) => [c.name, columns[i] as Float64Array])),
    predictions,
    ...(probabilities && { probabilities }),
  };
}
