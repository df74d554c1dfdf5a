// Rank-based two-sample tests: Mann–Whitney U, Cramér–von Mises and Anderson–Darling (k = 2), as SciPy.
import { LoopmlError } from "../../errors.ts";
import { checkThreshold, cleanSorted, CompensatedSum, requireSize } from "./sample.ts";
import { besselKExpScaled, logGamma, normSf } from "./special.ts";
import type { DriftResult, TestOptions } from "./types.ts";

/**
 * Visits the distinct values of two sorted samples in increasing order, with how many copies of the value
 * each side holds and how many values of each side lie strictly below it.
 */
function forEachTieGroup(
  a: Float64Array,
  b: Float64Array,
  visit: (countA: number, countB: number, belowA: number, belowB: number) => void,
): void {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const va = i < a.length ? a[i]! : Number.POSITIVE_INFINITY;
    const vb = j < b.length ? b[j]! : Number.POSITIVE_INFINITY;
    const v = va < vb ? va : vb;
    const i0 = i;
    const j0 = j;
    while (i < a.length && a[i] === v) i++;
    while (j < b.length && b[j] === v) j++;
    visit(i - i0, j - j0, i0, j0);
  }
}

/**
 * P(U ≥ u) under H0 without ties. The counts of U are the coefficients of the Gaussian binomial
 * [m+n choose m]_q, built as Π_{i≤m} (1 − q^(n+i)) / (1 − q^i) (Harding 1984): O(m²n) instead of the O(m²n²)
 * recursion, and it agreed with the all-positive recursion to ~1e-15 in our checks.
 */
function mannWhitneyExactSf(u: number, m: number, n: number): number {
  if (m > n) [m, n] = [n, m];
  const len = m * n + 1;
  const c = new Float64Array(len);
  c[0] = 1;
  for (let i = 1; i <= m; i++) {
    const s = n + i;
    for (let k = len - 1; k >= s; k--) c[k] = c[k]! - c[k - s]!;
    for (let k = i; k < len; k++) c[k] = c[k]! + c[k - i]!;
  }
  let total = 0;
  for (let k = 0; k < len; k++) total += c[k]!;
  // SciPy evaluates sf(u) as cdf(mn − u) by symmetry; summing the same lower tail keeps the rounding alike.
  let lower = 0;
  for (let k = 0; k <= m * n - u; k++) lower += c[k]!;
  return lower / total;
}

/** Above this m·n the exact distribution's array gets large (8 bytes per cell); we use the normal one. */
const MAX_EXACT_CELLS = 2e7;

/**
 * Mann–Whitney U test, two-sided, as scipy.stats.mannwhitneyu(reference, current, method="auto"): exact when a
 * sample has at most 8 values and there are no ties, else the normal approximation with tie and continuity
 * correction. Statistic: U of the reference sample. Deviation: beyond m·n = 2·10⁷ (a tiny sample against a
 * huge one) we use the normal approximation where SciPy would still try the exact distribution. Drift when
 * p < threshold (0.05).
 *
 * @example
 * mannWhitneyTest(Float64Array.of(1, 2, 3), Float64Array.of(4, 5, 6)).pValue; // 0.1 (exact)
 */
export function mannWhitneyTest(
  reference: Float64Array,
  current: Float64Array,
  options: TestOptions = {},
): DriftResult {
  const threshold = checkThreshold(options.threshold ?? 0.05);
  const x = cleanSorted(reference, "reference");
  const y = cleanSorted(current, "current");
  const n1 = x.length;
  const n2 = y.length;
  const n = n1 + n2;
  let rankSumX = 0;
  let tieTerm = 0;
  forEachTieGroup(x, y, (ca, cb, ba, bb) => {
    const t = ca + cb;
    const midrank = ba + bb + (t + 1) / 2;
    rankSumX += ca * midrank;
    tieTerm += t * t * t - t;
  });
  const u1 = rankSumX - (n1 * (n1 + 1)) / 2;
  const u = Math.max(u1, n1 * n2 - u1);
  const small = Math.min(n1, n2);
  let p: number;
  if (small <= 8 && tieTerm === 0 && n1 * n2 <= MAX_EXACT_CELLS) {
    p = 2 * mannWhitneyExactSf(u, n1, n2);
  } else {
    const s = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
    p = 2 * normSf((u - (n1 * n2) / 2 - 0.5) / s);
  }
  const pValue = Math.min(1, Math.max(0, p));
  return { test: "mannw", statistic: u1, pValue, threshold, drifted: pValue < threshold };
}

/** Limiting CDF of the Cramér–von Mises statistic (Csörgő & Faraway), summed until a term drops below 1e-7. */
function cvmLimitCdf(x: number): number {
  let total = 0;
  for (let k = 0; k < 1000; k++) {
    const y = 4 * k + 1;
    const q = (y * y) / (16 * x);
    const u = Math.exp(logGamma(k + 0.5) - logGamma(k + 1)) / (Math.PI ** 1.5 * Math.sqrt(x));
    const z = u * Math.sqrt(y) * besselKExpScaled(0.25, q);
    total += z;
    if (Math.abs(z) < 1e-7) break;
  }
  return total;
}

/** A frequency table: sorted distinct values and how often each occurs. */
interface FreqTable {
  readonly values: Float64Array;
  readonly freqs: Float64Array;
}

const EMPTY: FreqTable = { values: new Float64Array(0), freqs: new Float64Array(0) };

/** Union of two tables (frequencies of equal values added), every value then shifted by `step`. */
function mergeShift(x: FreqTable, y: FreqTable, step: number): FreqTable {
  const values = new Float64Array(x.values.length + y.values.length);
  const freqs = new Float64Array(values.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < x.values.length || j < y.values.length) {
    const vx = i < x.values.length ? x.values[i]! : Number.POSITIVE_INFINITY;
    const vy = j < y.values.length ? y.values[j]! : Number.POSITIVE_INFINITY;
    if (vx < vy) {
      values[k] = vx + step;
      freqs[k++] = x.freqs[i++]!;
    } else if (vy < vx) {
      values[k] = vy + step;
      freqs[k++] = y.freqs[j++]!;
    } else {
      values[k] = vx + step;
      freqs[k++] = x.freqs[i++]! + y.freqs[j++]!;
    }
  }
  return { values: values.subarray(0, k), freqs: freqs.subarray(0, k) };
}

/** Exact P(U ≥ s) for the two-sample CvM statistic (Xiao, Gordon & Yakovlev's frequency-table recursion). */
function cvmExactSf(s: number, m: number, n: number): number {
  const g = gcd(m, n);
  const lcm = (m / g) * n;
  const a = lcm / m;
  const b = lcm / n;
  const mn = m * n;
  const zeta = Math.floor((lcm ** 2 * (m + n) * (6 * s - mn * (4 * mn - 1))) / (6 * mn ** 2));
  // tables[v]: distribution of the partial sum after placing v values of the first sample.
  let tables: FreqTable[] = [{ values: Float64Array.of(0), freqs: Float64Array.of(1) }];
  for (let v = 1; v <= m; v++) tables.push(EMPTY);
  for (let u = 0; u <= n; u++) {
    const next: FreqTable[] = [];
    let acc = EMPTY;
    for (let v = 0; v <= m; v++) {
      acc = mergeShift(acc, tables[v]!, (a * v - b * u) ** 2);
      next.push(acc);
    }
    tables = next;
  }
  const last = tables[m]!;
  let hits = 0;
  let all = 0;
  for (let i = 0; i < last.values.length; i++) {
    all += last.freqs[i]!;
    if (last.values[i]! >= zeta) hits += last.freqs[i]!;
  }
  return hits / all;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * Cramér–von Mises two-sample test, as scipy.stats.cramervonmises_2samp(method="auto"): exact p-value when
 * both samples have at most 20 values, else the limiting distribution of the normalised statistic. Needs at
 * least two values per side. Drift when p < threshold (0.05).
 */
export function cramerVonMisesTest(
  reference: Float64Array,
  current: Float64Array,
  options: TestOptions = {},
): DriftResult {
  const threshold = checkThreshold(options.threshold ?? 0.05);
  const x = cleanSorted(reference, "reference");
  const y = cleanSorted(current, "current");
  requireSize(x.length, 2, "reference", "the Cramér–von Mises test");
  requireSize(y.length, 2, "current", "the Cramér–von Mises test");
  const nx = x.length;
  const ny = y.length;
  const sx = new CompensatedSum();
  const sy = new CompensatedSum();
  forEachTieGroup(x, y, (ca, cb, ba, bb) => {
    const midrank = ba + bb + (ca + cb + 1) / 2;
    for (let t = 1; t <= ca; t++) sx.add((midrank - (ba + t)) ** 2);
    for (let t = 1; t <= cb; t++) sy.add((midrank - (bb + t)) ** 2);
  });
  const u = nx * sx.value + ny * sy.value;
  const k = nx * ny;
  const N = nx + ny;
  const statistic = u / (k * N) - (4 * k - 1) / (6 * N);
  let pValue: number;
  if (Math.max(nx, ny) <= 20) {
    pValue = cvmExactSf(u, nx, ny);
  } else {
    const et = (1 + 1 / N) / 6;
    const vt = ((N + 1) * (4 * k * N - 3 * (nx * nx + ny * ny) - 2 * k)) / (45 * N * N * 4 * k);
    const tn = 1 / 6 + (statistic - et) / Math.sqrt(45 * vt);
    pValue = tn < 0.003 ? 1 : Math.max(0, 1 - cvmLimitCdf(tn));
  }
  return { test: "cramer_von_mises", statistic, pValue, threshold, drifted: pValue < threshold };
}

/** Least-squares quadratic through (x, y) points, returned as [c2, c1, c0] (numpy.polyfit(x, y, 2)). */
function quadraticFit(xs: readonly number[], ys: readonly number[]): [number, number, number] {
  // Normal equations on centred x keep the 3×3 system well conditioned for these few points.
  const mx = xs.reduce((s, x) => s + x, 0) / xs.length;
  const S = [0, 0, 0, 0, 0];
  const T = [0, 0, 0];
  xs.forEach((x0, i) => {
    const x = x0 - mx;
    let p = 1;
    for (let d = 0; d <= 4; d++) {
      S[d]! += p;
      if (d <= 2) T[d]! += p * ys[i]!;
      p *= x;
    }
  });
  const M = [
    [S[0]!, S[1]!, S[2]!, T[0]!],
    [S[1]!, S[2]!, S[3]!, T[1]!],
    [S[2]!, S[3]!, S[4]!, T[2]!],
  ];
  for (let c = 0; c < 3; c++) {
    let piv = c;
    for (let r = c + 1; r < 3; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[piv]![c]!)) piv = r;
    [M[c], M[piv]] = [M[piv]!, M[c]!];
    for (let r = 0; r < 3; r++) {
      if (r === c) continue;
      const f = M[r]![c]! / M[c]![c]!;
      for (let k = c; k < 4; k++) M[r]![k]! -= f * M[c]![k]!;
    }
  }
  const e0 = M[0]![3]! / M[0]![0]!;
  const e1 = M[1]![3]! / M[1]![1]!;
  const e2 = M[2]![3]! / M[2]![2]!;
  // Expand e0 + e1 (x − mx) + e2 (x − mx)² back to powers of x.
  return [e2, e1 - 2 * e2 * mx, e0 - e1 * mx + e2 * mx * mx];
}

const AD_SIG = [0.25, 0.1, 0.05, 0.025, 0.01, 0.005, 0.001];
const AD_B0 = [0.675, 1.281, 1.645, 1.96, 2.326, 2.573, 3.085];
const AD_B1 = [-0.245, 0.25, 0.678, 1.149, 1.822, 2.364, 3.615];
const AD_B2 = [-0.105, -0.305, -0.362, -0.391, -0.396, -0.345, -0.154];

/**
 * Anderson–Darling k-sample test for k = 2 with midranks (Scholz & Stephens), as scipy.stats.anderson_ksamp:
 * the standardised statistic and its p-value interpolated from the critical-value table, capped to
 * [0.001, 0.25]. Needs two distinct values in the pooled sample. Drift when p < threshold (0.05).
 */
export function andersonDarlingTest(
  reference: Float64Array,
  current: Float64Array,
  options: TestOptions = {},
): DriftResult {
  const threshold = checkThreshold(options.threshold ?? 0.05);
  const samples = [cleanSorted(reference, "reference"), cleanSorted(current, "current")] as const;
  const n = [samples[0].length, samples[1].length] as const;
  const N = n[0] + n[1];
  const sums = [new CompensatedSum(), new CompensatedSum()];
  let distinct = 0;
  forEachTieGroup(samples[0], samples[1], (ca, cb, ba, bb) => {
    distinct++;
    const lj = ca + cb;
    const bj = ba + bb + lj / 2;
    const denom = bj * (N - bj) - (N * lj) / 4;
    const counts = [ca, cb] as const;
    const below = [ba, bb] as const;
    for (let i = 0; i < 2; i++) {
      const mij = below[i]! + counts[i]! / 2;
      sums[i]!.add(((lj / N) * (N * mij - bj * n[i]!) ** 2) / denom);
    }
  });
  if (distinct < 2) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      "The Anderson–Darling test needs at least two distinct values in the pooled sample; this column is constant.",
    );
  }
  const a2kn = ((sums[0]!.value / n[0] + sums[1]!.value / n[1]) * (N - 1)) / N;
  const k = 2;
  const H = 1 / n[0] + 1 / n[1];
  let g = 0;
  // h = Σ_{i=1}^{N−1} 1/i and g = Σ_{i=1}^{N−2} Σ_{j=i+1}^{N−1} 1/((N−i)j), as SciPy accumulates them.
  let cum = 0;
  for (let t = N - 1; t >= 2; t--) {
    cum += 1 / t;
    g += cum / (N - t + 1);
  }
  const h = cum + 1;
  const a = (4 * g - 6) * (k - 1) + (10 - 6 * g) * H;
  const b = (2 * g - 4) * k * k + 8 * h * k + (2 * g - 14 * h - 4) * H - 8 * h + 4 * g - 6;
  const c = (6 * h + 2 * g - 2) * k * k + (4 * h - 4 * g + 6) * k + (2 * h - 6) * H + 4 * h;
  const d = (2 * h + 6) * k * k - 4 * h * k;
  const sigmaSq = (a * N ** 3 + b * N ** 2 + c * N + d) / ((N - 1) * (N - 2) * (N - 3));
  const m = k - 1;
  const statistic = (a2kn - m) / Math.sqrt(sigmaSq);
  const critical = AD_B0.map((b0, i) => b0 + AD_B1[i]! / Math.sqrt(m) + AD_B2[i]! / m);
  let pValue: number;
  if (statistic < Math.min(...critical)) pValue = 0.25;
  else if (statistic > Math.max(...critical)) pValue = 0.001;
  else {
    const [c2, c1, c0] = quadraticFit(critical, AD_SIG.map(Math.log));
    pValue = Math.exp((c2 * statistic + c1) * statistic + c0);
  }
  return { test: "anderson", statistic, pValue, threshold, drifted: pValue < threshold };
}
