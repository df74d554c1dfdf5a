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
