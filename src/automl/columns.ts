// Column screening before search: constants, row ids and target leaks are dropped with a reason.
import type { Column } from "../learn/frame.ts";
import type { Task } from "./types.ts";

/** Below this many rows a "unique per row" column is as likely a real feature as an id. */
const MIN_ROWS_FOR_ID = 20;
/** Below this many rows a perfect predictor may be luck, not a leak. */
const MIN_ROWS_FOR_LEAK = 30;
/** Share of distinct values above which a text column is treated as an identifier. */
const HIGH_CARDINALITY = 0.5;
const ID_NAME = /(^|[^a-z])(id|key|index|uuid|row)([^a-z]|$)|Id$|ID$/i;

export interface ColumnVerdict {
  readonly allMissing: boolean;
  /** Why the column should not be a feature, or null to keep it. */
  readonly dropReason: string | null;
}

/**
 * Judges one candidate feature over the rows that have a target.
 *
 * @example
 * screenColumn(column, rows, y, "binary").dropReason; // e.g. "constant: every row is 3"
 */
export function screenColumn(column: Column, rows: Uint32Array, y: Float64Array, task: Task): ColumnVerdict {
  const n = rows.length;
  const { present, distinct, first, allIntegers } = distinctValues(column, rows);
  if (present === 0) return { allMissing: true, dropReason: "every value is missing" };
  if (distinct === 1) {
    const shown = column.kind === "numeric" ? String(first) : JSON.stringify(column.dictionary[first]);
    const gaps = present < n ? ` (${n - present} rows missing)` : "";
    return { allMissing: false, dropReason: `constant: every present value is ${shown}${gaps}` };
  }
  if (n >= MIN_ROWS_FOR_ID && present === n && distinct === n) {
    if (column.kind === "categorical") {
      return { allMissing: false, dropReason: "id-like: a distinct text value on every row" };
    }
    // A distinct integer per row, counting along the file or named like a key, is a row number, not a measurement.
    if (allIntegers && (ID_NAME.test(column.name) || monotonic(column.values))) {
      return { allMissing: false, dropReason: "id-like: a distinct integer on every row (a row number)" };
    }
  }
  // Category-set splits on a text column with mostly unique values memorise rows instead of learning.
  if (column.kind === "categorical" && n >= MIN_ROWS_FOR_ID && distinct > HIGH_CARDINALITY * present) {
    return {
      allMissing: false,
      dropReason: `high-cardinality text: ${distinct} distinct values in ${present} rows, too many to learn from`,
    };
  }
  if (n >= MIN_ROWS_FOR_LEAK) {
    const leak =
      task === "regression"
        ? regressionLeak(column, rows, y)
        : classificationLeak(column, rows, y, distinct, task);
    if (leak) return { allMissing: false, dropReason: leak };
  }
  return { allMissing: false, dropReason: null };
}

/**
 * Present and distinct value counts over the rows, with typed arrays (a sort for numbers, a bitmap for
 * category codes): on 100k+ rows a Map of counts made setup eat seconds of the AutoML budget.
 */
function distinctValues(
  column: Column,
  rows: Uint32Array,
): { present: number; distinct: number; first: number; allIntegers: boolean } {
  const n = rows.length;
  let present = 0;
  let distinct = 0;
  let first = NaN;
  let allIntegers = true;
  if (column.kind === "categorical") {
    const seen = new Uint8Array(column.dictionary.length);
    for (let i = 0; i < n; i++) {
      const c = column.codes[rows[i] as number] as number;
      if (c < 0) continue;
      present++;
      if (seen[c] === 0) {
        seen[c] = 1;
        if (distinct++ === 0) first = c;
      }
    }
    return { present, distinct, first, allIntegers };
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = column.values[rows[i] as number] as number;
    if (Number.isNaN(v)) continue;
    values[present++] = v;
    if (allIntegers && !Number.isInteger(v)) allIntegers = false;
  }
  const sorted = values.subarray(0, present).sort();
  for (let i = 0; i < present; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct++;
  return { present, distinct, first: present > 0 ? (sorted[0] as number) : NaN, allIntegers };
}

function monotonic(values: Float64Array): boolean {
  let up = true;
  let down = true;
  let prev = NaN;
  for (const v of values) {
    if (Number.isNaN(v)) continue;
    if (!Number.isNaN(prev)) {
      if (v <= prev) up = false;
      if (v >= prev) down = false;
    }
    prev = v;
  }
  return up || down;
}

/** A column whose every value maps to one class, with few enough values that this is not chance, or a threshold separating two classes perfectly. */
function classificationLeak(
  column: Column,
  rows: Uint32Array,
  y: Float64Array,
  distinct: number,
  task: Task,
): string | null {
  const n = rows.length;
  const key = column.kind === "numeric" ? column.values : column.codes;
  // Each value always with one class: only worth checking when values are few (else it is chance).
  if (distinct <= Math.max(20, n / 10)) {
    const classOf = new Map<number, number>();
    let pure = true;
    let missing = 0;
    for (let i = 0; i < n && pure; i++) {
      const v = key[rows[i] as number] as number;
      if (column.kind === "numeric" ? Number.isNaN(v) : v < 0) {
        missing++;
        continue;
      }
      const c = classOf.get(v);
      if (c === undefined) classOf.set(v, y[i] as number);
      else if (c !== y[i]) pure = false;
    }
    if (pure && missing === 0) {
      return `target leak: each of its ${distinct} values always goes with a single class`;
    }
  }
  if (column.kind === "numeric" && task === "binary") {
    // One threshold separates the classes exactly when their value ranges do not overlap (ties included).
    const lo = [Infinity, Infinity];
    const hi = [-Infinity, -Infinity];
    for (let i = 0; i < n; i++) {
      const v = column.values[rows[i] as number] as number;
      if (Number.isNaN(v)) return null;
      const c = y[i] as number;
      if (v < (lo[c] as number)) lo[c] = v;
      if (v > (hi[c] as number)) hi[c] = v;
    }
    if ((hi[0] as number) < (lo[1] as number) || (hi[1] as number) < (lo[0] as number))
      return "target leak: one threshold on it separates the two classes perfectly";
  }
  return null;
}

/** A column (almost) exactly linear in the target. */
function regressionLeak(column: Column, rows: Uint32Array, y: Float64Array): string | null {
  if (column.kind !== "numeric") return null;
  let n = 0;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < rows.length; i++) {
    const x = column.values[rows[i] as number] as number;
    if (Number.isNaN(x)) return null;
    n++;
    sx += x;
    sy += y[i] as number;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < rows.length; i++) {
    const dx = (column.values[rows[i] as number] as number) - mx;
    const dy = (y[i] as number) - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return null;
  const corr = sxy / Math.sqrt(sxx * syy);
  return Math.abs(corr) > 0.9999 ? `target leak: correlation ${corr.toFixed(5)} with the target` : null;
}
