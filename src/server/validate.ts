// Request validation with zod: one INVALID_ARGUMENT error whose details list every issue as { path, message }.
import { z } from "zod";
import { LoopmlError } from "../errors.ts";

export function parse<T>(schema: z.ZodType<T>, value: unknown, what = "request body"): T {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
  throw new LoopmlError(
    "INVALID_ARGUMENT",
    `Invalid ${what}: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; ")}.`,
    { issues },
  );
}

/** JSON has no NaN or Infinity, so they travel as the strings protobuf's JSON mapping uses. */
export const metricValue = z.union([
  z.number(),
  z.enum(["NaN", "Infinity", "-Infinity"]).transform((s) => Number(s)),
]);

/** int64 fields may arrive as numbers or as decimal strings (protobuf JSON). */
export const int64 = z.union([
  z.number().int(),
  z
    .string()
    .regex(/^-?\d+$/)
    .transform(Number),
]);

/** Numbers in responses: NaN and ±Infinity become the protobuf JSON strings. */
export function jsonNumber(v: number): number | string {
  if (Number.isFinite(v)) return v;
  return Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
}

export const keyValues = z.array(z.object({ key: z.string(), value: z.string() }));

const SPECIAL: Readonly<Record<string, number>> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  "-Infinity": Number.NEGATIVE_INFINITY,
};

function int64Of(v: unknown, at: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "number" && Number.isSafeInteger(v)) return v;
  if (typeof v === "string" && /^-?\d{1,16}$/.test(v)) return Number(v);
  throw new LoopmlError("INVALID_ARGUMENT", `Invalid request body: ${at} must be a whole number.`, {
    issues: [{ path: at, message: "expected a whole number" }],
  });
}

/**
 * Metric points are the bulk of ingestion traffic: they are checked by hand in one pass, an order
 * of magnitude cheaper than a schema library per point, with the same error shape.
 */
export function parseMetricPoints(
  value: unknown,
  field = "metrics",
): Array<{ key: string; value: number; step?: number; timestamp?: number }> {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    throw new LoopmlError("INVALID_ARGUMENT", `Invalid request body: ${field} must be a list.`, {
      issues: [{ path: field, message: "expected an array" }],
    });
  }
  const out = new Array<{ key: string; value: number; step?: number; timestamp?: number }>(value.length);
  for (let i = 0; i < value.length; i++) {
    const m = value[i] as Record<string, unknown> | null;
    const at = `${field}.${i}`;
    const raw = m?.["value"];
    const v = typeof raw === "number" ? raw : typeof raw === "string" ? SPECIAL[raw] : undefined;
    if (typeof m?.["key"] !== "string" || v === undefined) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Invalid request body: ${at} needs a string key and a numeric value (or "NaN", "Infinity", "-Infinity"), got ${JSON.stringify(m)?.slice(0, 200)}.`,
        { issues: [{ path: at, message: "expected { key: string, value: number }" }] },
      );
    }
    const step = int64Of(m["step"], `${at}.step`);
    const timestamp = int64Of(m["timestamp"], `${at}.timestamp`);
    out[i] = {
      key: m["key"],
      value: v,
      ...(step !== undefined && { step }),
      ...(timestamp !== undefined && { timestamp }),
    };
  }
  return out;
}
