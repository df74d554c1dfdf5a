// Quantile binning of features into at most 255 value bins plus one missing bin, stored column-major as bytes.
import type { Rng } from "../random.ts";
import { binKernel } from "./kernels.ts";
import { toShared, type Job, type ThreadPool } from "./thread-pool.ts";

/** Bin index that holds missing values (NaN) in every feature. */
export const MISSING_BIN = 255;
/** Histogram slots per feature: 255 value bins and the missing bin. */
export const BIN_SLOTS = 256;
/** Rows sampled to find the cut points, as LightGBM's bin_construct_sample_cnt. */
const CUT_SAMPLE = 200_000;

/**
 * Upper bounds of the value bins of one feature: a value v falls into the first bin b with v <= upper[b].
 * The last bound is +Infinity, so every finite value has a bin.
 */
export type BinBounds = Float64Array;

/** Column-major byte matrix: bins[f * nRows + r] is the bin of row r in feature f. */
export interface BinnedMatrix {
  readonly nRows: number;
  readonly nFeatures: number;
  readonly bins: Uint8Array;
}

/**
 * Cut points from the distinct values of a (sampled) column: each bin gets about the same number of
 * rows, and bounds sit half-way between neighbouring distinct values so unseen values land sensibly.
 */
export function computeBounds(values: Float64Array, maxBins: number, rng: Rng): BinBounds {
  const n = values.length;
  // Missing values are drawn like the others (so the random stream does not depend on them) and dropped.
  const sample = new Float64Array(Math.min(n, CUT_SAMPLE));
  let m = 0;
  if (n > CUT_SAMPLE) {
    for (let i = 0; i < CUT_SAMPLE; i++) {
      const v = values[rng.int(n)] as number;
      if (v === v) sample[m++] = v;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const v = values[i] as number;
      if (v === v) sample[m++] = v;
    }
  }
  if (m === 0) return Float64Array.of(Infinity);
  sample.subarray(0, m).sort();
  const distinct: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < m; i++) {
    const v = sample[i] as number;
    if (distinct.length > 0 && distinct[distinct.length - 1] === v)
      counts[counts.length - 1] = (counts[counts.length - 1] as number) + 1;
    else {
      distinct.push(v);
      counts.push(1);
    }
  }
  const bounds: number[] = [];
  if (distinct.length <= maxBins) {
    for (let i = 0; i + 1 < distinct.length; i++)
      bounds.push(midpoint(distinct[i] as number, distinct[i + 1] as number));
  } else {
    let cumulative = 0;
    let target = 1;
    for (let i = 0; i + 1 < distinct.length && bounds.length < maxBins - 1; i++) {
      cumulative += counts[i] as number;
      if (cumulative >= (target * m) / maxBins) {
        bounds.push(midpoint(distinct[i] as number, distinct[i + 1] as number));
        while (cumulative >= (target * m) / maxBins) target++;
      }
    }
  }
  bounds.push(Infinity);
  return Float64Array.from(bounds);
}

/**
 * Bounds that give each category code its own bin (code c -> bin c), for native categorical splits;
 * only for dictionaries of at most 255 entries.
 */
export function categoryBounds(nCategories: number): BinBounds {
  const bounds = new Float64Array(Math.max(1, nCategories));
  for (let c = 0; c + 1 < nCategories; c++) bounds[c] = c + 0.5;
  bounds[bounds.length - 1] = Infinity;
  return bounds;
}

/**
 * Bins every feature column with the given bounds (from training, for validation data too); `shared`
 * puts the bytes on a SharedArrayBuffer for worker threads, and `threads` bins columns in parallel.
 */
export function binMatrix(
  columns: readonly Float64Array[],
  bounds: readonly BinBounds[],
  nRows: number,
  shared = false,
  threads: ThreadPool | null = null,
): BinnedMatrix {
  const size = columns.length * nRows;
  const bins = new Uint8Array(shared || threads ? new SharedArrayBuffer(size) : new ArrayBuffer(size));
  const out = (f: number): Uint8Array => bins.subarray(f * nRows, (f + 1) * nRows);
  const step = threads?.size ?? 1;
  for (let f = 0; f < columns.length; f += step) {
    // The calling thread bins its column in place; workers get a shared copy of theirs, one at a time, so
    // that at most a few columns are copied at once.
    const jobs: Job[] = [];
    for (let t = 0; t < step && f + t < columns.length; t++) {
      const values = columns[f + t] as Float64Array;
      jobs.push({
        kind: "bin",
        args: [t === 0 ? values : toShared(values), bounds[f + t] as BinBounds, out(f + t)],
      });
    }
    if (threads && jobs.length > 1) threads.runAll(jobs);
    else for (const job of jobs) binKernel(...(job as Job & { kind: "bin" }).args);
  }
  return { nRows, nFeatures: columns.length, bins };
}

function midpoint(a: number, b: number): number {
  const m = a + (b - a) / 2;
  // Guard against rounding onto b for neighbouring floats: the bound must stay strictly below b.
  return m < b ? m : a;
}
