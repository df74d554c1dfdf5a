// The compact JSON wire form of metric points between the batching client and the server: keys once, one array per column.
import { LoopmlError } from "../errors.ts";
import type { MetricPointColumns } from "./types.ts";

/** JSON has no NaN or ±Infinity; they travel as the strings MLflow's protobuf JSON uses. */
const SPECIAL: Readonly<Record<string, number>> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  "-Infinity": Number.NEGATIVE_INFINITY,
};

function specialOf(v: number): string {
  return Number.isNaN(v) ? '"NaN"' : v > 0 ? '"Infinity"' : '"-Infinity"';
}

/**
 * `{"keys":["loss"],"key":[0,0],"value":[0.9,"NaN"],"step":[1,2],"timestamp":[t1,t2]}`, written as
 * text straight from the typed arrays (a finite double prints the same through join as through
 * JSON.stringify), about half the bytes of a list of point objects.
 */
export function encodePointsJson(p: MetricPointColumns): string {
  let values: string;
  if (p.value.every(Number.isFinite)) values = p.value.join(",");
  else {
    const parts = new Array<string>(p.value.length);
    for (let i = 0; i < p.value.length; i++) {
      const v = p.value[i] as number;
      parts[i] = Number.isFinite(v) ? String(v) : specialOf(v);
    }
    values = parts.join(",");
  }
  return `{"keys":${JSON.stringify(p.keys)},"key":[${p.key.join(",")}],"value":[${values}],"step":[${p.step.join(",")}],"timestamp":[${p.timestamp.join(",")}]}`;
}

function badColumns(why: string): LoopmlError {
  return new LoopmlError("INVALID_ARGUMENT", `Invalid request body: points ${why}.`, {
    issues: [{ path: "points", message: why }],
  });
}

/**
 * The parsed JSON of `encodePointsJson` into typed arrays, checked in one pass without an object
 * per point: key indexes in range, values numbers (or the special strings), steps and timestamps
 * whole numbers.
 */
export function decodePoints(value: unknown): MetricPointColumns | undefined {
  if (value === undefined || value === null) return undefined;
  const c = value as Record<string, unknown>;
  const { keys, key, step, timestamp } = c;
  const values = c["value"];
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === "string"))
    throw badColumns("keys must list strings");
  if (!Array.isArray(key) || !Array.isArray(values) || !Array.isArray(step) || !Array.isArray(timestamp))
    throw badColumns("needs the arrays key, value, step and timestamp");
  const n = key.length;
  if (values.length !== n || step.length !== n || timestamp.length !== n)
    throw badColumns("arrays key, value, step and timestamp must have the same length");
  const out = {
    keys: keys,
    key: new Uint32Array(n),
    value: new Float64Array(n),
    step: new Float64Array(n),
    timestamp: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    const k: unknown = key[i];
    const raw: unknown = values[i];
    const v = typeof raw === "number" ? raw : typeof raw === "string" ? SPECIAL[raw] : undefined;
    const s: unknown = step[i];
    const t: unknown = timestamp[i];
    if (typeof k !== "number" || !Number.isInteger(k) || k < 0 || k >= keys.length)
      throw badColumns(`key[${i}] is not an index into keys`);
    if (v === undefined) throw badColumns(`value[${i}] is ${JSON.stringify(raw)}, not a number`);
    if (typeof s !== "number" || !Number.isSafeInteger(s))
      throw badColumns(`step[${i}] must be a whole number`);
    if (typeof t !== "number" || !Number.isSafeInteger(t))
      throw badColumns(`timestamp[${i}] must be a whole number`);
    out.key[i] = k;
    out.value[i] = v;
    out.step[i] = s;
    out.timestamp[i] = t;
  }
  return out;
}

/** The binary form our batching client sends: no number is printed or parsed, NaN and ±Infinity travel as themselves. */
export const POINTS_CONTENT_TYPE = "application/vnd.loopml.points";
const MAGIC = 0x31504d4c; // "LMP1" read as a little-endian u32

const align8 = (n: number): number => (n + 7) & ~7;

/** Typed arrays use the machine's byte order; the format is little-endian (every common Node platform is). */
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * `LMP1`, u32 header length, header JSON `{"keys":[…],"n":N}`, zero padding to 8 bytes, then the
 * columns as little-endian arrays, each starting 8-aligned: key u32 × N (padded), value, step and
 * timestamp f64 × N. Callers check LITTLE_ENDIAN first (and send JSON otherwise).
 */
export function encodePointsBinary(p: MetricPointColumns): Uint8Array<ArrayBuffer> {
  const n = p.key.length;
  const header = Buffer.from(JSON.stringify({ keys: p.keys, n }), "utf8");
  const keyAt = align8(8 + header.length);
  const valueAt = align8(keyAt + 4 * n);
  const out = new Uint8Array(valueAt + 24 * n);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, header.length, true);
  out.set(header, 8);
  new Uint32Array(out.buffer, keyAt, n).set(p.key);
  new Float64Array(out.buffer, valueAt, n).set(p.value);
  new Float64Array(out.buffer, valueAt + 8 * n, n).set(p.step);
  new Float64Array(out.buffer, valueAt + 16 * n, n).set(p.timestamp);
  return out;
}

/** The inverse of encodePointsBinary, with the checks of decodePoints; the columns are views of the body. */
export function decodePointsBinary(body: Uint8Array): MetricPointColumns {
  if (!LITTLE_ENDIAN) throw badColumns("in binary form need a little-endian server; send them as JSON");
  // Typed-array views need 8-aligned offsets: a body that starts unaligned is copied once.
  const b = body.byteOffset % 8 === 0 ? body : body.slice();
  if (b.length < 8) throw badColumns("body is shorter than its 8-byte preamble");
  const view = new DataView(b.buffer, b.byteOffset, b.length);
  if (view.getUint32(0, true) !== MAGIC)
    throw badColumns(`body does not start with LMP1 (${POINTS_CONTENT_TYPE})`);
  const headerLength = view.getUint32(4, true);
  if (8 + headerLength > b.length) throw badColumns("header is longer than the body");
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(b.buffer, b.byteOffset + 8, headerLength).toString("utf8"));
  } catch {
    throw badColumns("header is not JSON");
  }
  const { keys, n } = (header ?? {}) as { keys?: unknown; n?: unknown };
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === "string"))
    throw badColumns("keys must list strings");
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) throw badColumns("n must be a count");
  const keyAt = align8(8 + headerLength);
  const valueAt = align8(keyAt + 4 * n);
  if (b.length !== valueAt + 24 * n)
    throw badColumns(`body has ${b.length} bytes; ${n} points take ${valueAt + 24 * n}`);
  const at = b.byteOffset;
  const out = {
    keys: keys,
    key: new Uint32Array(b.buffer, at + keyAt, n),
    value: new Float64Array(b.buffer, at + valueAt, n),
    step: new Float64Array(b.buffer, at + valueAt + 8 * n, n),
    timestamp: new Float64Array(b.buffer, at + valueAt + 16 * n, n),
  };
  for (let i = 0; i < n; i++) {
    if ((out.key[i] as number) >= keys.length) throw badColumns(`key[${i}] is not an index into keys`);
    if (!Number.isSafeInteger(out.step[i])) throw badColumns(`step[${i}] must be a whole number`);
    if (!Number.isSafeInteger(out.timestamp[i])) throw badColumns(`timestamp[${i}] must be a whole number`);
  }
  return out;
}
