// The two hot loops (histogram building, tree walking) as self-contained functions, also run in worker threads.
// Each function is shipped to workers as source text (fn.toString()), so it must not use anything defined
// outside its own body: no imports, no module constants, no helper functions.

/**
 * Adds gradients/hessians of rows[start..start+n) into hist for features[from..to): hist slot of (feature f,
 * bin b) is f * 512 + 2b (gradient) and +1 (hessian). orderedGrad[start + i] is the gradient of rows[start + i]
 * (partitioning moves gradients along with rows, so they are read sequentially). Features are taken eight
 * (then four) at a time so each row's index and gradient are loaded once per group.
 */
export function histogramKernel(
  bins: Uint8Array,
  nRows: number,
  rows: Uint32Array,
  start: number,
  n: number,
  orderedGrad: Float32Array,
  orderedHess: Float32Array,
  hist: Float64Array,
  features: Int32Array,
  from: number,
  to: number,
): void {
  for (let k = from; k < to; k++) {
    const base = (features[k] as number) * 512;
    hist.fill(0, base, base + 512);
  }
  let k = from;
  for (; k + 8 <= to; k += 8) {
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
    const h0 = f0 * 512;
    const h1 = f1 * 512;
    const h2 = f2 * 512;
    const h3 = f3 * 512;
    const h4 = f4 * 512;
    const h5 = f5 * 512;
    const h6 = f6 * 512;
    const h7 = f7 * 512;
    for (let i = 0; i < n; i++) {
      const r = rows[start + i] as number;
      const g = orderedGrad[start + i] as number;
      const h = orderedHess[start + i] as number;
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
  for (; k + 4 <= to; k += 4) {
    const f0 = features[k] as number;
    const f1 = features[k + 1] as number;
    const f2 = features[k + 2] as number;
    const f3 = features[k + 3] as number;
    const o0 = f0 * nRows;
    const o1 = f1 * nRows;
    const o2 = f2 * nRows;
    const o3 = f3 * nRows;
    const h0 = f0 * 512;
    const h1 = f1 * 512;
    const h2 = f2 * 512;
    const h3 = f3 * 512;
    for (let i = 0; i < n; i++) {
      const r = rows[start + i] as number;
      const g = orderedGrad[start + i] as number;
      const h = orderedHess[start + i] as number;
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
  for (; k < to; k++) {
    const f = features[k] as number;
    const o = f * nRows;
    const base = f * 512;
    for (let i = 0; i < n; i++) {
      const s = base + ((bins[o + (rows[start + i] as number)] as number) << 1);
      hist[s] = (hist[s] as number) + (orderedGrad[start + i] as number);
      hist[s + 1] = (hist[s + 1] as number) + (orderedHess[start + i] as number);
    }
  }
}

/**
 * Stable partition of positions [from, to) of rows (and of the gradients/hessians kept in the same order) by one
 * split of `feature`: numeric splits send bins <= cut left, categorical ones (set has 8 words) the bins in the
 * set; the missing bin (255) goes left when missingLeft is 1. Left entries are packed at from.., right ones are
 * written to the scratch arrays at from..; counts[slot] receives the number of left entries.
 */
export function partitionKernel(
  bins: Uint8Array,
  nRows: number,
  rows: Uint32Array,
  grad: Float32Array,
  hess: Float32Array,
  scratchRows: Uint32Array,
  scratchGrad: Float32Array,
  scratchHess: Float32Array,
  from: number,
  to: number,
  feature: number,
  cut: number,
  missingLeft: number,
  set: Int32Array,
  counts: Int32Array,
  slot: number,
): void {
  const offset = feature * nRows;
  let nl = from;
  let nr = from;
  const categorical = set.length > 0;
  for (let i = from; i < to; i++) {
    const r = rows[i] as number;
    const b = bins[offset + r] as number;
    const goLeft =
      b === 255
        ? missingLeft === 1
        : categorical
          ? (((set[b >> 5] as number) >>> (b & 31)) & 1) === 1
          : b <= cut;
    if (goLeft) {
      rows[nl] = r;
      grad[nl] = grad[i] as number;
      hess[nl] = hess[i] as number;
      nl++;
    } else {
      scratchRows[nr] = r;
      scratchGrad[nr] = grad[i] as number;
      scratchHess[nr] = hess[i] as number;
      nr++;
    }
  }
  counts[slot] = nl - from;
}

/**
 * Bins values[0..n) into out[0..n): the first bin b with v <= bounds[b] (the last bound is +Infinity), NaN to
 * the missing bin 255. The search is branch-free: a data-dependent branch per step would be mispredicted.
 */
export function binKernel(values: Float64Array, bounds: Float64Array, out: Uint8Array): void {
  const n = values.length;
  const size = bounds.length;
  for (let r = 0; r < n; r++) {
    const v = values[r] as number;
    if (v !== v) {
      out[r] = 255;
      continue;
    }
    let lo = 0;
    let len = size;
    while (len > 1) {
      const half = len >>> 1;
      lo += half * +((bounds[lo + half - 1] as number) < v);
      len -= half;
    }
    out[r] = lo;
  }
}

/**
 * Adds the forest's output for rows [from, to) to raw[r * nOutputs + tree % nOutputs]; `columns` holds one
 * array per model feature (NaN = missing), starting at row columnsFrom (so a worker gets only its rows). `walk` is the node's feature for numeric splits, -2 - feature for
 * categorical splits and -1 for leaves. Rows are copied in blocks into a row-major buffer so that walking a
 * tree reads one small region of memory per row; nothing is allocated per row.
 *
 * Forests of shallow numeric trees (the usual depth-limited boosting) are first laid out as complete binary
 * trees of one depth D, padding early leaves with always-left splits: a walk is then D steps of
 * idx = 2 idx + 1 or 2 with no leaf test and no child arrays, over a few kilobytes per tree.
 */
export function predictKernel(
  walk: Int32Array,
  threshold: Float64Array,
  categories: Int32Array,
  categoryBits: Int32Array,
  left: Int32Array,
  right: Int32Array,
  defaultLeft: Uint8Array,
  value: Float64Array,
  roots: Int32Array,
  columns: readonly Float64Array[],
  nOutputs: number,
  raw: Float64Array,
  from: number,
  to: number,
  columnsFrom: number,
): void {
  const blockRows = 512;
  const nFeatures = columns.length;
  const block = new Float64Array(blockRows * nFeatures);
  const nTrees = roots.length;
  const nNodes = walk.length;
  // Depth of the deepest tree (children are numbered after their parent) and whether any split is categorical.
  const nodeDepth = new Int32Array(nNodes);
  let depth = 0;
  let categorical = false;
  for (let t = 0; t < nTrees; t++) {
    const root = roots[t] as number;
    const end = t + 1 < nTrees ? (roots[t + 1] as number) : nNodes;
    nodeDepth[root] = 0;
    for (let node = root; node < end; node++) {
      const f = walk[node] as number;
      if (f === -1) continue;
      if (f < -1) categorical = true;
      const d = (nodeDepth[node] as number) + 1;
      nodeDepth[left[node] as number] = d;
      nodeDepth[right[node] as number] = d;
      if (d > depth) depth = d;
    }
  }
  if (!categorical && depth <= 10) {
    const nInner = (1 << depth) - 1;
    const nLeaves = 1 << depth;
    const feat = new Int32Array(nTrees * Math.max(1, nInner));
    const thr = new Float64Array(nTrees * Math.max(1, nInner));
    const dl = new Uint8Array(nTrees * Math.max(1, nInner));
    const leaf = new Float64Array(nTrees * nLeaves);
    // Fill each complete tree from an explicit stack of (source node, complete index, level).
    const stack: number[] = [];
    for (let t = 0; t < nTrees; t++) {
      stack.push(roots[t] as number, 0, 0);
      while (stack.length > 0) {
        const level = stack.pop() as number;
        const idx = stack.pop() as number;
        const node = stack.pop() as number;
        if (level === depth) {
          leaf[t * nLeaves + idx - nInner] = value[node] as number;
          continue;
        }
        const isLeaf = (walk[node] as number) === -1;
        const k = t * nInner + idx;
        feat[k] = isLeaf ? 0 : (walk[node] as number);
        thr[k] = isLeaf ? Infinity : (threshold[node] as number);
        dl[k] = isLeaf ? 1 : (defaultLeft[node] as number);
        stack.push(isLeaf ? node : (left[node] as number), 2 * idx + 1, level + 1);
        stack.push(isLeaf ? node : (right[node] as number), 2 * idx + 2, level + 1);
      }
    }
    for (let start = from; start < to; start += blockRows) {
      const size = Math.min(blockRows, to - start);
      for (let f = 0; f < nFeatures; f++) {
        const col = columns[f] as Float64Array;
        for (let i = 0; i < size; i++) block[i * nFeatures + f] = col[start - columnsFrom + i] as number;
      }
      for (let t = 0; t < nTrees; t++) {
        const base = t * nInner;
        const leafBase = t * nLeaves - nInner;
        const out = t % nOutputs;
        // Four rows walk together: four independent chains of loads, and the left/right choice is
        // arithmetic rather than a branch the CPU would mispredict half of the time.
        let i = 0;
        for (; i + 4 <= size; i += 4) {
          const o0 = i * nFeatures;
          const o1 = o0 + nFeatures;
          const o2 = o1 + nFeatures;
          const o3 = o2 + nFeatures;
          let i0 = 0;
          let i1 = 0;
          let i2 = 0;
          let i3 = 0;
          for (let d = 0; d < depth; d++) {
            const k0 = base + i0;
            const k1 = base + i1;
            const k2 = base + i2;
            const k3 = base + i3;
            const v0 = block[o0 + (feat[k0] as number)] as number;
            const v1 = block[o1 + (feat[k1] as number)] as number;
            const v2 = block[o2 + (feat[k2] as number)] as number;
            const v3 = block[o3 + (feat[k3] as number)] as number;
            i0 = 2 * i0 + 2 - +(v0 <= (thr[k0] as number));
            i1 = 2 * i1 + 2 - +(v1 <= (thr[k1] as number));
            i2 = 2 * i2 + 2 - +(v2 <= (thr[k2] as number));
            i3 = 2 * i3 + 2 - +(v3 <= (thr[k3] as number));
            // NaN failed the comparison and went right; nodes that send missing values left correct that.
            if (v0 !== v0) i0 -= dl[k0] as number;
            if (v1 !== v1) i1 -= dl[k1] as number;
            if (v2 !== v2) i2 -= dl[k2] as number;
            if (v3 !== v3) i3 -= dl[k3] as number;
          }
          const r = (start + i) * nOutputs + out;
          raw[r] = (raw[r] as number) + (leaf[leafBase + i0] as number);
          raw[r + nOutputs] = (raw[r + nOutputs] as number) + (leaf[leafBase + i1] as number);
          raw[r + 2 * nOutputs] = (raw[r + 2 * nOutputs] as number) + (leaf[leafBase + i2] as number);
          raw[r + 3 * nOutputs] = (raw[r + 3 * nOutputs] as number) + (leaf[leafBase + i3] as number);
        }
        for (; i < size; i++) {
          const o = i * nFeatures;
          let idx = 0;
          for (let d = 0; d < depth; d++) {
            const k = base + idx;
            const v = block[o + (feat[k] as number)] as number;
            idx = 2 * idx + 2 - +(v <= (thr[k] as number));
            if (v !== v) idx -= dl[k] as number;
          }
          const r = (start + i) * nOutputs + out;
          raw[r] = (raw[r] as number) + (leaf[leafBase + idx] as number);
        }
      }
    }
    return;
  }
  for (let start = from; start < to; start += blockRows) {
    const size = Math.min(blockRows, to - start);
    for (let f = 0; f < nFeatures; f++) {
      const col = columns[f] as Float64Array;
      for (let i = 0; i < size; i++) block[i * nFeatures + f] = col[start - columnsFrom + i] as number;
    }
    for (let t = 0; t < nTrees; t++) {
      const root = roots[t] as number;
      const out = t % nOutputs;
      for (let i = 0; i < size; i++) {
        const o = i * nFeatures;
        let node = root;
        let f = walk[node] as number;
        while (f !== -1) {
          if (f >= 0) {
            const v = block[o + f] as number;
            if (v <= (threshold[node] as number)) node = left[node] as number;
            else if (v !== v && defaultLeft[node] === 1) node = left[node] as number;
            else node = right[node] as number;
          } else {
            const v = block[o - 2 - f] as number;
            if (v !== v) node = defaultLeft[node] === 1 ? (left[node] as number) : (right[node] as number);
            else {
              const code = v | 0;
              const word = categoryBits[(categories[node] as number) + (code >> 5)] as number;
              node = ((word >>> (code & 31)) & 1) === 1 ? (left[node] as number) : (right[node] as number);
            }
          }
          f = walk[node] as number;
        }
        const k = (start + i) * nOutputs + out;
        raw[k] = (raw[k] as number) + (value[node] as number);
      }
    }
  }
}

/**
 * Adds every tree's leaf values (nOutputs per node) of a random forest for rows [from, to) to
 * out[r * nOutputs + k], trees in order; `left` is the left child (the right child is left + 1), a missing
 * value goes left when defaultLeft is 1. `columns` start at row columnsFrom, as in predictKernel.
 */
export function forestKernel(
  feature: Int32Array,
  threshold: Float64Array,
  defaultLeft: Uint8Array,
  left: Int32Array,
  value: Float64Array,
  roots: Int32Array,
  columns: readonly Float64Array[],
  nOutputs: number,
  out: Float64Array,
  from: number,
  to: number,
  columnsFrom: number,
): void {
  const blockRows = 256;
  const nFeatures = columns.length;
  const block = new Float64Array(blockRows * nFeatures);
  const nTrees = roots.length;
  for (let start = from; start < to; start += blockRows) {
    const size = Math.min(blockRows, to - start);
    for (let f = 0; f < nFeatures; f++) {
      const col = columns[f] as Float64Array;
      for (let i = 0; i < size; i++) block[i * nFeatures + f] = col[start - columnsFrom + i] as number;
    }
    for (let t = 0; t < nTrees; t++) {
      const root = roots[t] as number;
      for (let i = 0; i < size; i++) {
        const o = i * nFeatures;
        let node = root;
        let f = feature[node] as number;
        while (f >= 0) {
          const v = block[o + f] as number;
          const goLeft = v <= (threshold[node] as number) || (v !== v && defaultLeft[node] === 1);
          node = (left[node] as number) + (goLeft ? 0 : 1);
          f = feature[node] as number;
        }
        const r = (start + i) * nOutputs;
        for (let k = 0; k < nOutputs; k++)
          out[r + k] = (out[r + k] as number) + (value[node * nOutputs + k] as number);
      }
    }
  }
}

/**
 * Adds each leaf's value to the raw scores (output k) of the rows in its range of `rows`, for leaves
 * [from, to): every row is in exactly one leaf, so threads with different leaves never write the same score.
 */
export function leafUpdateKernel(
  rows: Uint32Array,
  raw: Float64Array,
  nOutputs: number,
  k: number,
  starts: Int32Array,
  ends: Int32Array,
  values: Float64Array,
  from: number,
  to: number,
): void {
  for (let leaf = from; leaf < to; leaf++) {
    const value = values[leaf] as number;
    const end = ends[leaf] as number;
    for (let i = starts[leaf] as number; i < end; i++) {
      const j = (rows[i] as number) * nOutputs + k;
      raw[j] = (raw[j] as number) + value;
    }
  }
}

/**
 * Gradients and hessians of rows [from, to) for single-output objectives: kind 0 is squared error, 1 is
 * logistic; the same arithmetic as the "regression" and "binary" objectives (learn/gbdt/objectives.ts).
 */
export function gradientKernel(
  kind: number,
  y: Float64Array,
  raw: Float64Array,
  grad: Float32Array,
  hess: Float32Array,
  from: number,
  to: number,
): void {
  if (kind === 0) {
    for (let i = from; i < to; i++) {
      grad[i] = (raw[i] as number) - (y[i] as number);
      hess[i] = 1;
    }
    return;
  }
  for (let i = from; i < to; i++) {
    const p = 1 / (1 + Math.exp(-(raw[i] as number)));
    grad[i] = p - (y[i] as number);
    hess[i] = Math.max(p * (1 - p), 1e-16);
  }
}
