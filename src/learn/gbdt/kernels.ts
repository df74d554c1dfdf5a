// The two hot loops (histogram building, tree walking) as self-contained functions, also run in worker threads.
// Each function is shipped to workers as source text (fn.toString()), so it must not use anything defined
// outside its own body: no imports, no module constants, no helper functions.

/**
 * Adds gradients/hessians of rows[start..start+n) into hist for features[from..to): hist slot of (feature f,
 * bin b) is f * 512 + 2b (gradient) and +1 (hessian). Gradients come pre-gathered in row order. Features are
 * taken eight (then four) at a time so each row's index and gradient are loaded once per group.
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
  for (; k < to; k++) {
    const f = features[k] as number;
    const o = f * nRows;
    const base = f * 512;
    for (let i = 0; i < n; i++) {
      const s = base + ((bins[o + (rows[start + i] as number)] as number) << 1);
      hist[s] = (hist[s] as number) + (orderedGrad[i] as number);
      hist[s + 1] = (hist[s + 1] as number) + (orderedHess[i] as number);
    }
  }
}

/**
 * Adds the forest's output for rows [from, to) to raw[r * nOutputs + tree % nOutputs]; `columns` holds one
 * array per model feature (NaN = missing). Rows are copied in blocks of 512 into a row-major buffer so
 * that walking a tree reads one small region of memory per row. `walk` is the node's feature for numeric
 * splits, -2 - feature for categorical splits (tested against the node's bit set) and -1 for leaves, so
 * that forests without categorical splits pay a single well-predicted sign test.
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
): void {
  const blockRows = 512;
  const nFeatures = columns.length;
  const block = new Float64Array(blockRows * nFeatures);
  const nTrees = roots.length;
  for (let start = from; start < to; start += blockRows) {
    const size = Math.min(blockRows, to - start);
    for (let f = 0; f < nFeatures; f++) {
      const col = columns[f] as Float64Array;
      for (let i = 0; i < size; i++) block[i * nFeatures + f] = col[start + i] as number;
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
