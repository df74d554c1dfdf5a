// Gradient/hessian histograms per (feature, bin), the hot loop of tree growing, and their reusable buffers.
import { BIN_SLOTS, type BinnedMatrix } from "./binning.ts";

/** Doubles per feature in a histogram: (gradient, hessian) for each of the 256 bin slots. */
export const SLOT_STRIDE = BIN_SLOTS * 2;

/** Buffers reused across trees so that growing a tree allocates almost nothing per row. */
export interface GrowWorkspace {
  readonly binned: BinnedMatrix;
  /** Number of value bins of each feature (the missing bin comes on top). */
  readonly nBins: Uint16Array;
  readonly grad: Float32Array;
  readonly hess: Float32Array;
  /** Row indices of the sample, partitioned in place so that each node owns a contiguous range. */
  readonly rows: Uint32Array;
  readonly scratch: Uint32Array;
  readonly orderedGrad: Float32Array;
  readonly orderedHess: Float32Array;
  readonly histPool: Float64Array[];
}

export function createWorkspace(binned: BinnedMatrix, nBins: Uint16Array): GrowWorkspace {
  const n = binned.nRows;
  return {
    binned,
    nBins,
    grad: new Float32Array(n),
    hess: new Float32Array(n),
    rows: new Uint32Array(n),
    scratch: new Uint32Array(n),
    orderedGrad: new Float32Array(n),
    orderedHess: new Float32Array(n),
    histPool: [],
  };
}

/**
 * Sums gradients and hessians per (feature, bin) over rows[start..end). Gradients are first gathered in
 * row order; features are then processed eight (or four) at a time, so each row's index and gradient are
 * loaded once per group instead of once per feature, which halves the time of this hottest loop.
 */
export function buildHistogram(
  ws: GrowWorkspace,
  hist: Float64Array,
  start: number,
  end: number,
  features: Int32Array,
): void {
  const { rows, grad, hess, orderedGrad, orderedHess } = ws;
  const n = end - start;
  for (let i = 0; i < n; i++) {
    const r = rows[start + i] as number;
    orderedGrad[i] = grad[r] as number;
    orderedHess[i] = hess[r] as number;
  }
  const count = features.length;
  for (let k = 0; k < count; k++) {
    const base = (features[k] as number) * SLOT_STRIDE;
    hist.fill(0, base, base + SLOT_STRIDE);
  }
  let k = 0;
  for (; k + 8 <= count; k += 8) histogram8(ws, hist, start, n, features, k);
  for (; k + 4 <= count; k += 4) histogram4(ws, hist, start, n, features, k);
  for (; k < count; k++) histogram1(ws, hist, start, n, features[k] as number);
}

function histogram8(
  ws: GrowWorkspace,
  hist: Float64Array,
  start: number,
  n: number,
  features: Int32Array,
  k: number,
): void {
  const { rows, orderedGrad, orderedHess } = ws;
  const { bins, nRows } = ws.binned;
  const f0 = features[k] as number;
  const f1 = features[k + 1] as number;
  const f2 = features[k + 2] as number;
  const f3 = features[k + 3] as number;
  const f4 = features[k + 4] as number;
  const f5 = features[k + 5] as number;
  const f6 = features[k + 6] as number;
  const f7 = features[k + 7] as number;
  const o0 = f0 * nRows;
  const o1 = f1 * nRows;
  const o2 = f2 * nRows;
  const o3 = f3 * nRows;
  const o4 = f4 * nRows;
  const o5 = f5 * nRows;
  const o6 = f6 * nRows;
  const o7 = f7 * nRows;
  const h0 = f0 * SLOT_STRIDE;
  const h1 = f1 * SLOT_STRIDE;
  const h2 = f2 * SLOT_STRIDE;
  const h3 = f3 * SLOT_STRIDE;
  const h4 = f4 * SLOT_STRIDE;
  const h5 = f5 * SLOT_STRIDE;
  const h6 = f6 * SLOT_STRIDE;
  const h7 = f7 * SLOT_STRIDE;
  for (let i = 0; i < n; i++) {
    const r = rows[start + i] as number;
    const g = orderedGrad[i] as number;
    const h = orderedHess[i] as number;
    let s = h0 + ((bins[o0 + r] as number) << 1);
    hist[s] = (hist[s] as number) + g;
    hist[s + 1] = (hist[s + 1] as number) + h;
    s = h1 + ((bins[o1 + r] as number) << 1);
    hist[s] = (hist[s] as number) + g;
    hist[s + 1] = (hist[s + 1] as number) + h;
    s = h2 + ((bins[o2 + r] as number) << 1);
    hist[s] = (hist[s] as number) + g;
    hist[s + 1] = (hist[s + 1] as number) + h;
    s = h3 + ((bins[o3 + r] as number) << 1);
    hist[s] = (hist[s] as number) + g;
    hist[s + 1] = (hist[s + 1] as number) + h;
    s = h4 + ((bins[o4 + r] as number) << 1);
    hist[s] = (hist[s] as number) + g;
    hist[s + 1] = (hist[s + 1] as number) + h;
    s = h5 + ((bins[o5 + r] as number) << 1);
    hist[s] = (hist[s] as number) + g;
    hist[s + 1] = (hist[s + 1] as number) + h;
    s = h6 + ((bins[o6 + r] as number) << 1);
    hist[s] = (hist[s] as number) + g;
    hist[s + 1] = (hist[s + 1] as number) + h;
    s = h7 + ((bins[o7 + r] as number) << 1);
    hist[s] = (hist[s] as number) + g;
    hist[s + 1] = (hist[s + 1] as number) + h;
  }
}

function histogram4(
  ws: GrowWorkspace,
  hist: Float64Array,
  start: number,
  n: number,
  features: Int32Array,
  k: number,
): void {
  const { rows, orderedGrad, orderedHess } = ws;
  const { bins, nRows } = ws.binned;
  const f0 = features[k] as number;
  const f1 = features[k + 1] as number;
  const f2 = features[k + 2] as number;
  const f3 = features[k + 3] as number;
  const o0 = f0 * nRows;
  const o1 = f1 * nRows;
  const o2 = f2 * nRows;
  const o3 = f3 * nRows;
  const h0 = f0 * SLOT_STRIDE;
  const h1 = f1 * SLOT_STRIDE;
  const h2 = f2 * SLOT_STRIDE;
  const h3 = f3 * SLOT_STRIDE;
  for (let i = 0; i < n; i++) {
    const r = rows[start + i] as number;
    const g = orderedGrad[i] as number;
    const h = orderedHess[i] as number;
    let s = h0 + ((bins[o0 + r] as number) << 1);
    hist[s] = (hist[s] as number) + g;
    hist[s + 1] = (hist[s + 1] as number) + h;
    s = h1 + ((bins[o1 + r] as number) << 1);
    hist[s] = (hist[s] as number) + g;
    hist[s + 1] = (hist[s + 1] as number) + h;
    s = h2 + ((bins[o2 + r] as number) << 1);
    hist[s] = (hist[s] as number) + g;
    hist[s + 1] = (hist[s + 1] as number) + h;
    s = h3 + ((bins[o3 + r] as number) << 1);
    hist[s] = (hist[s] as number) + g;
    hist[s + 1] = (hist[s + 1] as number) + h;
  }
}

function histogram1(ws: GrowWorkspace, hist: Float64Array, start: number, n: number, f: number): void {
  const { rows, orderedGrad, orderedHess } = ws;
  const { bins, nRows } = ws.binned;
  const o = f * nRows;
  const base = f * SLOT_STRIDE;
  for (let i = 0; i < n; i++) {
    const s = base + ((bins[o + (rows[start + i] as number)] as number) << 1);
    hist[s] = (hist[s] as number) + (orderedGrad[i] as number);
    hist[s + 1] = (hist[s + 1] as number) + (orderedHess[i] as number);
  }
}
