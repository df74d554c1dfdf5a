// Gradient/hessian histograms per (feature, bin), the hot loop of tree growing, split over threads.
import { BIN_SLOTS, type BinnedMatrix } from "./binning.ts";
import { histogramKernel, partitionKernel } from "./kernels.ts";
import type { Job, ThreadPool } from "./thread-pool.ts";

/** Doubles per feature in a histogram: (gradient, hessian) for each of the 256 bin slots. */
export const SLOT_STRIDE = BIN_SLOTS * 2;
/** Below this many (row, feature) cells a node's histogram is built on one thread: posting jobs costs more. */
const PARALLEL_MIN_CELLS = 200_000;
/** Below this many rows a node is partitioned on one thread. */
const PARALLEL_MIN_PARTITION = 32_768;
const NO_CATEGORIES = new Int32Array(0);

/** Buffers reused across trees so that growing a tree allocates almost nothing per row. */
export interface GrowWorkspace {
  readonly binned: BinnedMatrix;
  /** Number of value bins of each feature (the missing bin comes on top). */
  readonly nBins: Uint16Array;
  /** 1 for features split natively as categories (bin = category code). */
  readonly isCategorical: Uint8Array;
  readonly grad: Float32Array;
  readonly hess: Float32Array;
  /** Row indices of the sample, partitioned in place so that each node owns a contiguous range. */
  readonly rows: Uint32Array;
  /** Gradient/hessian of rows[i] at i: moved along with the rows, so histograms read them in order. */
  readonly orderedGrad: Float32Array;
  readonly orderedHess: Float32Array;
  readonly scratchRows: Uint32Array;
  readonly scratchGrad: Float32Array;
  readonly scratchHess: Float32Array;
  /** Left-child counts reported by each partition job. */
  readonly counts: Int32Array;
  readonly histPool: Float64Array[];
  /** Helper threads; when set, binned.bins and the buffers above that workers read are shared memory. */
  readonly threads: ThreadPool | null;
}

export function createWorkspace(
  binned: BinnedMatrix,
  nBins: Uint16Array,
  isCategorical: Uint8Array,
  threads: ThreadPool | null,
): GrowWorkspace {
  const n = binned.nRows;
  const buffer = (bytes: number): ArrayBuffer | SharedArrayBuffer =>
    threads ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  return {
    binned,
    nBins,
    isCategorical,
    grad: new Float32Array(buffer(4 * n)),
    hess: new Float32Array(buffer(4 * n)),
    rows: new Uint32Array(buffer(4 * n)),
    orderedGrad: new Float32Array(buffer(4 * n)),
    orderedHess: new Float32Array(buffer(4 * n)),
    scratchRows: new Uint32Array(buffer(4 * n)),
    scratchGrad: new Float32Array(buffer(4 * n)),
    scratchHess: new Float32Array(buffer(4 * n)),
    counts: new Int32Array(buffer(4 * Math.max(1, threads?.size ?? 1))),
    histPool: [],
    threads,
  };
}

/** A histogram buffer from the pool, or a new one (on shared memory when threads are used). */
export function takeHist(ws: GrowWorkspace): Float64Array {
  const bytes = ws.binned.nFeatures * SLOT_STRIDE * 8;
  return (
    ws.histPool.pop() ?? new Float64Array(ws.threads ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes))
  );
}

/**
 * Sums gradients and hessians per (feature, bin) over rows[start..end). The features are shared out
 * between threads, each feature summed by one thread in row order, so the result is bit-identical
 * whatever the thread count.
 */
export function buildHistogram(
  ws: GrowWorkspace,
  hist: Float64Array,
  start: number,
  end: number,
  features: Int32Array,
): void {
  const { rows, orderedGrad, orderedHess, threads } = ws;
  const { bins, nRows } = ws.binned;
  const n = end - start;
  const count = features.length;
  const parts = threads ? Math.min(threads.size, Math.floor((n * count) / PARALLEL_MIN_CELLS), count) : 1;
  if (!threads || parts < 2) {
    histogramKernel(bins, nRows, rows, start, n, orderedGrad, orderedHess, hist, features, 0, count);
    return;
  }
  const jobs: Job[] = [];
  for (let p = 0; p < parts; p++) {
    const from = Math.floor((p * count) / parts);
    const to = Math.floor(((p + 1) * count) / parts);
    jobs.push({
      kind: "histogram",
      args: [bins, nRows, rows, start, n, orderedGrad, orderedHess, hist, features, from, to],
    });
  }
  threads.runAll(jobs);
}

/** A split as partitioning needs it: numeric splits send bins <= bin left, categorical ones the set's bins. */
export interface PartitionSplit {
  readonly feature: number;
  readonly bin: number;
  readonly categories: Int32Array | null;
  readonly defaultLeft: boolean;
}

/**
 * Stable in-place partition of rows[start..end) (with their gradients) by the split; returns where the
 * right child starts. Large nodes are cut into one range per thread, partitioned in parallel and then
 * stitched in range order, which gives the same order as a single pass.
 */
export function partitionRows(ws: GrowWorkspace, start: number, end: number, split: PartitionSplit): number {
  const { rows, orderedGrad, orderedHess, scratchRows, scratchGrad, scratchHess, counts, threads } = ws;
  const { bins, nRows } = ws.binned;
  const parts = threads ? Math.min(threads.size, Math.floor((end - start) / PARALLEL_MIN_PARTITION)) : 1;
  const bounds = Array.from({ length: Math.max(1, parts) + 1 }, (_, p) =>
    Math.floor(start + (p * (end - start)) / Math.max(1, parts)),
  );
  const jobs: Job[] = [];
  for (let p = 0; p + 1 < bounds.length; p++) {
    jobs.push({
      kind: "partition",
      args: [
        bins,
        nRows,
        rows,
        orderedGrad,
        orderedHess,
        scratchRows,
        scratchGrad,
        scratchHess,
        bounds[p] as number,
        bounds[p + 1] as number,
        split.feature,
        split.bin,
        split.defaultLeft ? 1 : 0,
        split.categories ?? NO_CATEGORIES,
        counts,
        p,
      ],
    });
  }
  if (threads && jobs.length > 1) threads.runAll(jobs);
  else partitionKernel(...(jobs[0] as Job & { kind: "partition" }).args);
  // Left entries of each range move down after the previous ranges' left entries; right entries follow.
  let at = start;
  for (let p = 0; p < jobs.length; p++) {
    const from = bounds[p] as number;
    const nl = counts[p] as number;
    if (at !== from) {
      rows.copyWithin(at, from, from + nl);
      orderedGrad.copyWithin(at, from, from + nl);
      orderedHess.copyWithin(at, from, from + nl);
    }
    at += nl;
  }
  const mid = at;
  for (let p = 0; p < jobs.length; p++) {
    const from = (bounds[p] as number) + (counts[p] as number);
    const to = bounds[p + 1] as number;
    const scratchFrom = bounds[p] as number;
    const nr = to - from;
    rows.set(scratchRows.subarray(scratchFrom, scratchFrom + nr), at);
    orderedGrad.set(scratchGrad.subarray(scratchFrom, scratchFrom + nr), at);
    orderedHess.set(scratchHess.subarray(scratchFrom, scratchFrom + nr), at);
    at += nr;
  }
  return mid;
}
