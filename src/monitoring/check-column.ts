// One column of a window against its precomputed reference: drift test, missing share, out-of-schema values.
import { LoopmlError } from "../errors.ts";
import type { ColumnHistogram } from "./drift-report.ts";
import type { CategoricalReference, NumericReference } from "./reference.ts";
import { chiSquareFromCounts, fisherExact2x2 } from "./stats/categorical.ts";
import {
  histogramSorted,
  jensenShannonDistance,
  klDivergence,
  populationStabilityIndex,
} from "./stats/distance.ts";
import { chooseDefaultTest, runDriftTest, type ColumnKind } from "./stats/default-test.ts";
import { ksFromStatistic } from "./stats/ks.ts";
import { normSf } from "./stats/special.ts";
import { sortedFinite } from "./stats/sort.ts";
import { sweepSorted } from "./stats/sweep.ts";
import type { DriftResult, DriftTestName } from "./stats/types.ts";

/** A column of the current window: numbers (NaN = missing), strings (null = missing) or dictionary codes. */
export type CurrentColumn =
  | Float64Array
  | readonly (string | null)[]
  | { readonly codes: Int32Array; readonly dictionary: readonly string[] };

export interface ColumnCheck {
  readonly column: string;
  readonly kind: ColumnKind;
  /** null: not enough data on one side, or the column changed type (see `note`). Never a false alarm. */
  readonly result: DriftResult | null;
  readonly note?: string;
  readonly missingShare: { readonly reference: number; readonly current: number };
  /** Categories only the current window has, and the share of its rows that carry one. */
  readonly newCategories: readonly string[];
  readonly newCategoryShare: number;
  /** Numeric values outside the reference's [min, max]. */
  readonly outOfRange: { readonly below: number; readonly above: number; readonly share: number } | null;
  readonly histogram: ColumnHistogram;
}

export interface CheckOptions {
  readonly test?: DriftTestName;
  readonly threshold?: number;
}

const HISTOGRAM_BINS = 20;
const TOP_CATEGORIES = 20;
const COUNT_TESTS = new Set<DriftTestName>([
  "chisquare",
  "z",
  "jensenshannon",
  "psi",
  "kl_div",
  "hellinger",
  "fisher_exact",
]);

export function checkNumeric(
  ref: NumericReference,
  current: Float64Array,
  options: CheckOptions = {},
): ColumnCheck {
  const cur = sortedFinite(current);
  const missingShare = {
    reference: share(ref.missing, ref.missing + ref.count),
    current: share(current.length - cur.length, current.length),
  };
  const base = { column: ref.name, missingShare, newCategories: [], newCategoryShare: 0 };
  if (ref.count === 0 || cur.length === 0) {
    return {
      ...base,
      kind: "numeric",
      result: null,
      note: "not enough data",
      outOfRange: null,
      histogram: emptyHistogram,
    };
  }
  const below = lowerBound(cur, ref.min);
  const above = cur.length - upperBound(cur, ref.max);
  const outOfRange = { below, above, share: (below + above) / cur.length };
  const counts = ref.valueCounts ? valueCountsOf(ref.valueCounts, cur) : undefined;
  const nUnique = counts ? counts.reference.length : FEW_PLUS;
  const kind: ColumnKind = counts && counts.reference.length <= 2 ? "binary" : "numeric";
  const choice = options.test
    ? { test: options.test, threshold: options.threshold }
    : { test: chooseDefaultTest(kind, nUnique, ref.count).test, threshold: options.threshold };
  const t = choice.threshold;
  const result =
    counts && COUNT_TESTS.has(choice.test) && choice.test !== "hellinger"
      ? countTest(choice.test, counts.reference, counts.current, t)
      : sampleTest(choice.test, ref, cur, t);
  const histogram = counts
    ? countHistogram(counts.labels, counts.reference, counts.current)
    : numericHistogram(ref, cur);
  return { ...base, kind, result, outOfRange, histogram };
}

const FEW_PLUS = 1_000;

export function checkCategorical(
  ref: CategoricalReference,
  current:
    readonly (string | null)[] | { readonly codes: Int32Array; readonly dictionary: readonly string[] },
  options: CheckOptions = {},
): ColumnCheck {
  const index = new Map(ref.dictionary.map((v, i) => [v, i]));
  const dictionary = [...ref.dictionary];
  const curCounts: number[] = new Array<number>(dictionary.length).fill(0);
  const add = (value: string, n: number): void => {
    let code = index.get(value);
    if (code === undefined) {
      code = dictionary.length;
      index.set(value, code);
      dictionary.push(value);
      curCounts.push(0);
    }
    curCounts[code]! += n;
  };
  let missing = 0;
  let total: number;
  if (Array.isArray(current)) {
    const values = current as readonly (string | null)[];
    total = values.length;
    const local = new Map<string, number>();
    for (const v of values) {
      if (v === null || v === undefined) missing++;
      else local.set(v, (local.get(v) ?? 0) + 1);
    }
    for (const [v, n] of local) add(v, n);
  } else {
    const { codes, dictionary: dict } = current as { codes: Int32Array; dictionary: readonly string[] };
    total = codes.length;
    const local = new Float64Array(dict.length);
    for (const c of codes) {
      if (c < 0) missing++;
      else local[c]!++;
    }
    local.forEach((n, c) => {
      if (n > 0) add(dict[c]!, n);
    });
  }
  const newCategories = dictionary.slice(ref.dictionary.length);
  const present = total - missing;
  let newRows = 0;
  for (let k = ref.dictionary.length; k < dictionary.length; k++) newRows += curCounts[k]!;
  const missingShare = {
    reference: share(ref.missing, ref.missing + ref.count),
    current: share(missing, total),
  };
  const refCounts = Float64Array.from(dictionary, (_, k) => ref.counts[k] ?? 0);
  const curCountsF = Float64Array.from(curCounts);
  const histogram = topHistogram(dictionary, refCounts, curCountsF);
  const base = {
    column: ref.name,
    missingShare,
    newCategories,
    newCategoryShare: share(newRows, present),
    outOfRange: null,
    histogram,
  };
  if (ref.count === 0 || present === 0)
    return { ...base, kind: "categorical", result: null, note: "not enough data" };
  // Categories absent on both sides carry no information (and would give 0/0 in chi-square).
  const keep = dictionary.map((_, k) => k).filter((k) => refCounts[k]! + curCountsF[k]! > 0);
  const r = Float64Array.from(keep, (k) => refCounts[k]!);
  const c = Float64Array.from(keep, (k) => curCountsF[k]!);
  const kind: ColumnKind = keep.length <= 2 ? "binary" : "categorical";
  const test = options.test ?? chooseDefaultTest(kind, keep.length, ref.count).test;
  if (!COUNT_TESTS.has(test)) {
    return {
      ...base,
      kind,
      result: null,
      note: `the ${test} test needs numeric values; this column is categorical`,
    };
  }
  return { ...base, kind, result: countTest(test, r, c, options.threshold) };
}

/** Tests on aligned count vectors: exact whatever the reference size, since counts are stored in full. */
function countTest(test: DriftTestName, r: Float64Array, c: Float64Array, threshold?: number): DriftResult {
  const opts = threshold === undefined ? {} : { threshold };
  switch (test) {
    case "chisquare":
      return chiSquareFromCounts(r, c, opts);
    case "z":
      return zFromCounts(r, c, threshold ?? 0.05);
    case "fisher_exact": {
      const last = r.length - 1;
      const rt = sum(r);
      const ct = sum(c);
      const refOnes = last === 0 ? 0 : r[last]!;
      const curOnes = last === 0 ? 0 : c[last]!;
      if (r.length > 2) {
        throw new LoopmlError(
          "INVALID_ARGUMENT",
          `Fisher's exact test needs a binary column, found ${r.length} values.`,
        );
      }
      const { oddsRatio, pValue } = fisherExact2x2([curOnes, ct - curOnes, refOnes, rt - refOnes]);
      const th = threshold ?? 0.05;
      return { test, statistic: oddsRatio, pValue, threshold: th, drifted: pValue < th };
    }
    default: {
      const fill = test === "psi" || test === "kl_div";
      const p = sharesOf(r, fill);
      const q = sharesOf(c, fill);
      const statistic =
        test === "jensenshannon"
          ? jensenShannonDistance(p, q)
          : test === "psi"
            ? populationStabilityIndex(p, q)
            : test === "kl_div"
              ? klDivergence(p, q)
              : Math.sqrt(
                  1 -
                    Math.min(
                      1,
                      p.reduce((s, x, k) => s + Math.sqrt(x * q[k]!), 0),
                    ),
                );
      const th = threshold ?? 0.1;
      return { test, statistic, pValue: null, threshold: th, drifted: statistic >= th };
    }
  }
}

/** Two-proportion z-test on the first category's share, as the `z` drift test. */
function zFromCounts(r: Float64Array, c: Float64Array, threshold: number): DriftResult {
  const n1 = sum(r);
  const n2 = sum(c);
  if (r.length === 1) return { test: "z", statistic: 0, pValue: 1, threshold, drifted: false };
  const p1 = r[0]! / n1;
  const p2 = c[0]! / n2;
  const pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
  const statistic = (p1 - p2) / Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  const pValue = Math.min(1, 2 * normSf(Math.abs(statistic)));
  return { test: "z", statistic, pValue, threshold, drifted: pValue < threshold };
}

/** Tests that need values: the reference side is the stored quantile sample (the column itself when small). */
function sampleTest(
  test: DriftTestName,
  ref: NumericReference,
  cur: Float64Array,
  threshold?: number,
): DriftResult {
  const sample = ref.sample;
  switch (test) {
    case "ks": {
      const th = threshold ?? 0.05;
      const s = sweepSorted(sample, cur);
      // The p-value uses the true reference count: the sample only stands in for the reference's CDF.
      const ks = ksFromStatistic(Math.max(s.dPlus, s.dMinus), ref.count, cur.length);
      return { test, statistic: ks.statistic, pValue: ks.pValue, threshold: th, drifted: ks.pValue <= th };
    }
    case "wasserstein": {
      const th = threshold ?? 0.1;
      const statistic = sweepSorted(sample, cur).wasserstein / Math.max(ref.std, 0.001);
      return { test, statistic, pValue: null, threshold: th, drifted: statistic >= th };
    }
    case "jensenshannon":
    case "psi":
    case "kl_div": {
      // Evidently's binning: Sturges bins over the pooled range and the pooled count.
      const edges = sturgesEdges(
        Math.min(ref.min, cur[0]!),
        Math.max(ref.max, cur[cur.length - 1]!),
        ref.count + cur.length,
      );
      const fill = test !== "jensenshannon";
      const p = sharesOf(histogramSorted(sample, edges), fill);
      const q = sharesOf(histogramSorted(cur, edges), fill);
      const statistic =
        test === "jensenshannon"
          ? jensenShannonDistance(p, q)
          : test === "psi"
            ? populationStabilityIndex(p, q)
            : klDivergence(p, q);
      const th = threshold ?? 0.1;
      return { test, statistic, pValue: null, threshold: th, drifted: statistic >= th };
    }
    default:
      return runDriftTest(test, sample, cur, threshold === undefined ? {} : { threshold });
  }
}

/** numpy.histogram_bin_edges(bins="sturges") from the pooled range and count. */
function sturgesEdges(lo: number, hi: number, n: number): Float64Array {
  const width = (hi - lo) / (Math.log2(n) + 1);
  const bins = width > 0 ? Math.ceil((hi - lo) / width) : 1;
  if (!(hi > lo)) {
    lo -= 0.5;
    hi += 0.5;
  }
  const edges = new Float64Array(bins + 1);
  const step = (hi - lo) / bins;
  for (let k = 0; k < bins; k++) edges[k] = k * step + lo;
  edges[bins] = hi;
  return edges;
}

/** Shares of a count vector; with `fill`, empty buckets get Evidently's epsilon so logarithms stay finite. */
function sharesOf(counts: Float64Array, fill: boolean): Float64Array {
  const total = sum(counts);
  const p = counts.map((x) => x / total);
  if (fill) {
    let min = Number.POSITIVE_INFINITY;
    for (const s of p) if (s !== 0 && s < min) min = s;
    const eps = min <= 0.0001 ? min / 1e6 : 0.0001;
    for (let k = 0; k < p.length; k++) if (p[k] === 0) p[k] = eps;
  }
  return p;
}

/** Reference and current counts over the union of a few-valued column's values. */
function valueCountsOf(
  few: NonNullable<NumericReference["valueCounts"]>,
  cur: Float64Array,
): { labels: string[]; reference: Float64Array; current: Float64Array } {
  const counts = new Map<number, [number, number]>();
  few.values.forEach((v, k) => counts.set(v, [few.counts[k]!, 0]));
  for (let i = 0; i < cur.length;) {
    const v = cur[i]!;
    let j = i;
    while (j < cur.length && cur[j] === v) j++;
    const e = counts.get(v);
    if (e) e[1] = j - i;
    else counts.set(v, [0, j - i]);
    i = j;
  }
  const keys = [...counts.keys()].sort((a, b) => a - b);
  return {
    labels: keys.map(String),
    reference: Float64Array.from(keys, (k) => counts.get(k)![0]),
    current: Float64Array.from(keys, (k) => counts.get(k)![1]),
  };
}

function numericHistogram(ref: NumericReference, cur: Float64Array): ColumnHistogram {
  const lo = Math.min(ref.min, cur[0]!);
  const hi = Math.max(ref.max, cur[cur.length - 1]!);
  const bins = lo === hi ? 1 : HISTOGRAM_BINS;
  const width = (hi - lo) / bins || 1;
  const edges = Float64Array.from({ length: bins + 1 }, (_, k) => (k === bins ? hi : lo + k * width));
  const r = histogramSorted(ref.sample, edges);
  const c = histogramSorted(cur, edges);
  const labels = Array.from({ length: bins }, (_, k) => `[${fmt(edges[k]!)}, ${fmt(edges[k + 1]!)})`);
  return { labels, reference: [...sharesOf(r, false)], current: [...sharesOf(c, false)] };
}

function countHistogram(labels: string[], r: Float64Array, c: Float64Array): ColumnHistogram {
  return { labels, reference: [...sharesOf(r, false)], current: [...sharesOf(c, false)] };
}

/** The most frequent categories on either side; the rest summed as "other". */
function topHistogram(dictionary: readonly string[], r: Float64Array, c: Float64Array): ColumnHistogram {
  const rs = sum(r) > 0 ? sharesOf(r, false) : r;
  const cs = sum(c) > 0 ? sharesOf(c, false) : c;
  const order = dictionary.map((_, k) => k).filter((k) => r[k]! + c[k]! > 0);
  order.sort((a, b) => rs[b]! + cs[b]! - (rs[a]! + cs[a]!));
  const top = order.slice(0, TOP_CATEGORIES);
  const labels = top.map((k) => dictionary[k]!);
  const reference = top.map((k) => rs[k]!);
  const current = top.map((k) => cs[k]!);
  if (order.length > TOP_CATEGORIES) {
    labels.push(`other (${order.length - TOP_CATEGORIES})`);
    reference.push(Math.max(0, 1 - reference.reduce((a, b) => a + b, 0)));
    current.push(Math.max(0, 1 - current.reduce((a, b) => a + b, 0)));
  }
  return { labels, reference, current };
}

const emptyHistogram: ColumnHistogram = { labels: [], reference: [], current: [] };

function lowerBound(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function sum(a: Float64Array): number {
  let s = 0;
  for (const x of a) s += x;
  return s;
}

function share(part: number, total: number): number {
  return total === 0 ? 0 : part / total;
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(4);
}
