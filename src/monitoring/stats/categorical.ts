// Tests for categorical and few-valued columns: chi-square, two-proportion z-test, Fisher's exact test.
import { LoopmlError } from "../../errors.ts";
import { categoryCounts, checkThreshold } from "./sample.ts";
import { chi2Sf, hypergeomPmf, normSf } from "./special.ts";
import type { DriftResult, TestOptions } from "./types.ts";

type Column = Int32Array | Float64Array;

/**
 * Chi-square goodness of fit of current counts against reference frequencies scaled to the current total, as
 * Evidently (scipy.stats.chisquare(observed, expected)). A category absent from the reference gives an infinite
 * statistic and p = 0. With a single category the test is undefined (SciPy returns NaN); we report p = 1, no
 * drift. Drift when p < threshold (0.05).
 *
 * @example
 * chiSquareTest(Int32Array.of(0, 1, 1, 2, -1), Int32Array.of(0, 0, 1, 2)); // -1 is a missing value
 */
export function chiSquareTest(reference: Column, current: Column, options: TestOptions = {}): DriftResult {
  const c = categoryCounts(reference, current);
  return chiSquareFromCounts(c.reference, c.current, options);
}

/** Chi-square test on aligned count vectors (reference counts, current counts per category). */
export function chiSquareFromCounts(
  reference: Float64Array,
  current: Float64Array,
  options: TestOptions = {},
): DriftResult {
  const threshold = checkThreshold(options.threshold ?? 0.05);
  if (reference.length !== current.length) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Chi-square needs one count per category on both sides (got ${reference.length} and ${current.length}).`,
    );
  }
  let rt = 0;
  let ct = 0;
  for (let k = 0; k < reference.length; k++) {
    rt += reference[k]!;
    ct += current[k]!;
  }
  if (!(rt > 0) || !(ct > 0)) {
    throw new LoopmlError("INVALID_ARGUMENT", "Chi-square needs a non-empty reference and current sample.");
  }
  const scale = ct / rt;
  let statistic = 0;
  for (let k = 0; k < reference.length; k++) {
    const expected = reference[k]! * scale;
    const d = current[k]! - expected;
    statistic += expected === 0 ? (d === 0 ? Number.NaN : Number.POSITIVE_INFINITY) : (d * d) / expected;
  }
  const df = reference.length - 1;
  const pValue = df === 0 ? 1 : chi2Sf(statistic, df);
  return { test: "chisquare", statistic, pValue, threshold, drifted: pValue < threshold };
}

/**
 * Two-proportion z-test on the share of the first (smallest) category, as Evidently's "z" test for binary
 * columns. The p-value is 2·P(Z > |z|), computed from the upper tail directly (Evidently writes 2·(1 − Φ(|z|)),
 * which loses digits below 1e-10). Identical constant samples give z = 0, p = 1. Drift when p < threshold (0.05).
 *
 * @example
 * zTest(Int32Array.of(0, 1, 1, 1), Int32Array.of(0, 0, 0, 1)).statistic; // share of code 0: 0.25 vs 0.75
 */
export function zTest(reference: Column, current: Column, options: TestOptions = {}): DriftResult {
  const threshold = checkThreshold(options.threshold ?? 0.05);
  const c = categoryCounts(reference, current);
  const n1 = c.referenceTotal;
  const n2 = c.currentTotal;
  if (c.reference.length === 1) return { test: "z", statistic: 0, pValue: 1, threshold, drifted: false };
  const p1 = c.reference[0]! / n1;
  const p2 = c.current[0]! / n2;
  const pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
  const statistic = (p1 - p2) / Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  const pValue = Math.min(1, 2 * normSf(Math.abs(statistic)));
  return { test: "z", statistic, pValue, threshold, drifted: pValue < threshold };
}

/** Sum of hypergeometric masses from `from` stepping by `dir` while inside the support, stopping once negligible. */
function hypergeomTail(from: number, dir: 1 | -1, total: number, good: number, n: number): number {
  const lo = Math.max(0, n - (total - good));
  const hi = Math.min(n, good);
  let sum = 0;
  let prev = Number.POSITIVE_INFINITY;
  for (let k = from; k >= lo && k <= hi; k += dir) {
    const p = hypergeomPmf(k, total, good, n);
    sum += p;
    // Past the mode the masses only shrink; stop when they no longer change the sum.
    if (p <= prev && p < sum * 1e-17) break;
    prev = p;
  }
  return sum;
}

/** Largest i in [lo, hi] with f(i) ≤ target, for f increasing on that range (SciPy's helper for binomtest). */
function searchIncreasing(f: (i: number) => number, target: number, lo: number, hi: number): number {
  while (lo < hi) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const v = f(mid);
    if (v < target) lo = mid + 1;
    else if (v > target) hi = mid - 1;
    else return mid;
  }
  return f(lo) <= target ? lo : lo - 1;
}

/**
 * Fisher's exact test on a 2×2 table [[a, b], [c, d]], two-sided, as scipy.stats.fisher_exact: the p-value sums
 * the probabilities of all tables (with the same margins) no more likely than the observed one, within a 1e-14
 * relative tolerance. Statistic: the sample odds ratio a·d/(b·c) (NaN when a margin is zero, then p = 1).
 *
 * @example
 * fisherExact2x2([8, 2, 1, 5]); // { oddsRatio: 20, pValue: 0.0349… }
 */
export function fisherExact2x2(table: readonly [number, number, number, number]): {
  oddsRatio: number;
  pValue: number;
} {
  const [a, b, c, d] = table;
  if (table.some((x) => !(Number.isInteger(x) && x >= 0))) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Fisher's exact test needs non-negative integer counts, got [${table.join(", ")}].`,
    );
  }
  if (a + b === 0 || c + d === 0 || a + c === 0 || b + d === 0) return { oddsRatio: Number.NaN, pValue: 1 };
  const oddsRatio = c > 0 && b > 0 ? (a * d) / (c * b) : Number.POSITIVE_INFINITY;
  const n1 = a + b;
  const n2 = c + d;
  const n = a + c;
  const total = n1 + n2;
  const pmf = (k: number): number => hypergeomPmf(k, total, n1, n);
  const mode = Math.floor(((n + 1) * (n1 + 1)) / (total + 2));
  const pExact = pmf(a);
  const pMode = pmf(mode);
  const gamma = 1 + 1e-14;
  if (Math.abs(pExact - pMode) / Math.max(pExact, pMode) <= 1e-14) return { oddsRatio, pValue: 1 };
  let pValue: number;
  if (a < mode) {
    const lower = hypergeomTail(a, -1, total, n1, n);
    if (pmf(n) > pExact * gamma) return { oddsRatio, pValue: lower };
    const guess = searchIncreasing((k) => -pmf(k), -pExact * gamma, mode, n);
    pValue = lower + hypergeomTail(guess + 1, 1, total, n1, n);
  } else {
    const upper = hypergeomTail(a, 1, total, n1, n);
    if (pmf(0) > pExact * gamma) return { oddsRatio, pValue: upper };
    const guess = searchIncreasing(pmf, pExact * gamma, 0, mode);
    pValue = upper + hypergeomTail(guess, -1, total, n1, n);
  }
  return { oddsRatio, pValue: Math.min(pValue, 1) };
}

/**
 * Fisher's exact test for a binary column: the table [[current ones, current zeros], [reference ones, reference
 * zeros]] as Evidently builds it, where "one" is the larger category code. Unlike Evidently, the two samples may
 * differ in size. Drift when p < threshold (0.05).
 */
export function fisherExactTest(reference: Column, current: Column, options: TestOptions = {}): DriftResult {
  const threshold = checkThreshold(options.threshold ?? 0.05);
  const c = categoryCounts(reference, current);
  if (c.reference.length > 2) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Fisher's exact test needs a binary column, found ${c.reference.length} categories. Use chiSquareTest.`,
    );
  }
  const last = c.reference.length - 1;
  const refOnes = last === 0 ? 0 : c.reference[last]!;
  const curOnes = last === 0 ? 0 : c.current[last]!;
  const { oddsRatio, pValue } = fisherExact2x2([
    curOnes,
    c.currentTotal - curOnes,
    refOnes,
    c.referenceTotal - refOnes,
  ]);
  return { test: "fisher_exact", statistic: oddsRatio, pValue, threshold, drifted: pValue < threshold };
}
