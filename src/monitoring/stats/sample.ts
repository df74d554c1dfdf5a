// Shared input handling: dropping missing values, sorting, category counts, compensated sums.
import { LoopmlError } from "../../errors.ts";
import { sortedFinite } from "./sort.ts";

/** Non-missing values of a numeric column, sorted ascending in a new array. Throws if none remain. */
export function cleanSorted(values: Float64Array, what: string): Float64Array {
  const out = sortedFinite(values);
  if (out.length === 0) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `The ${what} sample is empty after dropping missing values (NaN, ±Infinity); ` +
        `a drift test needs at least one value on each side. Skip this column or widen the window.`,
      { sample: what, length: values.length },
    );
  }
  return out;
}

/** Throws unless a sample has at least `min` values; used by tests with larger minimum sizes. */
export function requireSize(n: number, min: number, what: string, test: string): void {
  if (n < min) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `The ${what} sample has ${n} value(s) after dropping missing values; ${test} needs at least ${min}.`,
      { sample: what, size: n, minimum: min },
    );
  }
}

/** Throws unless `x` is a probability-like threshold in (0, ∞). */
export function checkThreshold(threshold: number): number {
  if (!(threshold > 0) || !Number.isFinite(threshold)) {
    throw new LoopmlError("INVALID_ARGUMENT", `Drift threshold must be a positive number, got ${threshold}.`);
  }
  return threshold;
}

/** Count of distinct values in a sorted array. */
export function countDistinctSorted(sorted: Float64Array): number {
  if (sorted.length === 0) return 0;
  let k = 1;
  for (let i = 1; i < sorted.length; i++) if (sorted[i] !== sorted[i - 1]) k++;
  return k;
}

/** Reference and current counts over the union of categories seen on either side (missing dropped). */
export interface CategoryCounts {
  readonly reference: Float64Array;
  readonly current: Float64Array;
  readonly referenceTotal: number;
  readonly currentTotal: number;
}

/**
 * Aligns two categorical samples into count vectors, in ascending category order. Accepts integer codes
 * (-1 = missing) or numeric values (NaN = missing), so few-valued numeric columns share the same path.
 */
export function categoryCounts(
  reference: Int32Array | Float64Array,
  current: Int32Array | Float64Array,
): CategoryCounts {
  const ref = countValues(reference, "reference");
  const cur = countValues(current, "current");
  const keys = [...new Set([...ref.keys(), ...cur.keys()])].sort((a, b) => a - b);
  const r = new Float64Array(keys.length);
  const c = new Float64Array(keys.length);
  let rt = 0;
  let ct = 0;
  keys.forEach((k, i) => {
    r[i] = ref.get(k) ?? 0;
    c[i] = cur.get(k) ?? 0;
    rt += r[i];
    ct += c[i];
  });
  return { reference: r, current: c, referenceTotal: rt, currentTotal: ct };
}

function countValues(values: Int32Array | Float64Array, what: string): Map<number, number> {
  const counts = new Map<number, number>();
  let max = -1;
  if (values instanceof Int32Array) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v < -1) {
        throw new LoopmlError("INVALID_ARGUMENT", `Category codes must be >= 0 (-1 = missing), got ${v}.`);
      }
      if (v > max) max = v;
    }
  }
  // Dense codes (the dictionary-encoded case) count into an array; sparse large codes go through the map.
  if (values instanceof Int32Array && max <= 4 * values.length + 1024) {
    const dense = new Float64Array(max + 1);
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v >= 0) dense[v]!++;
    }
    dense.forEach((n, code) => {
      if (n > 0) counts.set(code, n);
    });
  } else {
    const codes = values instanceof Int32Array;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (codes ? v >= 0 : Number.isFinite(v)) counts.set(v, (counts.get(v) ?? 0) + 1);
    }
  }
  if (counts.size === 0) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `The ${what} sample is empty after dropping missing values; a drift test needs at least one value on each side.`,
      { sample: what, length: values.length },
    );
  }
  return counts;
}

/** Neumaier-compensated running sum: long sums over millions of terms stay within a few ulps. */
export class CompensatedSum {
  private sum = 0;
  private comp = 0;
  add(x: number): void {
    const t = this.sum + x;
    if (Math.abs(this.sum) >= Math.abs(x)) this.comp += this.sum - t + x;
    else this.comp += x - t + this.sum;
    this.sum = t;
  }
  get value(): number {
    return this.sum + this.comp;
  }
}

/** Population mean and standard deviation (ddof = 0, as numpy.std) of a sample, two-pass. */
export function meanStd(values: Float64Array): { mean: number; std: number } {
  const s = new CompensatedSum();
  for (let i = 0; i < values.length; i++) s.add(values[i]!);
  const mean = s.value / values.length;
  const q = new CompensatedSum();
  for (let i = 0; i < values.length; i++) {
    const d = values[i]! - mean;
    q.add(d * d);
  }
  return { mean, std: Math.sqrt(q.value / values.length) };
}
