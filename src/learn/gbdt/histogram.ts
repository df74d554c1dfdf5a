// Gradient/hessian histograms per (feature, bin), the hot loop of tree growing, split over threads.
import { BIN_SLOTS, type BinnedMatrix } from "./binning.ts";
import { histogramKernel } from "./kernels.ts";
import type { Job, ThreadPool } from "./thread-pool.ts";

/** Doubles per feature in a histogram: (gradient, hessian) for each of the 256 bin slots. */
export const SLOT_STRIDE = BIN_SLOTS * 2;
/** Below this many (row, feature) cells a node's histogram is built on one thread: posting jobs costs more. */
const PARALLEL_MIN_CELLS = 200_000;

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
  readonly scratch: Uint32Array;
  readonly orderedGrad: Float32Array;
  readonly orderedHess: Float32Array;
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
  const shared = threads !== null;
  return {
    binned,
    nBins,
    isCategorical,
    grad: new Float32Array(n),
    hess: new Float32Array(n),
    rows: new Uint32Array(shared ? new SharedArrayBuffer(4 * n) : new ArrayBuffer(4 * n)),
    scratch: new Uint32Array(n),
    orderedGrad: new Float32Array(shared ? new SharedArrayBuffer(4 * n) : new ArrayBuffer(4 * n)),
    orderedHess: new Float32Array(shared ? new SharedArrayBuffer(4 * n) : new ArrayBuffer(4 * n)),
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
 * Sums gradients and hessians per (feature, bin) over rows[start..end). Gradients are first gathered in
 * row order; the features are then shared out between threads, each feature summed by one thread in row
 * order, so the result is bit-identical whatever the thread count.
 */
export function buildHistogram(
  ws: GrowWorkspace,
  hist: Float64Array,
  start: number,
  end: number,
  features: Int32Array,
): void {
  const { rows, grad, hess, orderedGrad, orderedHess, threads } = ws;
  const { bins, nRows } = ws.binned;
  const n = end - start;
  for (let i = 0; i < n; i++) {
    const r = rows[start + i] as number;
    orderedGrad[i] = grad[r] as number;
    orderedHess[i] = hess[r] as number;
  }
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
