// Grows one regression tree on binned data from gradient/hessian histograms (XGBoost "hist" style).
import { MISSING_BIN } from "./binning.ts";
import { buildHistogram, partitionRows, SLOT_STRIDE, takeHist, type GrowWorkspace } from "./histogram.ts";

const MISSING_SLOT = MISSING_BIN * 2;
const MIN_GAIN = 1e-10;

export interface TreeSettings {
  readonly maxDepth: number;
  /** 0 grows level by level; otherwise best-gain-first up to this many leaves. */
  readonly numLeaves: number;
  readonly minChildWeight: number;
  readonly lambda: number;
  readonly alpha: number;
  readonly gamma: number;
  readonly learningRate: number;
}

/**
 * A tree in node arrays; feature -1 marks a leaf, whose `value` is already scaled by the learning rate.
 * A numeric split sends bins <= bin left; a categorical split sends the bins in its 256-bit set left.
 */
export interface GrownTree {
  readonly feature: number[];
  readonly bin: number[];
  readonly categories: (Int32Array | null)[];
  readonly defaultLeft: boolean[];
  readonly left: number[];
  readonly right: number[];
  readonly value: number[];
  readonly gain: number[];
  /** Sum of the training hessians reaching each node (XGBoost's "cover"): TreeSHAP's reference weights. */
  readonly cover: number[];
}

interface Split {
  feature: number;
  bin: number;
  categories: Int32Array | null;
  defaultLeft: boolean;
  gain: number;
  gradLeft: number;
  hessLeft: number;
}

interface Candidate {
  id: number;
  start: number;
  end: number;
  depth: number;
  grad: number;
  hess: number;
  hist: Float64Array | null;
  split: Split | null;
}

/**
 * Grows a tree over rows[0..nRows) of the workspace using the given features. `onLeaf` receives the
 * row range of each leaf, so the caller can update training scores without walking the tree.
 */
export function growTree(
  ws: GrowWorkspace,
  nRows: number,
  features: Int32Array,
  settings: TreeSettings,
  onLeaf: (start: number, end: number, value: number) => void,
): GrownTree {
  const tree: GrownTree = {
    feature: [],
    bin: [],
    categories: [],
    defaultLeft: [],
    left: [],
    right: [],
    value: [],
    gain: [],
    cover: [],
  };
  const newNode = (): number => {
    tree.feature.push(-1);
    tree.bin.push(0);
    tree.categories.push(null);
    tree.defaultLeft.push(false);
    tree.left.push(-1);
    tree.right.push(-1);
    tree.value.push(0);
    tree.gain.push(0);
    tree.cover.push(0);
    return tree.feature.length - 1;
  };
  const canSplit = (c: { depth: number; hess: number; start: number; end: number }): boolean =>
    (settings.maxDepth === 0 || c.depth < settings.maxDepth) &&
    c.end - c.start >= 2 &&
    c.hess >= 2 * settings.minChildWeight;
  const makeLeaf = (c: Candidate): void => {
    const value = leafWeight(c.grad, c.hess, settings) * settings.learningRate;
    tree.value[c.id] = value;
    onLeaf(c.start, c.end, value);
    if (c.hist) ws.histPool.push(c.hist);
    c.hist = null;
  };
  const prepare = (c: Candidate): void => {
    if (c.hist) c.split = findBestSplit(ws, c.hist, c.grad, c.hess, features, settings);
  };

  let rootGrad = 0;
  let rootHess = 0;
  // Gradients are gathered into row order once per tree; partitioning then keeps them in step with the rows.
  const { rows, grad, hess, orderedGrad, orderedHess } = ws;
  for (let i = 0; i < nRows; i++) {
    const r = rows[i] as number;
    const g = grad[r] as number;
    const h = hess[r] as number;
    orderedGrad[i] = g;
    orderedHess[i] = h;
    rootGrad += g;
    rootHess += h;
  }
  const root: Candidate = {
    id: newNode(),
    start: 0,
    end: nRows,
    depth: 0,
    grad: rootGrad,
    hess: rootHess,
    hist: null,
    split: null,
  };
  tree.cover[root.id] = rootHess;
  if (canSplit(root)) {
    root.hist = takeHist(ws);
    buildHistogram(ws, root.hist, 0, nRows, features);
    prepare(root);
  }

  const open: Candidate[] = [root];
  let leaves = 1;
  const leafWise = settings.numLeaves > 0;
  while (open.length > 0) {
    let pick = 0;
    if (leafWise) {
      for (let i = 1; i < open.length; i++) {
        if (((open[i] as Candidate).split?.gain ?? -1) > ((open[pick] as Candidate).split?.gain ?? -1))
          pick = i;
      }
    }
    const c = open.splice(pick, 1)[0] as Candidate;
    const split = c.split;
    if (!split || (leafWise && leaves >= settings.numLeaves)) {
      makeLeaf(c);
      continue;
    }
    const mid = partitionRows(ws, c.start, c.end, split);
    const left: Candidate = {
      id: newNode(),
      start: c.start,
      end: mid,
      depth: c.depth + 1,
      grad: split.gradLeft,
      hess: split.hessLeft,
      hist: null,
      split: null,
    };
    const right: Candidate = {
      id: newNode(),
      start: mid,
      end: c.end,
      depth: c.depth + 1,
      grad: c.grad - split.gradLeft,
      hess: c.hess - split.hessLeft,
      hist: null,
      split: null,
    };
    tree.cover[left.id] = left.hess;
    tree.cover[right.id] = right.hess;
    tree.feature[c.id] = split.feature;
    tree.bin[c.id] = split.bin;
    tree.categories[c.id] = split.categories;
    tree.defaultLeft[c.id] = split.defaultLeft;
    tree.left[c.id] = left.id;
    tree.right[c.id] = right.id;
    tree.gain[c.id] = split.gain;
    leaves++;
    childHistograms(ws, c.hist as Float64Array, left, right, canSplit(left), canSplit(right), features);
    prepare(left);
    prepare(right);
    open.push(left, right);
  }
  return tree;
}

/**
 * The subtraction trick: build the histogram of the smaller child from its rows and get the larger
 * one as parent minus smaller, reusing the parent's buffer.
 */
function childHistograms(
  ws: GrowWorkspace,
  parent: Float64Array,
  left: Candidate,
  right: Candidate,
  needLeft: boolean,
  needRight: boolean,
  features: Int32Array,
): void {
  if (!needLeft && !needRight) {
    ws.histPool.push(parent);
    return;
  }
  const leftSmaller = left.end - left.start <= right.end - right.start;
  const small = leftSmaller ? left : right;
  const large = leftSmaller ? right : left;
  const needSmall = leftSmaller ? needLeft : needRight;
  const needLarge = leftSmaller ? needRight : needLeft;
  const smallHist = takeHist(ws);
  buildHistogram(ws, smallHist, small.start, small.end, features);
  if (needLarge) {
    for (let k = 0; k < features.length; k++) {
      const base = (features[k] as number) * SLOT_STRIDE;
      for (let s = base; s < base + SLOT_STRIDE; s++)
        parent[s] = (parent[s] as number) - (smallHist[s] as number);
    }
    large.hist = parent;
  } else {
    ws.histPool.push(parent);
  }
  if (needSmall) small.hist = smallHist;
  else ws.histPool.push(smallHist);
}

function findBestSplit(
  ws: GrowWorkspace,
  hist: Float64Array,
  grad: number,
  hess: number,
  features: Int32Array,
  settings: TreeSettings,
): Split | null {
  const { lambda, alpha, minChildWeight } = settings;
  const parentScore = score(grad, hess, lambda, alpha);
  const threshold = Math.max(settings.gamma, MIN_GAIN);
  let best: Split | null = null;
  let bestGain = threshold;
  for (let k = 0; k < features.length; k++) {
    const f = features[k] as number;
    if (ws.isCategorical[f] === 1) {
      const found = bestCategorySplit(ws, hist, f, grad, hess, parentScore, bestGain, settings);
      if (found) {
        best = found;
        bestGain = found.gain;
      }
      continue;
    }
    const nb = ws.nBins[f] as number;
    const base = f * SLOT_STRIDE;
    const gMissing = hist[base + MISSING_SLOT] as number;
    const hMissing = hist[base + MISSING_SLOT + 1] as number;
    const hasMissing = hMissing > 0;
    let gl = 0;
    let hl = 0;
    for (let b = 0; b < nb - 1; b++) {
      gl += hist[base + 2 * b] as number;
      hl += hist[base + 2 * b + 1] as number;
      // Missing values go right.
      const hr = hess - hl;
      if (hl >= minChildWeight && hr >= minChildWeight && hl > 0 && hr > 0) {
        const gain = score(gl, hl, lambda, alpha) + score(grad - gl, hr, lambda, alpha) - parentScore;
        if (gain > bestGain) {
          bestGain = gain;
          // Without missing values in training, unseen missing values follow the heavier child.
          const defaultLeft = !hasMissing && hl >= hr;
          best = { feature: f, bin: b, categories: null, defaultLeft, gain, gradLeft: gl, hessLeft: hl };
        }
      }
      if (!hasMissing) continue;
      // Missing values go left.
      const gl2 = gl + gMissing;
      const hl2 = hl + hMissing;
      const hr2 = hess - hl2;
      if (hl2 >= minChildWeight && hr2 >= minChildWeight && hr2 > 0) {
        const gain = score(gl2, hl2, lambda, alpha) + score(grad - gl2, hr2, lambda, alpha) - parentScore;
        if (gain > bestGain) {
          bestGain = gain;
          best = {
            feature: f,
            bin: b,
            categories: null,
            defaultLeft: true,
            gain,
            gradLeft: gl2,
            hessLeft: hl2,
          };
        }
      }
    }
  }
  return best;
}

/**
 * Best split of a categorical feature into two sets of categories (LightGBM's method): order the
 * categories present by gradient / hessian, then scan that order as if it were a numeric feature.
 */
function bestCategorySplit(
  ws: GrowWorkspace,
  hist: Float64Array,
  f: number,
  grad: number,
  hess: number,
  parentScore: number,
  bestGain: number,
  settings: TreeSettings,
): Split | null {
  const { lambda, alpha, minChildWeight } = settings;
  const base = f * SLOT_STRIDE;
  const present: number[] = [];
  for (let b = 0; b < (ws.nBins[f] as number); b++)
    if ((hist[base + 2 * b + 1] as number) > 0) present.push(b);
  if (present.length < 2) return null;
  const ratio = (b: number): number =>
    (hist[base + 2 * b] as number) / ((hist[base + 2 * b + 1] as number) + lambda);
  present.sort((a, b) => ratio(a) - ratio(b) || a - b);
  const gMissing = hist[base + MISSING_SLOT] as number;
  const hMissing = hist[base + MISSING_SLOT + 1] as number;
  let found: { count: number; defaultLeft: boolean; gain: number; gl: number; hl: number } | null = null;
  let gl = 0;
  let hl = 0;
  for (let i = 0; i + 1 < present.length; i++) {
    const b = present[i] as number;
    gl += hist[base + 2 * b] as number;
    hl += hist[base + 2 * b + 1] as number;
    for (const missingLeft of hMissing > 0 ? [false, true] : [false]) {
      const gL = missingLeft ? gl + gMissing : gl;
      const hL = missingLeft ? hl + hMissing : hl;
      const hR = hess - hL;
      if (hL < minChildWeight || hR < minChildWeight || hL <= 0 || hR <= 0) continue;
      const gain = score(gL, hL, lambda, alpha) + score(grad - gL, hR, lambda, alpha) - parentScore;
      if (gain > bestGain) {
        bestGain = gain;
        const defaultLeft = missingLeft || (hMissing === 0 && hL >= hR);
        found = { count: i + 1, defaultLeft, gain, gl: gL, hl: hL };
      }
    }
  }
  if (!found) return null;
  const categories = new Int32Array(8);
  for (let i = 0; i < found.count; i++) {
    const b = present[i] as number;
    categories[b >> 5] = (categories[b >> 5] as number) | (1 << (b & 31));
  }
  return {
    feature: f,
    bin: 0,
    categories,
    defaultLeft: found.defaultLeft,
    gain: found.gain,
    gradLeft: found.gl,
    hessLeft: found.hl,
  };
}

function thresholdL1(g: number, alpha: number): number {
  if (g > alpha) return g - alpha;
  if (g < -alpha) return g + alpha;
  return 0;
}

function score(g: number, h: number, lambda: number, alpha: number): number {
  const t = alpha === 0 ? g : thresholdL1(g, alpha);
  return (t * t) / (h + lambda);
}

export function leafWeight(g: number, h: number, settings: { lambda: number; alpha: number }): number {
  return -thresholdL1(g, settings.alpha) / (h + settings.lambda);
}
