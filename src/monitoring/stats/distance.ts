// Distribution distances for drift (Wasserstein, Jensen–Shannon, PSI, KL, Hellinger) with Evidently's binning.
import { categoryCounts, checkThreshold, cleanSorted, countDistinctSorted, meanStd } from "./sample.ts";
import { sweepSorted } from "./sweep.ts";
import type { DriftResult, TestOptions } from "./types.ts";

/** W₁ = ∫ |F_a − F_b| dx between two sorted samples, by one merge pass (scipy.stats.wasserstein_distance). */
export function wassersteinSorted(a: Float64Array, b: Float64Array): number {
  return sweepSorted(a, b).wasserstein;
}

/**
 * Wasserstein distance divided by the reference standard deviation (ddof 0, floored at 0.001), Evidently's
 * "wasserstein" test. Drift when the normalised distance ≥ threshold (0.1). No p-value.
 *
 * @example
 * wassersteinTest(reference, current).statistic; // 0.25 = the distributions are a quarter of a std apart
 */
export function wassersteinTest(
  reference: Float64Array,
  current: Float64Array,
  options: TestOptions = {},
): DriftResult {
  return wassersteinNormSorted(cleanSorted(reference, "reference"), cleanSorted(current, "current"), options);
}

export function wassersteinNormSorted(
  ref: Float64Array,
  cur: Float64Array,
  options: TestOptions & { readonly distance?: number } = {},
): DriftResult {
  const threshold = checkThreshold(options.threshold ?? 0.1);
  const norm = Math.max(meanStd(ref).std, 0.001);
  // A caller that already swept both samples (for KS) passes the raw distance instead of sweeping again.
  const statistic = (options.distance ?? wassersteinSorted(ref, cur)) / norm;
  return { test: "wasserstein", statistic, pValue: null, threshold, drifted: statistic >= threshold };
}

/** numpy.histogram_bin_edges(values, bins="sturges") for a sorted, non-empty sample. */
export function sturgesEdgesSorted(sorted: Float64Array): Float64Array {
  return sturgesEdges(sorted[0]!, sorted[sorted.length - 1]!, sorted.length);
}

function sturgesEdges(lo: number, hi: number, n: number): Float64Array {
  const width = (hi - lo) / (Math.log2(n) + 1);
  // numpy widens a zero range to ±0.5 around the single value, with one bin.
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

/** First index with sorted[i] >= x (side "left") or > x (side "right"). */
function searchSorted(sorted: Float64Array, x: number, right: boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid]!;
    if (v < x || (right && v === x)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** numpy.histogram(sorted, edges) counts: half-open bins, the last one closed. */
export function histogramSorted(sorted: Float64Array, edges: Float64Array): Float64Array {
  const bins = edges.length - 1;
  const counts = new Float64Array(bins);
  let left = searchSorted(sorted, edges[0]!, false);
  for (let k = 0; k < bins; k++) {
    const right = searchSorted(sorted, edges[k + 1]!, k === bins - 1);
    counts[k] = right - left;
    left = right;
  }
  return counts;
}

/** Bucket shares of reference and current, the inputs of PSI, KL and Jensen–Shannon. */
export interface BinnedShares {
  readonly reference: Float64Array;
  readonly current: Float64Array;
}

/**
 * Evidently's get_binned_data: for numeric columns whose reference has more than 20 distinct values, Sturges
 * bins over the pooled sample; otherwise one bucket per distinct value. With `fillZeroes`, empty buckets get
 * min(non-zero share)/10⁶ when that minimum is ≤ 10⁻⁴, else 10⁻⁴, so logarithms stay finite.
 */
export function binnedSharesSorted(ref: Float64Array, cur: Float64Array, fillZeroes: boolean): BinnedShares {
  let r: Float64Array;
  let c: Float64Array;
  if (countDistinctSorted(ref) > 20) {
    const edges = sturgesEdges(
      Math.min(ref[0]!, cur[0]!),
      Math.max(ref[ref.length - 1]!, cur[cur.length - 1]!),
      ref.length + cur.length,
    );
    r = histogramSorted(ref, edges);
    c = histogramSorted(cur, edges);
  } else {
    const counts = categoryCounts(ref, cur);
    r = counts.reference;
    c = counts.current;
  }
  for (let k = 0; k < r.length; k++) r[k] = r[k]! / ref.length;
  for (let k = 0; k < c.length; k++) c[k] = c[k]! / cur.length;
  if (fillZeroes) {
    fillEmpty(r);
    fillEmpty(c);
  }
  return { reference: r, current: c };
}

/** Shares of categories (codes, -1 = missing) on each side, aligned over the union of categories. */
export function categoryShares(
  reference: Int32Array,
  current: Int32Array,
  fillZeroes: boolean,
): BinnedShares {
  const counts = categoryCounts(reference, current);
  const r = counts.reference.map((x) => x / counts.referenceTotal);
  const c = counts.current.map((x) => x / counts.currentTotal);
  if (fillZeroes) {
    fillEmpty(r);
    fillEmpty(c);
  }
  return { reference: r, current: c };
}

function fillEmpty(shares: Float64Array): void {
  let min = Number.POSITIVE_INFINITY;
  for (const s of shares) if (s !== 0 && s < min) min = s;
  const eps = min <= 0.0001 ? min / 1e6 : 0.0001;
  for (let k = 0; k < shares.length; k++) if (shares[k] === 0) shares[k] = eps;
}

const relEntr = (x: number, y: number): number =>
  x > 0 && y > 0 ? x * Math.log(x / y) : x === 0 && y >= 0 ? 0 : Number.POSITIVE_INFINITY;

function normalised(p: Float64Array): Float64Array {
  let s = 0;
  for (const x of p) s += x;
  return p.map((x) => x / s);
}

/** Jensen–Shannon distance with natural logarithm (scipy.spatial.distance.jensenshannon, base e). */
export function jensenShannonDistance(p: Float64Array, q: Float64Array): number {
  const pn = normalised(p);
  const qn = normalised(q);
  let left = 0;
  let right = 0;
  for (let k = 0; k < pn.length; k++) {
    const m = (pn[k]! + qn[k]!) / 2;
    left += relEntr(pn[k]!, m);
    right += relEntr(qn[k]!, m);
  }
  return Math.sqrt((left + right) / 2);
}

/** KL(p ‖ q) with both vectors normalised to sum 1 (scipy.stats.entropy(p, q)). */
export function klDivergence(p: Float64Array, q: Float64Array): number {
  const pn = normalised(p);
  const qn = normalised(q);
  let s = 0;
  for (let k = 0; k < pn.length; k++) s += relEntr(pn[k]!, qn[k]!);
  return s;
}

/** Population stability index Σ (ref − cur) · ln(ref / cur) over buckets. */
export function populationStabilityIndex(ref: Float64Array, cur: Float64Array): number {
  let s = 0;
  for (let k = 0; k < ref.length; k++) s += (ref[k]! - cur[k]!) * Math.log(ref[k]! / cur[k]!);
  return s;
}

type Column = Float64Array | Int32Array;

function shares(reference: Column, current: Column, fillZeroes: boolean): BinnedShares {
  if (reference instanceof Int32Array || current instanceof Int32Array) {
    return categoryShares(Int32Array.from(reference), Int32Array.from(current), fillZeroes);
  }
  return binnedSharesSorted(cleanSorted(reference, "reference"), cleanSorted(current, "current"), fillZeroes);
}

function distanceResult(test: DriftResult["test"], statistic: number, options: TestOptions): DriftResult {
  const threshold = checkThreshold(options.threshold ?? 0.1);
  return { test, statistic, pValue: null, threshold, drifted: statistic >= threshold };
}

/**
 * Jensen–Shannon distance on Evidently's buckets (no zero filling). Drift when ≥ threshold (0.1).
 *
 * @example
 * jensenShannonTest(Int32Array.of(0, 0, 1), Int32Array.of(0, 1, 1)).statistic; // category codes or Float64Array
 */
export function jensenShannonTest(
  reference: Column,
  current: Column,
  options: TestOptions = {},
): DriftResult {
  const s = shares(reference, current, false);
  return distanceResult("jensenshannon", jensenShannonDistance(s.reference, s.current), options);
}

/**
 * PSI on Evidently's buckets with empty buckets filled. Drift when ≥ threshold (0.1).
 *
 * @example
 * psiTest(reference, current, { threshold: 0.2 }).drifted; // the common "significant shift" rule of thumb
 */
export function psiTest(reference: Column, current: Column, options: TestOptions = {}): DriftResult {
  const s = shares(reference, current, true);
  return distanceResult("psi", populationStabilityIndex(s.reference, s.current), options);
}

/** KL divergence KL(reference ‖ current) on Evidently's filled buckets. Drift when ≥ threshold (0.1). */
export function klDivergenceTest(reference: Column, current: Column, options: TestOptions = {}): DriftResult {
  const s = shares(reference, current, true);
  return distanceResult("kl_div", klDivergence(s.reference, s.current), options);
}

/**
 * Hellinger distance √(1 − Σ √(p·q)), as Evidently: categories for categorical columns; for numeric ones,
 * Sturges bins over the distinct pooled values. Deviation: two samples of one identical value give 0 (Evidently
 * divides by a zero range and reports 1). Drift when ≥ threshold (0.1).
 */
export function hellingerTest(reference: Column, current: Column, options: TestOptions = {}): DriftResult {
  let bc = 0;
  if (reference instanceof Int32Array || current instanceof Int32Array) {
    const s = categoryShares(Int32Array.from(reference), Int32Array.from(current), false);
    for (let k = 0; k < s.reference.length; k++) bc += Math.sqrt(s.reference[k]! * s.current[k]!);
  } else {
    const ref = cleanSorted(reference, "reference");
    const cur = cleanSorted(current, "current");
    const lo = Math.min(ref[0]!, cur[0]!);
    const hi = Math.max(ref[ref.length - 1]!, cur[cur.length - 1]!);
    if (hi === lo) bc = 1;
    else {
      const edges = sturgesEdges(lo, hi, countDistinctSorted(mergeSorted(ref, cur)));
      const h1 = histogramSorted(ref, edges);
      const h2 = histogramSorted(cur, edges);
      // Evidently multiplies densities by an average bin width; with equal-width bins this is Σ √(p·q).
      const bins = h1.length;
      const binWidth = (hi - lo) / bins;
      for (let k = 0; k < bins; k++) {
        const w = edges[k + 1]! - edges[k]!;
        const d1 = h1[k]! / ref.length / w;
        const d2 = h2[k]! / cur.length / w;
        bc += Math.sqrt(d1 * d2) * binWidth;
      }
    }
  }
  const statistic = Math.sqrt(1 - Math.min(1, Math.max(0, bc)));
  return distanceResult("hellinger", statistic, options);
}

function mergeSorted(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = a[i]! <= b[j]! ? a[i++]! : b[j++]!;
  while (i < a.length) out[k++] = a[i++]!;
  while (j < b.length) out[k++] = b[j++]!;
  return out;
}
