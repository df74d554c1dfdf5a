// Ad-hoc drift between a reference and a current table: Evidently's DataDriftPreset, per column and for the dataset.
import type { Column, Frame } from "../learn/frame.ts";
import { alignCategorical } from "./align.ts";
import {
  columnDrift,
  datasetDrift,
  type ColumnKind,
  type DriftResult,
  type DriftTestName,
} from "./stats/index.ts";

export interface ColumnHistogram {
  /** Bin labels: numeric ranges "[a, b)" or category values. */
  readonly labels: readonly string[];
  /** Share of non-missing rows in each bin. */
  readonly reference: readonly number[];
  readonly current: readonly number[];
}

export interface ColumnReport {
  readonly column: string;
  readonly kind: ColumnKind;
  /** null when one side has no non-missing value: "not enough data", never a false alarm. */
  readonly result: DriftResult | null;
  readonly missingShare: { readonly reference: number; readonly current: number };
  /** Categories only the current data has. */
  readonly newCategories: readonly string[];
  readonly histogram: ColumnHistogram;
}

export interface DriftReport {
  readonly referenceRows: number;
  readonly currentRows: number;
  readonly columns: readonly ColumnReport[];
  /** Columns of the reference that the current data lacks, and the other way round: schema drift, not a crash. */
  readonly missingColumns: readonly string[];
  readonly extraColumns: readonly string[];
  readonly dataset: {
    readonly driftedColumns: number;
    readonly totalColumns: number;
    readonly share: number;
    readonly drifted: boolean;
  };
}

export interface DriftReportOptions {
  /** Only these columns (default: every column both tables have). */
  readonly columns?: readonly string[];
  /** Per-column test override, e.g. { delay: "psi" }. */
  readonly tests?: Readonly<Record<string, DriftTestName>>;
  /** Per-column threshold override; `"*"` applies to every column. */
  readonly thresholds?: Readonly<Record<string, number>>;
  /** Share of drifted columns at which the dataset counts as drifted (Evidently: 0.5). */
  readonly shareThreshold?: number;
}

const HISTOGRAM_BINS = 20;
const TOP_CATEGORIES = 20;

/**
 * @example
 * const report = buildDriftReport(january, june);
 * console.log(report.dataset.share, report.columns.map((c) => [c.column, c.result.drifted]));
 */
export function buildDriftReport(
  reference: Frame,
  current: Frame,
  options: DriftReportOptions = {},
): DriftReport {
  const refCols = new Map(reference.columns.map((c) => [c.name, c]));
  const curCols = new Map(current.columns.map((c) => [c.name, c]));
  const names = options.columns ?? reference.columns.map((c) => c.name).filter((n) => curCols.has(n));
  const columns: ColumnReport[] = [];
  for (const name of names) {
    const ref = refCols.get(name);
    const cur = curCols.get(name);
    if (!ref || !cur) continue;
    const threshold = options.thresholds?.[name] ?? options.thresholds?.["*"];
    const test = options.tests?.[name];
    const testOptions = {
      ...(threshold !== undefined && { threshold }),
      ...(test !== undefined && { test }),
    };
    columns.push(columnReport(ref, cur, testOptions));
  }
  const results = columns.flatMap((c) => (c.result ? [c.result] : []));
  const dataset =
    results.length > 0
      ? datasetDrift(results, options.shareThreshold ?? 0.5)
      : { driftedColumns: 0, totalColumns: 0, share: 0, drifted: false };
  return {
    referenceRows: reference.nRows,
    currentRows: current.nRows,
    columns,
    missingColumns: [...refCols.keys()].filter((n) => !curCols.has(n)),
    extraColumns: [...curCols.keys()].filter((n) => !refCols.has(n)),
    dataset,
  };
}

function columnReport(
  ref: Column,
  cur: Column,
  testOptions: { threshold?: number; test?: DriftTestName },
): ColumnReport {
  if (ref.kind === "categorical" || cur.kind === "categorical") {
    const a = alignCategorical(asCategorical(ref), asCategorical(cur));
    const enough = hasValue(a.reference, (x) => x >= 0) && hasValue(a.current, (x) => x >= 0);
    const result = enough ? columnDrift("categorical", a.reference, a.current, testOptions) : null;
    return {
      column: ref.name,
      kind: "categorical",
      result,
      missingShare: { reference: missingCodes(a.reference), current: missingCodes(a.current) },
      newCategories: a.newValues,
      histogram: categoricalHistogram(a.reference, a.current, a.dictionary),
    };
  }
  const kind: ColumnKind = isBinary(ref.values, cur.values) ? "binary" : "numeric";
  const enough = hasValue(ref.values, Number.isFinite) && hasValue(cur.values, Number.isFinite);
  const result = enough ? columnDrift(kind, ref.values, cur.values, testOptions) : null;
  return {
    column: ref.name,
    kind,
    result,
    missingShare: { reference: missingNumbers(ref.values), current: missingNumbers(cur.values) },
    newCategories: [],
    histogram: numericHistogram(ref.values, cur.values),
  };
}

/** A numeric column compared with a categorical one is compared as text (a type change is itself drift). */
function asCategorical(c: Column): {
  kind: "categorical";
  name: string;
  codes: Int32Array;
  dictionary: readonly string[];
} {
  if (c.kind === "categorical") return c;
  const index = new Map<string, number>();
  const dictionary: string[] = [];
  const codes = Int32Array.from(c.values, (v) => {
    if (Number.isNaN(v)) return -1;
    const s = String(v);
    let code = index.get(s);
    if (code === undefined) {
      code = dictionary.length;
      index.set(s, code);
      dictionary.push(s);
    }
    return code;
  });
  return { kind: "categorical", name: c.name, codes, dictionary };
}

function hasValue<T extends Float64Array | Int32Array>(values: T, ok: (v: number) => boolean): boolean {
  for (const v of values) if (ok(v)) return true;
  return false;
}

function isBinary(a: Float64Array, b: Float64Array): boolean {
  const seen = new Set<number>();
  for (const arr of [a, b]) {
    for (const v of arr) {
      if (Number.isNaN(v)) continue;
      seen.add(v);
      if (seen.size > 2) return false;
    }
  }
  return true;
}

function missingNumbers(v: Float64Array): number {
  let n = 0;
  for (const x of v) if (!Number.isFinite(x)) n++;
  return v.length === 0 ? 0 : n / v.length;
}

function missingCodes(v: Int32Array): number {
  let n = 0;
  for (const x of v) if (x < 0) n++;
  return v.length === 0 ? 0 : n / v.length;
}

/** Equal-width bins over the combined finite range: what a person compares by eye. */
function numericHistogram(ref: Float64Array, cur: Float64Array): ColumnHistogram {
  let lo = Infinity;
  let hi = -Infinity;
  for (const arr of [ref, cur]) {
    for (const v of arr) {
      if (!Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (lo > hi) return { labels: [], reference: [], current: [] };
  const bins = lo === hi ? 1 : HISTOGRAM_BINS;
  const width = (hi - lo) / bins || 1;
  const count = (arr: Float64Array): number[] => {
    const counts = new Array<number>(bins).fill(0);
    let total = 0;
    for (const v of arr) {
      if (!Number.isFinite(v)) continue;
      const b = Math.min(bins - 1, Math.floor((v - lo) / width));
      counts[b] = (counts[b] ?? 0) + 1;
      total++;
    }
    return counts.map((c) => (total === 0 ? 0 : c / total));
  };
  const labels = Array.from(
    { length: bins },
    (_, i) => `[${fmt(lo + i * width)}, ${fmt(lo + (i + 1) * width)})`,
  );
  return { labels, reference: count(ref), current: count(cur) };
}

/** Shares of the most frequent categories (by reference then current frequency); the rest are summed as "other". */
function categoricalHistogram(
  ref: Int32Array,
  cur: Int32Array,
  dictionary: readonly string[],
): ColumnHistogram {
  const share = (codes: Int32Array): Float64Array => {
    const counts = new Float64Array(dictionary.length);
    let total = 0;
    for (const c of codes) {
      if (c < 0) continue;
      counts[c] = (counts[c] ?? 0) + 1;
      total++;
    }
    if (total > 0) for (let i = 0; i < counts.length; i++) counts[i] = (counts[i] ?? 0) / total;
    return counts;
  };
  const r = share(ref);
  const c = share(cur);
  const order = Array.from(dictionary.keys()).sort(
    (a, b) => (r[b] ?? 0) + (c[b] ?? 0) - ((r[a] ?? 0) + (c[a] ?? 0)),
  );
  const top = order.slice(0, TOP_CATEGORIES);
  const labels = top.map((i) => dictionary[i] ?? "");
  const refShares = top.map((i) => r[i] ?? 0);
  const curShares = top.map((i) => c[i] ?? 0);
  if (order.length > TOP_CATEGORIES) {
    labels.push(`other (${order.length - TOP_CATEGORIES})`);
    refShares.push(1 - refShares.reduce((a, b) => a + b, 0));
    curShares.push(1 - curShares.reduce((a, b) => a + b, 0));
  }
  return { labels, reference: refShares, current: curShares };
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(4);
}
