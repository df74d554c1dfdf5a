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
