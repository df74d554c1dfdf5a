// The inference log: predictions stored as columnar batches (a row per batch in the store, its payload in a blob), read back as one frame.
import { endianness } from "node:os";
import { LoopmlError } from "../errors.ts";
import type { Workspace } from "../workspace.ts";

/** One columnar batch of predictions, as the server's logger hands it over. */
export interface InferenceRecords {
  /** Registered model name and the version that answered. */
  model: string;
  version: number;
  requestIds: string[];
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

const MAGIC = "LIL1";
const LITTLE_ENDIAN = endianness() === "LE";

interface BlobHeader {
  rows: number;
  requestIds: string[];
  /** Names of the numeric columns, in the order their Float64 sections follow ts and predictions. */
  numeric: string[];
  strings: Record<string, (string | null)[]>;
  probabilities: boolean;
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
  const { id: blobId } = await ws.blobs.put(encodeBatch(records, rows));
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
  const rows = r.requestIds.length;
  const check = (what: string, length: number): void => {
    if (length !== rows) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Inference log batch for "${r.model}": ${what} has ${length} rows but there are ${rows} request ids.`,
      );
    }
  };
  check("ts", r.ts.length);
  check("predictions", r.predictions.length);
  if (r.probabilities) check("probabilities", r.probabilities.length);
  for (const [name, col] of Object.entries(r.inputs)) check(`input column "${name}"`, col.length);
  return rows;
}

function isStringColumn(col: ArrayLike<number> | ReadonlyArray<string | null>): boolean {
  if (!Array.isArray(col)) return false;
  for (const v of col as unknown[]) if (typeof v === "string") return true;
  return false;
}

function encodeBatch(r: InferenceRecords, rows: number): Buffer {
  const numeric: string[] = [];
  const strings: Record<string, (string | null)[]> = {};
  for (const [name, col] of Object.entries(r.inputs)) {
    if (isStringColumn(col))
      strings[name] = Array.from(col as ReadonlyArray<string | null>, (v) => v ?? null);
    else numeric.push(name);
  }
  const header: BlobHeader = {
    rows,
    requestIds: r.requestIds,
    numeric,
    strings,
    probabilities: r.probabilities !== undefined,
  };
  let json = JSON.stringify(header);
  // Pad so the Float64 sections start 8-byte aligned (8 = magic + length).
  json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, "utf8");
  const sections = 2 + (header.probabilities ? 1 : 0) + numeric.length;
  // A fresh ArrayBuffer starts 8-byte aligned, so each section is one Float64Array copy (little-endian hosts).
  const bytes = new ArrayBuffer(8 + headerBytes.length + sections * rows * 8);
  const out = Buffer.from(bytes);
  out.write(MAGIC, 0, "latin1");
  out.writeUInt32LE(headerBytes.length, 4);
  headerBytes.copy(out, 8);
  let offset = 8 + headerBytes.length;
  const put = (values: ArrayLike<number | null>): void => {
    const section = new Float64Array(bytes, offset, rows);
    if (LITTLE_ENDIAN && values instanceof Float64Array) section.set(values.subarray(0, rows));
    else {
      for (let i = 0; i < rows; i++) {
        const v = values[i];
        out.writeDoubleLE(typeof v === "number" ? v : NaN, offset + i * 8);
      }
    }
    offset += rows * 8;
  };
  put(r.ts);
  put(r.predictions);
  if (r.probabilities) put(r.probabilities);
  for (const name of numeric) put(r.inputs[name] as ArrayLike<number | null>);
  return out;
}

interface DecodedBatch {
  version: number;
  rows: number;
  requestIds: string[];
  ts: Float64Array;
  predictions: Float64Array;
  probabilities?: Float64Array;
  numeric: Map<string, Float64Array>;
  strings: Map<string, (string | null)[]>;
  /** Row indexes inside the query window. */
  keep: number[];
}

function decodeBatch(bytes: Buffer, version: number): DecodedBatch {
  if (bytes.length < 8 || bytes.toString("latin1", 0, 4) !== MAGIC) {
    throw new LoopmlError("INTERNAL", "An inference log blob is not in the expected format; this is a bug.");
  }
  const headerLength = bytes.readUInt32LE(4);
  const header = JSON.parse(bytes.toString("utf8", 8, 8 + headerLength)) as BlobHeader;
  const rows = header.rows;
  let offset = 8 + headerLength;
  const take = (): Float64Array => {
    const a = new Float64Array(rows);
    for (let i = 0; i < rows; i++) a[i] = bytes.readDoubleLE(offset + i * 8);
    offset += rows * 8;
    return a;
  };
  const ts = take();
  const predictions = take();
  const probabilities = header.probabilities ? take() : undefined;
  const numeric = new Map<string, Float64Array>();
  for (const name of header.numeric) numeric.set(name, take());
  return {
    version,
    rows,
    requestIds: header.requestIds,
    ts,
    predictions,
    ...(probabilities && { probabilities }),
    numeric,
    strings: new Map(Object.entries(header.strings)),
    keep: [],
  };
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
