// Grows random-forest / extra-trees trees on binned data. Shipped to worker threads as source text
// (growTrees.toString()), so the function must not use anything defined outside its own body.

export interface GrowJob {
  /** Column-major bins: bins[f * nRows + r]; bin 255 holds missing values. */
  readonly bins: Uint8Array;
  readonly nRows: number;
  readonly nFeatures: number;
  /** Value bins per feature (the missing bin is on top). */
  readonly nBins: Uint16Array;
  /** Class index (classification) or value (regression) per row. */
  readonly y: Float64Array;
  /** Classes for classification, 0 for regression. */
  readonly nClasses: number;
  readonly treeFrom: number;
  readonly treeTo: number;
  readonly seed: number;
  /** Features drawn per split. */
  readonly maxFeatures: number;
  /** 0 for no limit. */
  readonly maxDepth: number;
  readonly minSamplesLeaf: number;
  readonly minSamplesSplit: number;
  readonly bootstrap: boolean;
  /** Rows drawn per tree (with replacement when bootstrapping). */
  readonly nSamples: number;
  /** Extra trees: one random cut per drawn feature instead of the best one. */
  readonly extraTrees: boolean;
  /** Epoch milliseconds after which no further tree starts (each job keeps at least its first tree). */
  readonly deadline?: number;
}

/**
 * One tree as node arrays: feature -1 marks a leaf; a row goes left when its bin <= bin (missing
 * rows follow defaultLeft); the right child is left + 1. value holds nOut numbers per node: class
 * probabilities (P(class 1) only for two classes) or the mean target.
 */
export interface GrownForestTree {
  readonly feature: Int32Array;
  readonly bin: Uint8Array;
  readonly defaultLeft: Uint8Array;
  readonly left: Int32Array;
  readonly value: Float64Array;
  /** Weighted impurity decrease of each split (0 for leaves), for feature importance. */
  readonly gain: Float64Array;
}

export function growTrees(job: GrowJob): GrownForestTree[] {
  const { bins, nRows, nFeatures, y, nClasses, maxFeatures, maxDepth, minSamplesLeaf } = job;
  const MISSING = 255;
  const SMALL = 48;
  const K = nClasses > 0 ? nClasses : 2; // regression keeps (sum w, sum w y) in two slots
  const nOut = nClasses === 0 ? 1 : nClasses === 2 ? 1 : nClasses;
  const isClassifier = nClasses > 0;
  const weight = new Float64Array(nRows);
  const rows = new Uint32Array(nRows);
  const scratch = new Uint32Array(nRows);
  const hist = new Float64Array(256 * K);
  const binCount = new Int32Array(256);
  const total = new Float64Array(K);
  const leftStats = new Float64Array(K);
  const missStats = new Float64Array(K);
  const order = new Int32Array(nFeatures);
  const smallBins = new Int32Array(SMALL);
  const smallRows = new Int32Array(SMALL);
  const trees: GrownForestTree[] = [];
  // Nodes of the tree being grown (reused across trees).
  const feature: number[] = [];
  const bin: number[] = [];
  const defaultLeft: number[] = [];
  const left: number[] = [];
  const gain: number[] = [];
  const value: number[] = [];
  const newNode = (): number => {
    feature.push(-1);
    bin.push(0);
    defaultLeft.push(0);
    left.push(-1);
    gain.push(0);
    for (let o = 0; o < nOut; o++) value.push(0);
    return feature.length - 1;
  };
  // State of the split search in the current node, shared with evaluate() (defined once so V8 keeps it optimised).
  let n = 0;
  let f = 0;
  let missingRows = 0;
  let hasMissing = false;
  let parentScore = 0;
  let bestGain = 0;
  let bestFeature: number;
  let bestBin: number;
  let bestMissingLeft: number;

  // xoshiro128** seeded by splitmix32, per tree, so a tree depends only on (seed, tree index).
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const seedRng = (seed: number): void => {
    let s = seed >>> 0;
    const mix = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    s0 = mix();
    s1 = mix();
    s2 = mix();
    s3 = mix();
  };
  const nextU32 = (): number => {
    const x = Math.imul(s1, 5);
    const r = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 11) | (s3 >>> 21);
    return r;
  };
  const randInt = (n: number): number => Math.floor((nextU32() / 4294967296) * n);

  // Score of a child from its stats: Σ c_k² / W (Gini) or S² / W (variance); larger is purer.
  const childScore = (stats: Float64Array, sign: number, other: Float64Array | null): number => {
    let w = 0;
    let q = 0;
    if (isClassifier) {
      for (let k = 0; k < K; k++) {
        const c = other ? (other[k] as number) - sign * (stats[k] as number) : (stats[k] as number);
        w += c;
        q += c * c;
      }
      return w > 0 ? q / w : 0;
    }
    const sw = other ? (other[0] as number) - sign * (stats[0] as number) : (stats[0] as number);
    const sy = other ? (other[1] as number) - sign * (stats[1] as number) : (stats[1] as number);
    return sw > 0 ? (sy * sy) / sw : 0;
  };

  const evaluate = (b: number, rowsLeft: number): void => {
    for (let ml = 0; ml < (hasMissing ? 2 : 1); ml++) {
      if (ml === 1)
        for (let k = 0; k < K; k++) leftStats[k] = (leftStats[k] as number) + (missStats[k] as number);
      const nLeft = rowsLeft + (ml === 1 ? missingRows : 0);
      if (nLeft >= minSamplesLeaf && n - nLeft >= minSamplesLeaf) {
        const g = childScore(leftStats, 0, null) + childScore(leftStats, 1, total) - parentScore;
        if (g > bestGain) {
          bestGain = g;
          bestFeature = f;
          bestBin = b;
          bestMissingLeft = ml;
        }
      }
      if (ml === 1)
        for (let k = 0; k < K; k++) leftStats[k] = (leftStats[k] as number) - (missStats[k] as number);
    }
  };

  /** Scores the cuts of feature f over rows[start, end); false when f is constant there. */
  const scanFeature = (start: number, end: number): boolean => {
    const offset = f * nRows;
    // Bins present in the node, with their stats: sorted small list or a 256-slot histogram.
    let lo = 256;
    let hi = -1;
    missStats.fill(0);
    let count = 0;
    missingRows = 0;
    if (n <= SMALL) {
      for (let i = start; i < end; i++) {
        const r = rows[i] as number;
        const b = bins[offset + r] as number;
        if (b === MISSING) {
          missingRows++;
          const w = weight[r] as number;
          if (isClassifier) missStats[y[r] as number] = (missStats[y[r] as number] as number) + w;
          else {
            missStats[0] = (missStats[0] as number) + w;
            missStats[1] = (missStats[1] as number) + w * (y[r] as number);
          }
          continue;
        }
        // Insertion sort by bin.
        let p = count++;
        while (p > 0 && (smallBins[p - 1] as number) > b) {
          smallBins[p] = smallBins[p - 1] as number;
          smallRows[p] = smallRows[p - 1] as number;
          p--;
        }
        smallBins[p] = b;
        smallRows[p] = r;
      }
      if (count > 0) {
        lo = smallBins[0] as number;
        hi = smallBins[count - 1] as number;
      }
    } else {
      for (let i = start; i < end; i++) {
        const r = rows[i] as number;
        const b = bins[offset + r] as number;
        if (b === MISSING) missingRows++;
        else {
          if (b < lo) lo = b;
          if (b > hi) hi = b;
        }
      }
      if (hi >= lo) {
        hist.fill(0, lo * K, (hi + 1) * K);
        binCount.fill(0, lo, hi + 1);
      }
      for (let i = start; i < end; i++) {
        const r = rows[i] as number;
        const b = bins[offset + r] as number;
        const w = weight[r] as number;
        if (b === MISSING) {
          if (isClassifier) missStats[y[r] as number] = (missStats[y[r] as number] as number) + w;
          else {
            missStats[0] = (missStats[0] as number) + w;
            missStats[1] = (missStats[1] as number) + w * (y[r] as number);
          }
        } else {
          binCount[b] = (binCount[b] as number) + 1;
          if (isClassifier) hist[b * K + (y[r] as number)] = (hist[b * K + (y[r] as number)] as number) + w;
          else {
            hist[b * K] = (hist[b * K] as number) + w;
            hist[b * K + 1] = (hist[b * K + 1] as number) + w * (y[r] as number);
          }
        }
      }
    }
    hasMissing = missingRows > 0;
    // Cuts after bin lo..lastCut; with missing values, "all present bins left, missing right" is one more.
    const lastCut = hasMissing ? hi : hi - 1;
    // A feature constant in the node (one bin, nothing missing) does not count as drawn (as scikit-learn).
    if (hi < 0 || lastCut < lo) return false;
    const extra = job.extraTrees;
    const cut = extra ? lo + randInt(lastCut - lo + 1) : -1;
    leftStats.fill(0);
    let rowsLeft = 0;
    if (n <= SMALL) {
      let p = 0;
      while (p < count) {
        const b = smallBins[p] as number;
        if ((extra && b > cut) || b > lastCut) break;
        while (p < count && smallBins[p] === b) {
          const r = smallRows[p] as number;
          const w = weight[r] as number;
          if (isClassifier) leftStats[y[r] as number] = (leftStats[y[r] as number] as number) + w;
          else {
            leftStats[0] = (leftStats[0] as number) + w;
            leftStats[1] = (leftStats[1] as number) + w * (y[r] as number);
          }
          rowsLeft++;
          p++;
        }
        if (!extra) evaluate(b, rowsLeft);
      }
    } else {
      const until = extra ? cut : lastCut;
      for (let b = lo; b <= until; b++) {
        const c = binCount[b] as number;
        if (c === 0) continue;
        for (let k = 0; k < K; k++) leftStats[k] = (leftStats[k] as number) + (hist[b * K + k] as number);
        rowsLeft += c;
        if (!extra) evaluate(b, rowsLeft);
      }
    }
    if (extra) evaluate(cut, rowsLeft);
    return true;
  };

  for (let tree = job.treeFrom; tree < job.treeTo; tree++) {
    if (job.deadline !== undefined && tree > job.treeFrom && Date.now() >= job.deadline) break;
    seedRng((job.seed * 1000003 + tree * 7919 + 17) >>> 0);
    weight.fill(0);
    if (job.bootstrap) {
      for (let i = 0; i < job.nSamples; i++) {
        const r = randInt(nRows);
        weight[r] = (weight[r] as number) + 1;
      }
    } else if (job.nSamples < nRows) {
      // Without replacement: a partial Fisher-Yates shuffle picks nSamples distinct rows.
      for (let i = 0; i < nRows; i++) scratch[i] = i;
      for (let i = 0; i < job.nSamples; i++) {
        const j = i + randInt(nRows - i);
        const t = scratch[i] as number;
        scratch[i] = scratch[j] as number;
        scratch[j] = t;
        weight[scratch[i] as number] = 1;
      }
    } else weight.fill(1);
    let nDistinct = 0;
    for (let r = 0; r < nRows; r++) if ((weight[r] as number) > 0) rows[nDistinct++] = r;

    feature.length = 0;
    bin.length = 0;
    defaultLeft.length = 0;
    left.length = 0;
    gain.length = 0;
    value.length = 0;
    // Depth-first stack of (node, start, end, depth).
    const stack: number[] = [newNode(), 0, nDistinct, 0];
    while (stack.length > 0) {
      const depth = stack.pop() as number;
      const end = stack.pop() as number;
      const start = stack.pop() as number;
      const node = stack.pop() as number;
      total.fill(0);
      for (let i = start; i < end; i++) {
        const r = rows[i] as number;
        const w = weight[r] as number;
        if (isClassifier) total[y[r] as number] = (total[y[r] as number] as number) + w;
        else {
          total[0] = (total[0] as number) + w;
          total[1] = (total[1] as number) + w * (y[r] as number);
        }
      }
      const wTotal = isClassifier ? total.reduce((a, b) => a + b, 0) : (total[0] as number);
      if (isClassifier) {
        if (nOut === 1) value[node] = (total[1] as number) / wTotal;
        else for (let k = 0; k < K; k++) value[node * nOut + k] = (total[k] as number) / wTotal;
      } else value[node] = (total[1] as number) / wTotal;
      n = end - start;
      let pure: boolean;
      if (isClassifier) {
        let nonZero = 0;
        for (let k = 0; k < K; k++) if ((total[k] as number) > 0) nonZero++;
        pure = nonZero <= 1;
      } else {
        let lo = Infinity;
        let hi = -Infinity;
        for (let i = start; i < end; i++) {
          const v = y[rows[i] as number] as number;
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        pure = lo === hi;
      }
      if (pure || n < job.minSamplesSplit || n < 2 * minSamplesLeaf || (maxDepth > 0 && depth >= maxDepth))
        continue;

      parentScore = childScore(total, 0, null);
      bestGain = 1e-12 * wTotal;
      bestFeature = -1;
      bestBin = 0;
      bestMissingLeft = 0;
      for (let f = 0; f < nFeatures; f++) order[f] = f;
      let informative = 0;
      for (let drawn = 0; drawn < nFeatures && informative < maxFeatures; drawn++) {
        const j = drawn + randInt(nFeatures - drawn);
        f = order[j] as number;
        order[j] = order[drawn] as number;
        order[drawn] = f;
        if (scanFeature(start, end)) informative++;
      }
      if (bestFeature < 0) continue;
      // Partition rows[start, end) by the chosen split.
      const offset = bestFeature * nRows;
      let nl = start;
      let nr = 0;
      for (let i = start; i < end; i++) {
        const r = rows[i] as number;
        const b = bins[offset + r] as number;
        if (b === MISSING ? bestMissingLeft === 1 : b <= bestBin) rows[nl++] = r;
        else scratch[nr++] = r;
      }
      for (let i = 0; i < nr; i++) rows[nl + i] = scratch[i] as number;
      if (nl === start || nl === end) continue;
      const l = newNode();
      newNode();
      feature[node] = bestFeature;
      bin[node] = bestBin;
      defaultLeft[node] = bestMissingLeft;
      left[node] = l;
      gain[node] = bestGain;
      stack.push(l + 1, nl, end, depth + 1, l, start, nl, depth + 1);
    }
    trees.push({
      feature: Int32Array.from(feature),
      bin: Uint8Array.from(bin),
      defaultLeft: Uint8Array.from(defaultLeft),
      left: Int32Array.from(left),
      value: Float64Array.from(value),
      gain: Float64Array.from(gain),
    });
  }
  return trees;
}
