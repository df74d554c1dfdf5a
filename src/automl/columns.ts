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
  const counts = new Map<number, number>();
  const key = column.kind === "numeric" ? column.values : column.codes;
  let present = 0;
  let allIntegers = true;
  for (let i = 0; i < n; i++) {
    const v = key[rows[i] as number] as number;
    if (column.kind === "numeric" ? Number.isNaN(v) : v < 0) continue;
    present++;
    counts.set(v, (counts.get(v) ?? 0) + 1);
    if (!Number.isInteger(v)) allIntegers = false;
  }
  if (present === 0) return { allMissing: true, dropReason: "every value is missing" };
  if (counts.size === 1) {
    const only = [...counts.keys()][0] as number;
    const shown = column.kind === "numeric" ? String(only) : JSON.stringify(column.dictionary[only]);
    const gaps = present < n ? ` (${n - present} rows missing)` : "";
    return { allMissing: false, dropReason: `constant: every present value is ${shown}${gaps}` };
  }
  if (n >= MIN_ROWS_FOR_ID && present === n && counts.size === n) {
    if (column.kind === "categorical") {
      return { allMissing: false, dropReason: "id-like: a distinct text value on every row" };
    }
    // A distinct integer per row, counting along the file or named like a key, is a row number, not a measurement.
    if (allIntegers && (ID_NAME.test(column.name) || monotonic(column.values))) {
      return { allMissing: false, dropReason: "id-like: a distinct integer on every row (a row number)" };
    }
  }
  // Category-set splits on a text column with mostly unique values memorise rows instead of learning.
  if (column.kind === "categorical" && n >= MIN_ROWS_FOR_ID && counts.size > HIGH_CARDINALITY * present) {
    return {
      allMissing: false,
      dropReason: `high-cardinality text: ${counts.size} distinct values in ${present} rows, too many to learn from`,
    };
  }
  if (n >= MIN_ROWS_FOR_LEAK) {
    const leak =
      task === "regression"
        ? regressionLeak(column, rows, y)
        : classificationLeak(column, rows, y, counts.size, task);
    if (leak) return { allMissing: false, dropReason: leak };
  }
  return { allMissing: false, dropReason: null };
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
  if (pure && missing === 0 && distinct <= Math.max(20, n / 10)) {
    return `target leak: each of its ${distinct} values always goes with a single class`;
  }
  if (column.kind === "numeric" && task === "binary" && missing === 0) {
    const order = Array.from(rows, (_, i) => i).sort(
      (a, b) => (column.values[rows[a] as number] as number) - (column.values[rows[b] as number] as number),
    );
    let changes = 0;
    for (let j = 1; j < n; j++) {
      const a = order[j - 1] as number;
      const b = order[j] as number;
      if (y[a] === y[b]) continue;
      // Two classes on one value cannot be separated by any threshold.
      if (column.values[rows[a] as number] === column.values[rows[b] as number]) return null;
      changes++;
      if (changes > 1) return null;
    }
    if (changes === 1) return "target leak: one threshold on it separates the two classes perfectly";
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
