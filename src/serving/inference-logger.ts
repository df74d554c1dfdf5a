// The server's asynchronous inference logger: samples answered requests, buffers them (bounded), writes columnar batches in the background.
import { setTimeout as delay } from "node:timers/promises";
import { toLoopmlError } from "../errors.ts";
import type { InferenceRecords } from "./inference-log.ts";
import { unpackStrings } from "./inference-log-codec.ts";
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

/**
 * One model version's waiting rows, already columnar: logging copies numbers and id bytes, it keeps no
 * object per row alive (ids held as strings until the write survived young-generation GCs and were promoted).
 */
interface Pending {
  readonly model: LoggedModel;
  rows: number;
  capacity: number;
  /** Section-major, `capacity` values each: ts, predictions, [probabilities], then every "double" input. */
  numbers: Float64Array;
  /** Request ids as UTF-8 bytes; idEnds[i] is where row i's id ends. */
  ids: Buffer;
  idEnds: Uint32Array;
  idBytes: number;
  /** Per input: its cells for "string" inputs, null for "double" inputs. */
  strings: ((string | null)[] | null)[];
  /** Per input: its section in `numbers`, or -1 for "string" inputs. */
  readonly sectionOf: Int32Array;
  /** Binary models log the positive class's probability in section 2. */
  readonly probabilities: boolean;
}

/** Bytes held per row for ids before the id buffer grows: a UUID is 36. */
const ID_BYTES_PER_ROW = 40;

function newPending(model: LoggedModel, capacity: number): Pending {
  const probabilities = model.signature.task === "binary";
  let sections = probabilities ? 3 : 2;
  const sectionOf = Int32Array.from(model.signature.inputs, (c) => (c.type === "string" ? -1 : sections++));
  return {
    model,
    rows: 0,
    capacity,
    numbers: new Float64Array(sections * capacity),
    ids: Buffer.allocUnsafeSlow(capacity * ID_BYTES_PER_ROW),
    idEnds: new Uint32Array(capacity),
    idBytes: 0,
    strings: model.signature.inputs.map((c) => (c.type === "string" ? [] : null)),
    sectionOf,
    probabilities,
  };
}

/** Makes room for `need` rows: each section moves to its new place. */
function grow(g: Pending, need: number): void {
  const capacity = Math.max(need, g.capacity * 2);
  const sections = g.numbers.length / g.capacity;
  const numbers = new Float64Array(sections * capacity);
  for (let s = 0; s < sections; s++) {
    numbers.set(g.numbers.subarray(s * g.capacity, s * g.capacity + g.rows), s * capacity);
  }
  const idEnds = new Uint32Array(capacity);
  idEnds.set(g.idEnds.subarray(0, g.rows));
  g.numbers = numbers;
  g.idEnds = idEnds;
  g.capacity = capacity;
}

function appendId(g: Pending, id: string): void {
  // UTF-8 needs at most 3 bytes per UTF-16 unit: with that much room, nothing is truncated.
  if (g.idBytes + id.length * 3 > g.ids.length) {
    const ids = Buffer.allocUnsafeSlow(Math.max(g.ids.length * 2, g.idBytes + id.length * 3));
    g.ids.copy(ids, 0, 0, g.idBytes);
    g.ids = ids;
  }
  const at = g.idBytes + g.ids.write(id, g.idBytes, "utf8");
  g.idBytes = at;
  g.idEnds[g.rows] = at;
}

function append(g: Pending, batch: Batch, result: PredictResult, requestId: string, ts: number): void {
  const n = batch.nRows;
  if (g.rows + n > g.capacity) grow(g, g.rows + n);
  const { numbers, capacity, sectionOf } = g;
  const width = sectionOf.length;
  const values = batch.values;
  const probabilities = result.probabilities;
  for (let i = 0; i < n; i++) {
    const r = g.rows;
    numbers[r] = ts;
    numbers[capacity + r] = result.predictions[i] as number;
    // The positive class of a binary model; probabilities are row-major, two per row.
    if (g.probabilities)
      numbers[2 * capacity + r] = probabilities ? (probabilities[i * 2 + 1] as number) : NaN;
    for (let c = 0; c < width; c++) {
      const section = sectionOf[c] as number;
      if (section >= 0) numbers[section * capacity + r] = values[i * width + c] as number;
      else g.strings[c]?.push(batch.strings[c]?.[i] ?? null);
    }
    appendId(g, n === 1 ? requestId : `${requestId}:${i}`);
    g.rows = r + 1;
  }
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
  // One pending group per served model version (keyed by its LoggedModel, so logging builds no key per
  // request); replaced (not mutated) when it is handed to the writer.
  let pending = new Map<LoggedModel, Pending>();
  /** Rows of each model version's last batch handed to the writer. */
  const lastRows = new WeakMap<LoggedModel, number>();
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
      let group = pending.get(model);
      if (!group) {
        // Sized like this model's previous batch: under steady traffic the columns never regrow (no copies, less garbage).
        const capacity = Math.min(options.flushRows, Math.max(n, 64, lastRows.get(model) ?? 1024));
        group = newPending(model, capacity);
        pending.set(model, group);
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

/** The waiting rows of one model version as one columnar batch; the ids stay packed unless a caller reads them. */
function toRecords(g: Pending): InferenceRecords {
  const n = g.rows;
  const section = (s: number): Float64Array => g.numbers.subarray(s * g.capacity, s * g.capacity + n);
  const packedRequestIds = { bytes: g.ids.subarray(0, g.idBytes), ends: g.idEnds.subarray(0, n) };
  let requestIds: string[] | undefined;
  return {
    model: g.model.name,
    version: g.model.version,
    get requestIds() {
      return (requestIds ??= unpackStrings(packedRequestIds));
    },
    packedRequestIds,
    ts: section(0),
    inputs: Object.fromEntries(
      g.model.signature.inputs.map((c, i) => {
        const s = g.sectionOf[i] as number;
        return [c.name, s >= 0 ? section(s) : (g.strings[i] as (string | null)[])];
      }),
    ),
    predictions: section(1),
    ...(g.probabilities && { probabilities: section(2) }),
  };
}
