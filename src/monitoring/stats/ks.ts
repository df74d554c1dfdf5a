// Two-sample Kolmogorov–Smirnov test with SciPy's ks_2samp(method="auto") p-values: exact, then asymptotic.
import { kolmogorovSf } from "./kolmogorov.ts";
import { sweepSorted } from "./sweep.ts";
import { checkThreshold, cleanSorted } from "./sample.ts";
import type { DriftResult, TestOptions } from "./types.ts";

/** Above this size on either side the exact path count is too slow; SciPy uses the same cut-off. */
const MAX_EXACT_N = 10000;

/** D = sup |F_ref − F_cur| over the pooled sample, by one merge pass over both sorted samples. */
export function ksStatisticSorted(a: Float64Array, b: Float64Array): number {
  const { dPlus, dMinus } = sweepSorted(a, b);
  return dMinus > dPlus ? dMinus : dPlus;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Pr(D ≥ h/n) for equal sizes n: alternating reflection sum, evaluated Horner-style to avoid cancellation. */
function probOutsideSquare(n: number, h: number): number {
  let p = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let term = 1;
    for (let j = 0; j < h; j++) term = ((n - k * h - j) * term) / (n + k * h + j + 1);
    p = term * (1 - p);
  }
  return 2 * p;
}

/**
 * Pr(D ≥ h/lcm) for sizes m, n: lattice paths leaving the band |x/m − y/n| < h/lcm, computed directly as
 * 1 − inside proportion (Viehmann's recursion), one sliding column at a time.
 */
function probOutsideBand(m: number, n: number, g: number, h: number): number {
  if (m < n) [m, n] = [n, m];
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lenA).fill(1);
  A.fill(0, minj, maxj);
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = ((A[jj + minj - lastminj] ?? 0) * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) A.fill(1, maxj - minj, maxj - minj + (lastlen - curlen));
  }
  return A[maxj - minj - 1] ?? Number.NaN;
}

/** numpy.round semantics (half to even) for the non-negative values used here. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export interface KsOutcome {
  readonly statistic: number;
  readonly pValue: number;
  readonly method: "exact" | "asymptotic";
}

/** KS statistic and p-value on already cleaned, sorted samples (the shared fast path for monitoring jobs). */
export function ksSorted(a: Float64Array, b: Float64Array): KsOutcome {
  return ksFromStatistic(ksStatisticSorted(a, b), a.length, b.length);
}

/** KS p-value for a statistic D observed between samples of sizes n1 and n2 (e.g. from sweepSorted). */
export function ksFromStatistic(d: number, n1: number, n2: number): KsOutcome {
  if (Math.max(n1, n2) <= MAX_EXACT_N) {
    const g = gcd(n1, n2);
    const lcm = (n1 / g) * n2;
    const h = roundHalfEven(d * lcm);
    d = h / lcm;
    if (h === 0) return { statistic: d, pValue: 1, method: "exact" };
    const p = n1 === n2 ? probOutsideSquare(n1, h) : probOutsideBand(n1, n2, g, h);
    // Like SciPy, an exact result outside [0, 1] (round-off in extreme cases) falls back to the asymptotic one.
    if (p >= 0 && p <= 1) return { statistic: d, pValue: p, method: "exact" };
  }
  const [m, n] = n1 >= n2 ? [n1, n2] : [n2, n1];
  const en = (m * n) / (m + n);
  const p = kolmogorovSf(roundHalfEven(en), d);
  return { statistic: d, pValue: Math.min(1, Math.max(0, p)), method: "asymptotic" };
}

/**
 * Two-sample Kolmogorov–Smirnov test, as scipy.stats.ks_2samp(reference, current, method="auto"): exact
 * p-value when both samples have at most 10,000 values, else the Kolmogorov distribution of D at
 * n = round(n1·n2/(n1+n2)). Drift when p ≤ threshold (0.05), as Evidently.
 *
 * @example
 * const r = ksTest(Float64Array.of(1, 2, 3, NaN), Float64Array.of(2.5, 4, 5));
 * r.drifted; // false: three values per side are not enough evidence
 */
export function ksTest(
  reference: Float64Array,
  current: Float64Array,
  options: TestOptions = {},
): DriftResult {
  const threshold = checkThreshold(options.threshold ?? 0.05);
  const { statistic, pValue } = ksSorted(
    cleanSorted(reference, "reference"),
    cleanSorted(current, "current"),
  );
  return { test: "ks", statistic, pValue, threshold, drifted: pValue <= threshold };
}
