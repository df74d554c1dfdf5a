// Maximum mean discrepancy with a Gaussian kernel and a seeded permutation p-value.
import { checkThreshold, cleanSorted, requireSize } from "./sample.ts";
import { createLcg } from "./rng.ts";
import type { DriftResult, TestOptions } from "./types.ts";

export interface MmdOptions extends TestOptions {
  /** Values kept per side (evenly spaced order statistics) to bound the O(n²) kernel work. Default 500. */
  readonly maxSamples?: number;
  /** Label permutations for the p-value. Default 200. */
  readonly permutations?: number;
  /** Seed of the permutation generator, so results are reproducible. Default 1. */
  readonly seed?: number;
}

function thin(sorted: Float64Array, max: number): Float64Array {
  if (sorted.length <= max) return sorted;
  // Evenly spaced order statistics keep the shape of the distribution and are deterministic.
  const out = new Float64Array(max);
  for (let i = 0; i < max; i++) out[i] = sorted[Math.floor(((i + 0.5) * sorted.length) / max)]!;
  return out;
}

/** Median of the pairwise distances |zᵢ − zⱼ|, i < j, of a sorted sample. */
function medianPairwiseDistance(z: Float64Array): number {
  const n = z.length;
  const d = new Float64Array((n * (n - 1)) / 2);
  let k = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) d[k++] = z[j]! - z[i]!;
  d.sort();
  const mid = d.length >> 1;
  return d.length % 2 === 1 ? d[mid]! : (d[mid - 1]! + d[mid]!) / 2;
}

/** Unbiased MMD² of the first m pooled values against the rest, given the pooled kernel matrix. */
function mmd2(K: Float64Array, order: Int32Array, m: number): number {
  const N = order.length;
  const n = N - m;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (let a = 0; a < N; a++) {
    const row = order[a]! * N;
    for (let b = a + 1; b < N; b++) {
      const k = K[row + order[b]!]!;
      if (b < m) sxx += k;
      else if (a >= m) syy += k;
      else sxy += k;
    }
  }
  return (2 * sxx) / (m * (m - 1)) + (2 * syy) / (n * (n - 1)) - (2 * sxy) / (m * n);
}

/**
 * Empirical maximum mean discrepancy between reference X and current Y:
 *   MMD² = 1/(m(m−1)) Σ_{i≠j} k(xᵢ,xⱼ) + 1/(n(n−1)) Σ_{i≠j} k(yᵢ,yⱼ) − 2/(mn) Σ_{i,j} k(xᵢ,yⱼ)
 * (the unbiased estimator), with k(a,b) = exp(−(a−b)²/(2σ²)) and σ the median pairwise distance of the pooled
 * sample (median heuristic; 1 if that median is 0). The statistic is MMD² (it can be slightly negative). The
 * p-value is (1 + #{permuted MMD² ≥ observed}) / (1 + permutations). Needs two values per side.
 * Drift when p < threshold (0.05).
 *
 * @example
 * mmdTest(reference, current, { permutations: 500, seed: 7 }).pValue; // reproducible for a given seed
 */
export function mmdTest(
  reference: Float64Array,
  current: Float64Array,
  options: MmdOptions = {},
): DriftResult {
  const threshold = checkThreshold(options.threshold ?? 0.05);
  const maxSamples = options.maxSamples ?? 500;
  const x = thin(cleanSorted(reference, "reference"), maxSamples);
  const y = thin(cleanSorted(current, "current"), maxSamples);
  const m = x.length;
  const n = y.length;
  requireSize(m, 2, "reference", "the MMD test");
  requireSize(n, 2, "current", "the MMD test");
  const N = m + n;
  const z = new Float64Array(N);
  z.set(x);
  z.set(y, m);
  const sigma = medianPairwiseDistance(Float64Array.from(z).sort()) || 1;
  const K = new Float64Array(N * N);
  const inv = 1 / (2 * sigma * sigma);
  for (let i = 0; i < N; i++) {
    for (let j = i; j < N; j++) {
      const d = z[i]! - z[j]!;
      K[i * N + j] = K[j * N + i] = Math.exp(-d * d * inv);
    }
  }
  const order = new Int32Array(N);
  for (let i = 0; i < N; i++) order[i] = i;
  const statistic = mmd2(K, order, m);
  const permutations = options.permutations ?? 200;
  const next = createLcg(options.seed ?? 1);
  let atLeast = 0;
  for (let p = 0; p < permutations; p++) {
    for (let i = N - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
    if (mmd2(K, order, m) >= statistic) atLeast++;
  }
  const pValue = (1 + atLeast) / (1 + permutations);
  return { test: "mmd", statistic, pValue, threshold, drifted: pValue < threshold };
}
