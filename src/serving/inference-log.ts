// The inference log: predictions stored as columnar batches (a row per batch in the store, its payload in a blob), read back as one frame.
import { webcrypto } from "node:crypto";
import { LoopmlError } from "../errors.ts";
import type { Workspace } from "../workspace.ts";
import { checkPacked, decodeBatch, encodeBatch, type DecodedBatch } from "./inference-log-codec.ts";

/** Strings packed as UTF-8 bytes: string i is `bytes` from `ends[i - 1]` (0 for the first) to `ends[i]`. */
export interface PackedStrings {
  readonly bytes: Uint8Array;
  readonly ends: Uint32Array;
}

/** One columnar batch of predictions, as the server's logger hands it over. */
export interface InferenceRecords {
  /** Registered model name and the version that answered. */
  model: string;
  version: number;
  requestIds: readonly string[];
  /**
   * The same ids packed, stored instead of `requestIds` when present: the server's logger copies each id's
   * bytes as it logs, so no string per row lives on the heap until the batch is written.
   */
  packedRequestIds?: PackedStrings;
  /** Milliseconds since the epoch, one per row. */
  ts: Float64Array;
  /** Feature columns: numbers (NaN or null = missing) or strings (null = missing). */
  inputs: Record<string, ArrayLike<number> | ReadonlyArray<string | null>>;
  /** The predicted value, or the class index for classifiers. */
  predictions: Float64Array;
  /** Positive-class probability for binary classifiers. */
  probabilities?: Float64Array;
}

export interface InferenceLogQuery {
  model: string;
  version?: number;
  /** Inclusive lower bound on a row's time (ms since epoch). */
  since?: number;
  /** Exclusive upper bound on a row's time. */
  until?: number;
  /** At most this many rows: the newest ones, still returned oldest first. */
  limit?: number;
}

/** Rows oldest first; a column absent from some batches reads NaN (numbers) or null (strings) there. */
export interface InferenceLogFrame {
  requestIds: string[];
  ts: Float64Array;
  versions: Int32Array;
  columns: Record<string, Float64Array | (string | null)[]>;
  predictions: Float64Array;
  /** Present when every selected batch carried probabilities. */
  probabilities?: Float64Array;
  rows: number;
}

/**
 * Stores one batch: the payload as a blob, then its index row. Empty batches store nothing.
 *
 * @example
 * await appendInferenceLog(ws, { model: "churn", version: 3, requestIds: ["r1"], ts: new Float64Array([Date.now()]),
 *   inputs: { age: [41], plan: ["pro"] }, predictions: new Float64Array([1]), probabilities: new Float64Array([0.83]) });
 */
export async function appendInferenceLog(ws: Workspace, records: InferenceRecords): Promise<void> {
  const rows = validate(records);
  if (rows === 0) return;
  const bytes = encodeBatch(records, rows);
  // Hashed on the thread pool (the event loop only copies the bytes), then written under that id without a
  // second hash: one file write and sync instead of a hashing stream.
  const blobId = Buffer.from(await webcrypto.subtle.digest("SHA-256", bytes)).toString("hex");
  await ws.blobs.putMany([{ id: blobId, bytes }]);
  let tsMin = Infinity;
  let tsMax = -Infinity;
  for (let i = 0; i < rows; i++) {
    const t = records.ts[i] as number;
    if (t < tsMin) tsMin = t;
    if (t > tsMax) tsMax = t;
  }
  const row = {
    id: ws.ids.next(),
    model: records.model,
    version: records.version,
    rows,
    ts_min: tsMin,
    ts_max: tsMax,
    blob_id: blobId,
    created_at: ws.clock.now(),
  };
  await ws.store.transaction(async (tx) => {
    await tx.insertInto("inference_log_batches").values(row).execute();
  });
}

/**
 * Reads the logged predictions of one model (optionally one version) in a time window as one columnar frame.
 *
 * @example
 * const frame = await readInferenceLog(ws, { model: "churn", since: Date.now() - 3_600_000, limit: 10_000 });
 * const ages = frame.columns["age"]; // Float64Array
 */
export async function readInferenceLog(ws: Workspace, q: InferenceLogQuery): Promise<InferenceLogFrame> {
  if (typeof q.model !== "string" || q.model === "") {
    throw new LoopmlError("INVALID_ARGUMENT", "readInferenceLog needs a model name.");
  }
  if (q.limit !== undefined && !(Number.isInteger(q.limit) && q.limit >= 0)) {
    throw new LoopmlError("INVALID_ARGUMENT", `limit must be a non-negative integer, got ${q.limit}.`);
  }
  let query = ws.store.db
    .selectFrom("inference_log_batches")
    .select(["version", "rows", "ts_max", "blob_id"])
    .where("model", "=", q.model);
  if (q.version !== undefined) query = query.where("version", "=", q.version);
  if (q.since !== undefined) query = query.where("ts_max", ">=", q.since);
  if (q.until !== undefined) query = query.where("ts_min", "<", q.until);
  // Newest batches first so that a limit stops reading early; rows are put back in time order below.
  const batches = await query.orderBy("ts_max", "desc").orderBy("id", "desc").execute();

  const parts: DecodedBatch[] = [];
  // With a limit: the times of the newest rows seen so far, enough to know when older batches cannot matter.
  let newest: number[] = [];
  for (const b of batches) {
    if (q.limit !== undefined && newest.length >= q.limit) {
      newest = newest.sort((x, y) => y - x).slice(0, q.limit);
      // Every row of this and older batches is at most ts_max: none of them can be among the newest `limit`.
      if (q.limit === 0 || Number(b.ts_max) < (newest[q.limit - 1] as number)) break;
    }
    const part = decodeBatch(await ws.blobs.getBytes(b.blob_id), Number(b.version));
    part.keep = rowsInWindow(part.ts, q.since, q.until);
    if (q.limit !== undefined) for (const i of part.keep) newest.push(part.ts[i] as number);
    parts.push(part);
  }
  return assemble(parts, q.limit);
}

function validate(r: InferenceRecords): number {
  if (typeof r.model !== "string" || r.model === "") {
    throw new LoopmlError("INVALID_ARGUMENT", "An inference log batch needs the model name.");
  }
  if (!Number.isInteger(r.version) || r.version < 1) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `An inference log batch needs a model version ≥ 1, got ${r.version}.`,
    );
  }
  const rows = r.packedRequestIds ? r.packedRequestIds.ends.length : r.requestIds.length;
  const check = (what: string, length: number): void => {
    if (length !== rows) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Inference log batch for "${r.model}": ${what} has ${length} rows but there are ${rows} request ids.`,
      );
    }
  };
  const packed = r.packedRequestIds && checkPacked(r.packedRequestIds);
  if (packed) throw new LoopmlError("INVALID_ARGUMENT", `Inference log batch for "${r.model}": ${packed}.`);
  check("ts", r.ts.length);
  check("predictions", r.predictions.length);
  if (r.probabilities) check("probabilities", r.probabilities.length);
  for (const [name, col] of Object.entries(r.inputs)) check(`input column "${name}"`, col.length);
  return rows;
}

function rowsInWindow(ts: Float64Array, since?: number, until?: number): number[] {
  const keep: number[] = [];
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i] as number;
    if ((since === undefined || t >= since) && (until === undefined || t < until)) keep.push(i);
  }
  return keep;
}

function assemble(parts: DecodedBatch[], limit?: number): InferenceLogFrame {
  // Every kept row as (part, index), ordered by time; ties keep storage order (stable sort).
  const refs: [DecodedBatch, number][] = [];
  for (let p = parts.length - 1; p >= 0; p--) {
    const part = parts[p] as DecodedBatch;
    for (const i of part.keep) refs.push([part, i]);
  }
  refs.sort((a, b) => (a[0].ts[a[1]] as number) - (b[0].ts[b[1]] as number));
  const chosen = limit !== undefined && refs.length > limit ? refs.slice(refs.length - limit) : refs;
  const rows = chosen.length;

  const numericNames = new Set<string>();
  const stringNames = new Set<string>();
  for (const part of parts) {
    for (const name of part.numeric.keys()) numericNames.add(name);
    for (const name of part.strings.keys()) stringNames.add(name);
  }
  const frame: InferenceLogFrame = {
    requestIds: new Array<string>(rows),
    ts: new Float64Array(rows),
    versions: new Int32Array(rows),
    columns: {},
    predictions: new Float64Array(rows),
    rows,
  };
  const withProbabilities = parts.length > 0 && parts.every((p) => p.probabilities !== undefined);
  if (withProbabilities) frame.probabilities = new Float64Array(rows);
  // A column that is text in any batch is text everywhere (numbers become their decimal form).
  for (const name of stringNames) frame.columns[name] = new Array<string | null>(rows).fill(null);
  for (const name of numericNames) {
    if (!stringNames.has(name)) frame.columns[name] = new Float64Array(rows).fill(NaN);
  }
  for (let r = 0; r < rows; r++) {
    const [part, i] = chosen[r] as [DecodedBatch, number];
    frame.requestIds[r] = part.requestIds[i] as string;
    frame.ts[r] = part.ts[i] as number;
    frame.versions[r] = part.version;
    frame.predictions[r] = part.predictions[i] as number;
    if (frame.probabilities) frame.probabilities[r] = part.probabilities?.[i] as number;
    for (const [name, col] of part.numeric) {
      const out = frame.columns[name] as Float64Array | (string | null)[];
      const v = col[i] as number;
      if (out instanceof Float64Array) out[r] = v;
      else out[r] = Number.isNaN(v) ? null : String(v);
    }
    for (const [name, col] of part.strings) (frame.columns[name] as (string | null)[])[r] = col[i] ?? null;
  }
  return frame;
}
