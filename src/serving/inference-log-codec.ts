// The bytes of one inference-log batch blob: a JSON header, then Float64 columns, then the request ids packed as UTF-8.
import { endianness } from "node:os";
import { LoopmlError } from "../errors.ts";
import type { InferenceRecords, PackedStrings } from "./inference-log.ts";

/**
 * "LIL2": magic, u32 header length, JSON header (padded to 8 bytes), the Float64 sections (ts, predictions,
 * [probabilities], numeric inputs), the ids' u32 end offsets, the ids' bytes. "LIL1" (read only) kept the
 * ids in the JSON header, one string each.
 */
const MAGIC = "LIL2";
const MAGIC_V1 = "LIL1";
const LITTLE_ENDIAN = endianness() === "LE";

interface BlobHeader {
  rows: number;
  /** LIL1 only. */
  requestIds?: string[];
  /** Names of the numeric columns, in the order their Float64 sections follow ts and predictions. */
  numeric: string[];
  strings: Record<string, (string | null)[]>;
  probabilities: boolean;
}

export interface DecodedBatch {
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

/** Packs strings for a batch that came without packed ids (library callers). */
export function packStrings(values: readonly string[]): PackedStrings {
  const ends = new Uint32Array(values.length);
  let size = 0;
  for (let i = 0; i < values.length; i++) {
    size += Buffer.byteLength(values[i] as string, "utf8");
    ends[i] = size;
  }
  const bytes = Buffer.allocUnsafe(size);
  for (let i = 0; i < values.length; i++)
    bytes.write(values[i] as string, i === 0 ? 0 : ends[i - 1]!, "utf8");
  return { bytes, ends };
}

export function unpackStrings(packed: PackedStrings, rows = packed.ends.length): string[] {
  const bytes = Buffer.from(packed.bytes.buffer, packed.bytes.byteOffset, packed.bytes.byteLength);
  const out = new Array<string>(rows);
  let start = 0;
  for (let i = 0; i < rows; i++) {
    const end = packed.ends[i] as number;
    out[i] = bytes.toString("utf8", start, end);
    start = end;
  }
  return out;
}

function isStringColumn(col: ArrayLike<number> | ReadonlyArray<string | null>): boolean {
  if (!Array.isArray(col)) return false;
  for (const v of col as unknown[]) if (typeof v === "string") return true;
  return false;
}

/** One batch as blob bytes, in a single buffer (its hash and write then need no second copy). */
export function encodeBatch(r: InferenceRecords, rows: number): Buffer {
  const numeric: string[] = [];
  const strings: Record<string, (string | null)[]> = {};
  for (const [name, col] of Object.entries(r.inputs)) {
    if (isStringColumn(col))
      strings[name] = Array.from(col as ReadonlyArray<string | null>, (v) => v ?? null);
    else numeric.push(name);
  }
  const ids = r.packedRequestIds ?? packStrings(r.requestIds);
  const idBytes = rows === 0 ? 0 : (ids.ends[rows - 1] as number);
  const header: BlobHeader = { rows, numeric, strings, probabilities: r.probabilities !== undefined };
  let json = JSON.stringify(header);
  // Pad so the Float64 sections start 8-byte aligned (8 = magic + length).
  json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerLength = Buffer.byteLength(json);
  const sections = 2 + (header.probabilities ? 1 : 0) + numeric.length;
  const floatsAt = 8 + headerLength;
  const endsAt = floatsAt + sections * rows * 8;
  // A fresh ArrayBuffer starts 8-byte aligned, so each section is one typed-array copy (little-endian hosts).
  const bytes = new ArrayBuffer(endsAt + rows * 4 + idBytes);
  const out = Buffer.from(bytes);
  out.write(MAGIC, 0, "latin1");
  out.writeUInt32LE(headerLength, 4);
  out.write(json, 8, "utf8");
  let offset = floatsAt;
  const put = (values: ArrayLike<number | null>): void => {
    if (LITTLE_ENDIAN && values instanceof Float64Array)
      new Float64Array(bytes, offset, rows).set(values.subarray(0, rows));
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
  if (LITTLE_ENDIAN) new Uint32Array(bytes, endsAt, rows).set(ids.ends.subarray(0, rows));
  else for (let i = 0; i < rows; i++) out.writeUInt32LE(ids.ends[i] as number, endsAt + i * 4);
  out.set(ids.bytes.subarray(0, idBytes), endsAt + rows * 4);
  return out;
}

/** Packed ids must end in order inside their bytes; returns what is wrong, or null. */
export function checkPacked(ids: PackedStrings): string | null {
  let start = 0;
  for (let i = 0; i < ids.ends.length; i++) {
    const end = ids.ends[i] as number;
    if (end < start || end > ids.bytes.length) return `packed request id ${i} ends outside its bytes`;
    start = end;
  }
  return null;
}

export function decodeBatch(bytes: Buffer, version: number): DecodedBatch {
  const magic = bytes.length < 8 ? "" : bytes.toString("latin1", 0, 4);
  if (magic !== MAGIC && magic !== MAGIC_V1) {
    throw new LoopmlError("INTERNAL", "An inference log blob is not in the expected format; this is a bug.");
  }
  const headerLength = bytes.readUInt32LE(4);
  const header = JSON.parse(bytes.toString("utf8", 8, 8 + headerLength)) as BlobHeader;
  const rows = header.rows;
  let offset = 8 + headerLength;
  const take = (): Float64Array => {
    const at = offset;
    offset += rows * 8;
    if (!LITTLE_ENDIAN) return Float64Array.from({ length: rows }, (_, i) => bytes.readDoubleLE(at + i * 8));
    // A copy of the section: the blob's buffer may not be 8-byte aligned (pooled or concatenated reads).
    return new Float64Array(bytes.buffer.slice(bytes.byteOffset + at, bytes.byteOffset + offset));
  };
  const ts = take();
  const predictions = take();
  const probabilities = header.probabilities ? take() : undefined;
  const numeric = new Map<string, Float64Array>();
  for (const name of header.numeric) numeric.set(name, take());
  let requestIds = header.requestIds ?? [];
  if (magic === MAGIC) {
    const ends = Uint32Array.from({ length: rows }, (_, i) => bytes.readUInt32LE(offset + i * 4));
    const idsAt = offset + rows * 4;
    requestIds = unpackStrings({ bytes: bytes.subarray(idsAt), ends });
  }
  return {
    version,
    rows,
    requestIds,
    ts,
    predictions,
    ...(probabilities && { probabilities }),
    numeric,
    strings: new Map(Object.entries(header.strings)),
    keep: [],
  };
}
