// TreeSHAP for random forests / extra trees: leaves hold one value per output (class probabilities), so
// the forest is viewed as K single-output copies, and every tree counts 1 / nTrees.
import type { Frame } from "../frame.ts";
import type { ForestModel } from "../random-forest/model.ts";
import { attachedCoversOf, explainTrees, type ExplainOptions, type Explanation } from "./explain.ts";
import type { TreeArrays } from "./tree-shap.ts";

/** A forest's nodes in the layout TreeSHAP and the ONNX writer share (no category sets; right = left + 1). */
export function forestArrays(model: ForestModel): TreeArrays {
  const n = model.nodes;
  return {
    feature: n.feature,
    threshold: n.threshold,
    categories: new Int32Array(n.feature.length).fill(-1),
    categoryBits: new Int32Array(0),
    left: n.left,
    right: n.left.map((l) => (l < 0 ? -1 : l + 1)),
    defaultLeft: n.defaultLeft,
    value: n.value,
    roots: n.roots,
  };
}

const expanded = new WeakMap<ForestModel, TreeArrays>();

/** K copies of the forest, copy k holding output k's leaf values; tree t * K + k feeds output k. */
function perOutputForest(model: ForestModel): TreeArrays {
  const cached = expanded.get(model);
  if (cached) return cached;
  const base = forestArrays(model);
  const K = model.nOutputs;
  const N = base.feature.length;
  const tile = <T extends Int32Array | Float64Array | Uint8Array>(
    a: T,
    make: (n: number) => T,
    shift: boolean,
  ): T => {
    const out = make(N * K);
    for (let k = 0; k < K; k++) {
      for (let i = 0; i < N; i++) {
        const v = a[i] as number;
        out[k * N + i] = shift && v >= 0 ? v + k * N : v;
      }
    }
    return out;
  };
  const value = new Float64Array(N * K);
  for (let k = 0; k < K; k++) for (let i = 0; i < N; i++) value[k * N + i] = base.value[i * K + k] as number;
  const roots = new Int32Array(base.roots.length * K);
  for (let t = 0; t < base.roots.length; t++) {
    for (let k = 0; k < K; k++) roots[t * K + k] = (base.roots[t] as number) + k * N;
  }
  const forest: TreeArrays = {
    feature: tile(base.feature, (n) => new Int32Array(n), false),
    threshold: tile(base.threshold, (n) => new Float64Array(n), false),
    categories: new Int32Array(N * K).fill(-1),
    categoryBits: base.categoryBits,
    left: tile(base.left, (n) => new Int32Array(n), true),
    right: tile(base.right, (n) => new Int32Array(n), true),
    defaultLeft: tile(base.defaultLeft, (n) => new Uint8Array(n), false),
    value,
    roots,
  };
  expanded.set(model, forest);
  return forest;
}

/**
 * Exact TreeSHAP for a random forest: contributions on the probability (classifiers) or value scale.
 * Covers come from `options` or from `attachCovers(model, …)` (one per node of the forest), else are
 * counted on `options.background` or on the explained rows.
 *
 * @example
 * const e = explainForest(model, test, { background: train });
 */
export function explainForest(model: ForestModel, frame: Frame, options: ExplainOptions = {}): Explanation {
  const K = model.nOutputs;
  const forest = K === 1 ? forestArrays(model) : perOutputForest(model);
  let covers = options.covers ?? attachedCoversOf(model);
  if (covers && K > 1 && covers.length * K === forest.feature.length) {
    const N = covers.length;
    const tiled = new Float64Array(N * K);
    for (let k = 0; k < K; k++) tiled.set(covers, k * N);
    covers = tiled;
  }
  const view = {
    forest,
    features: model.features,
    nOutputs: K,
    baseScore: new Array<number>(K).fill(0),
    leafScale: 1 / model.nTrees,
  };
  return explainTrees({}, view, frame, { ...options, ...(covers ? { covers } : {}) });
}
