// Exact path-dependent TreeSHAP (Lundberg et al. 2020, Algorithm 2) over flat typed-array tree ensembles.
// Polynomial time: O(leaves × depth²) per tree and row, instead of the exponential subset enumeration.

/**
 * What TreeSHAP needs from a tree ensemble, in the layout of learn/gbdt's FlatForest: one entry per node,
 * feature -1 for leaves; a numeric split sends value <= threshold left; a categorical split (categories >= 0)
 * sends codes whose bit is set in its 8-word set left; a missing value (NaN) goes left when defaultLeft is 1.
 */
export interface TreeArrays {
  readonly feature: Int32Array;
  readonly threshold: Float64Array;
  readonly categories: Int32Array;
  readonly categoryBits: Int32Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly defaultLeft: Uint8Array;
  readonly value: Float64Array;
  /** Root node of each tree; tree t adds to output t % nOutputs. */
  readonly roots: Int32Array;
}

/** The child a value goes to, exactly as the prediction kernel decides. */
export function childFor(trees: TreeArrays, node: number, v: number): number {
  const cat = trees.categories[node] as number;
  if (v !== v)
    return trees.defaultLeft[node] === 1 ? (trees.left[node] as number) : (trees.right[node] as number);
  if (cat < 0)
    return v <= (trees.threshold[node] as number)
      ? (trees.left[node] as number)
      : (trees.right[node] as number);
  const code = v | 0;
  const word = (trees.categoryBits[cat + (code >> 5)] ?? 0) | 0;
  return ((word >>> (code & 31)) & 1) === 1 ? (trees.left[node] as number) : (trees.right[node] as number);
}

/** Maximum depth (edges from root to deepest leaf) of the tree rooted at `root`. */
export function treeDepth(trees: TreeArrays, root: number): number {
  let deepest = 0;
  const stack = [root, 0];
  while (stack.length > 0) {
    const depth = stack.pop() as number;
    const node = stack.pop() as number;
    if ((trees.feature[node] as number) < 0) deepest = Math.max(deepest, depth);
    else stack.push(trees.left[node] as number, depth + 1, trees.right[node] as number, depth + 1);
  }
  return deepest;
}

/**
 * The fraction of the reference data (node covers) that goes to each child: fraction[child] =
 * cover[child] / (cover[left] + cover[right]). Normalising by the children's sum keeps the two fractions
 * summing to exactly 1 (so additivity holds); a split that no reference row reached counts as 50/50.
 */
export function childFractions(trees: TreeArrays, cover: Float64Array): Float64Array {
  const fraction = new Float64Array(cover.length);
  for (const root of trees.roots) fraction[root] = 1;
  for (let node = 0; node < trees.feature.length; node++) {
    if ((trees.feature[node] as number) < 0) continue;
    const l = trees.left[node] as number;
    const r = trees.right[node] as number;
    const total = (cover[l] as number) + (cover[r] as number);
    fraction[l] = total > 0 ? (cover[l] as number) / total : 0.5;
    fraction[r] = total > 0 ? (cover[r] as number) / total : 0.5;
  }
  return fraction;
}

/** Expected output of the tree at `root` under the reference distribution given by the fractions. */
export function treeExpectation(trees: TreeArrays, fraction: Float64Array, root: number): number {
  let sum = 0;
  const stack = [root, 1];
  while (stack.length > 0) {
    const weight = stack.pop() as number;
    const node = stack.pop() as number;
    if ((trees.feature[node] as number) < 0) sum += weight * (trees.value[node] as number);
    else {
      const l = trees.left[node] as number;
      const r = trees.right[node] as number;
      stack.push(l, weight * (fraction[l] as number), r, weight * (fraction[r] as number));
    }
  }
  return sum;
}

/**
 * Reusable scratch for one tree depth: the "unique path" of (feature, zero fraction, one fraction, weight)
 * elements, one block per recursion level (the algorithm copies the parent's path before extending it).
 */
export class ShapWorkspace {
  readonly features: Int32Array;
  readonly zeros: Float64Array;
  readonly ones: Float64Array;
  readonly weights: Float64Array;

  constructor(maxDepth: number) {
    const d = maxDepth + 2;
    const size = (d * (d + 1)) / 2;
    this.features = new Int32Array(size);
    this.zeros = new Float64Array(size);
    this.ones = new Float64Array(size);
    this.weights = new Float64Array(size);
  }
}

/**
 * Adds the SHAP values of one tree for one row to phi[feature * stride + out]. `x(f)` reads the row's
 * value of feature f (NaN = missing, category code for categorical features).
 */
export function treeShap(
  trees: TreeArrays,
  fraction: Float64Array,
  root: number,
  row: Float64Array,
  ws: ShapWorkspace,
  phi: Float64Array,
  stride: number,
  out: number,
): void {
  recurse(trees, fraction, row, ws, phi, stride, out, root, 0, 0, 0, 1, 1, -1);
}

function recurse(
  t: TreeArrays,
  fraction: Float64Array,
  row: Float64Array,
  ws: ShapWorkspace,
  phi: Float64Array,
  stride: number,
  out: number,
  node: number,
  parentStart: number,
  depthIn: number,
  start: number,
  zeroFraction: number,
  oneFraction: number,
  featureIndex: number,
): void {
  let depth = depthIn;
  const { features, zeros, ones, weights } = ws;
  // This level's path starts right after the parent's, which it copies before extending.
  if (depth > 0) {
    features.copyWithin(start, parentStart, parentStart + depth);
    zeros.copyWithin(start, parentStart, parentStart + depth);
    ones.copyWithin(start, parentStart, parentStart + depth);
    weights.copyWithin(start, parentStart, parentStart + depth);
  }
  extendPath(ws, start, depth, zeroFraction, oneFraction, featureIndex);

  const split = t.feature[node] as number;
  if (split < 0) {
    const leaf = t.value[node] as number;
    for (let i = 1; i <= depth; i++) {
      const w = unwoundPathSum(ws, start, depth, i);
      const k = start + i;
      const f = features[k] as number;
      const idx = f * stride + out;
      phi[idx] = (phi[idx] as number) + w * ((ones[k] as number) - (zeros[k] as number)) * leaf;
    }
    return;
  }

  const hot = childFor(t, node, row[split] as number);
  const cold = hot === t.left[node] ? (t.right[node] as number) : (t.left[node] as number);
  let incomingZero = 1;
  let incomingOne = 1;
  // A feature met again on the path: undo its earlier split, so that each feature appears once.
  let pathIndex = 0;
  for (; pathIndex <= depth; pathIndex++) if (features[start + pathIndex] === split) break;
  if (pathIndex !== depth + 1) {
    incomingZero = zeros[start + pathIndex] as number;
    incomingOne = ones[start + pathIndex] as number;
    unwindPath(ws, start, depth, pathIndex);
    depth -= 1;
  }
  const next = start + depth + 1;
  const hotZero = (fraction[hot] as number) * incomingZero;
  const coldZero = (fraction[cold] as number) * incomingZero;
  // A branch with both fractions zero carries zero weight everywhere below it: skip it (and its 0/0).
  if (hotZero !== 0 || incomingOne !== 0) {
    recurse(t, fraction, row, ws, phi, stride, out, hot, start, depth + 1, next, hotZero, incomingOne, split);
  }
  if (coldZero !== 0) {
    recurse(t, fraction, row, ws, phi, stride, out, cold, start, depth + 1, next, coldZero, 0, split);
  }
}

function extendPath(
  ws: ShapWorkspace,
  s: number,
  depth: number,
  zeroFraction: number,
  oneFraction: number,
  featureIndex: number,
): void {
  const { features, zeros, ones, weights } = ws;
  features[s + depth] = featureIndex;
  zeros[s + depth] = zeroFraction;
  ones[s + depth] = oneFraction;
  weights[s + depth] = depth === 0 ? 1 : 0;
  for (let i = depth - 1; i >= 0; i--) {
    weights[s + i + 1] =
      (weights[s + i + 1] as number) + (oneFraction * (weights[s + i] as number) * (i + 1)) / (depth + 1);
    weights[s + i] = (zeroFraction * (weights[s + i] as number) * (depth - i)) / (depth + 1);
  }
}

function unwindPath(ws: ShapWorkspace, s: number, depth: number, pathIndex: number): void {
  const { features, zeros, ones, weights } = ws;
  const oneFraction = ones[s + pathIndex] as number;
  const zeroFraction = zeros[s + pathIndex] as number;
  let nextOnePortion = weights[s + depth] as number;
  for (let i = depth - 1; i >= 0; i--) {
    if (oneFraction !== 0) {
      const tmp = weights[s + i] as number;
      weights[s + i] = (nextOnePortion * (depth + 1)) / ((i + 1) * oneFraction);
      nextOnePortion = tmp - ((weights[s + i] as number) * zeroFraction * (depth - i)) / (depth + 1);
    } else {
      weights[s + i] = ((weights[s + i] as number) * (depth + 1)) / (zeroFraction * (depth - i));
    }
  }
  for (let i = pathIndex; i < depth; i++) {
    features[s + i] = features[s + i + 1] as number;
    zeros[s + i] = zeros[s + i + 1] as number;
    ones[s + i] = ones[s + i + 1] as number;
  }
}

function unwoundPathSum(ws: ShapWorkspace, s: number, depth: number, pathIndex: number): number {
  const { zeros, ones, weights } = ws;
  const oneFraction = ones[s + pathIndex] as number;
  const zeroFraction = zeros[s + pathIndex] as number;
  let nextOnePortion = weights[s + depth] as number;
  let total = 0;
  for (let i = depth - 1; i >= 0; i--) {
    if (oneFraction !== 0) {
      const tmp = (nextOnePortion * (depth + 1)) / ((i + 1) * oneFraction);
      total += tmp;
      nextOnePortion = (weights[s + i] as number) - (tmp * zeroFraction * (depth - i)) / (depth + 1);
    } else if (zeroFraction !== 0) {
      total += (weights[s + i] as number) / zeroFraction / ((depth - i) / (depth + 1));
    }
  }
  return total;
}
