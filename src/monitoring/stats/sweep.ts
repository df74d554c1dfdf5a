// One merge pass over two sorted samples, giving both the KS statistic and the Wasserstein-1 distance.
import { CompensatedSum } from "./sample.ts";

export interface SweepResult {
  /** sup (F_a − F_b), ≥ 0. */
  readonly dPlus: number;
  /** sup (F_b − F_a), ≥ 0. */
  readonly dMinus: number;
  /** ∫ |F_a − F_b| dx. */
  readonly wasserstein: number;
}

/**
 * Walks the distinct values of two sorted samples once. After every copy of a value v is consumed the two
 * empirical CDFs are exact at v (right-continuous), which is where KS takes its extremes, and they stay
 * constant up to the next distinct value, which is the area Wasserstein integrates.
 */
export function sweepSorted(a: Float64Array, b: Float64Array): SweepResult {
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  let maxDiff = 0;
  let minDiff = 0;
  const area = new CompensatedSum();
  let prevDiff = 0;
  let prev = Number.NaN;
  while (i < n1 || j < n2) {
    const va = i < n1 ? a[i]! : Number.POSITIVE_INFINITY;
    const vb = j < n2 ? b[j]! : Number.POSITIVE_INFINITY;
    const v = va < vb ? va : vb;
    if (prev === prev) area.add(Math.abs(prevDiff) * (v - prev));
    while (i < n1 && a[i]! <= v) i++;
    while (j < n2 && b[j]! <= v) j++;
    const diff = i / n1 - j / n2;
    if (diff > maxDiff) maxDiff = diff;
    if (diff < minDiff) minDiff = diff;
    prevDiff = diff;
    prev = v;
  }
  return { dPlus: maxDiff, dMinus: Math.min(-minDiff, 1), wasserstein: area.value };
}
