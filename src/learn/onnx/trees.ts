// Flat forests → the node/target attribute lists of ai.onnx.ml TreeEnsembleRegressor/Classifier.
// Numeric splits become BRANCH_LEQ; a categorical set split becomes a chain of BRANCH_EQ nodes whose
// true branches all point at the same left child; missing values follow the learned default direction.
import type { TreeArrays } from "../explain/tree-shap.ts";
import { DataType, type OnnxAttribute } from "./model-proto.ts";

export interface EnsembleLists {
  readonly treeIds: number[];
  readonly nodeIds: number[];
  readonly featureIds: number[];
  readonly modes: string[];
  readonly values: number[];
  readonly trueIds: number[];
  readonly falseIds: number[];
  readonly missingTrue: number[];
  /** One entry per leaf: tree, node, output (target or class) and weight. */
  readonly leafTree: number[];
  readonly leafNode: number[];
  readonly leafOutput: number[];
  readonly leafWeight: number[];
}

/**
 * @param nCategories per feature, the dictionary size of a categorical feature (codes beyond it never occur)
 * @param leafScale factor on every leaf (a random forest averages its trees)
 * @param valuesPerNode 1 when tree t feeds output t % nOutputs (boosting); K when every leaf holds one
 *   value per output (a random forest's class probabilities)
 */
export function ensembleLists(
  forest: TreeArrays,
  nOutputs: number,
  nCategories: readonly number[],
  leafScale = 1,
  valuesPerNode = 1,
): EnsembleLists {
  const l: EnsembleLists = {
    treeIds: [],
    nodeIds: [],
    featureIds: [],
    modes: [],
    values: [],
    trueIds: [],
    falseIds: [],
    missingTrue: [],
    leafTree: [],
    leafNode: [],
    leafOutput: [],
    leafWeight: [],
  };
  for (let t = 0; t < forest.roots.length; t++) {
    const root = forest.roots[t] as number;
    // Ids inside a tree: original nodes first (by a depth-first walk), chain nodes get fresh ids after.
    const ids = new Map<number, number>();
    const order: number[] = [];
    const stack = [root];
    while (stack.length > 0) {
      const node = stack.pop() as number;
      ids.set(node, order.length);
      order.push(node);
      if ((forest.feature[node] as number) >= 0) {
        stack.push(forest.right[node] as number, forest.left[node] as number);
      }
    }
    let nextId = order.length;
    const emit = (
      id: number,
      f: number,
      mode: string,
      value: number,
      yes: number,
      no: number,
      miss: number,
    ): void => {
      l.treeIds.push(t);
      l.nodeIds.push(id);
      l.featureIds.push(f);
      l.modes.push(mode);
      l.values.push(value);
      l.trueIds.push(yes);
      l.falseIds.push(no);
      l.missingTrue.push(miss);
    };
    for (const node of order) {
      const id = ids.get(node) as number;
      const f = forest.feature[node] as number;
      if (f < 0) {
        emit(id, 0, "LEAF", 0, 0, 0, 0);
        for (let k = 0; k < valuesPerNode; k++) {
          l.leafTree.push(t);
          l.leafNode.push(id);
          l.leafOutput.push(valuesPerNode === 1 ? t % nOutputs : k);
          l.leafWeight.push((forest.value[node * valuesPerNode + k] as number) * leafScale);
        }
        continue;
      }
      const left = ids.get(forest.left[node] as number) as number;
      const right = ids.get(forest.right[node] as number) as number;
      const miss = forest.defaultLeft[node] as number;
      const set = forest.categories[node] as number;
      if (set < 0) {
        emit(id, f, "BRANCH_LEQ", forest.threshold[node] as number, left, right, miss);
        continue;
      }
      const members: number[] = [];
      const size = Math.min(nCategories[f] ?? 256, 256);
      for (let c = 0; c < size; c++) {
        if ((((forest.categoryBits[set + (c >> 5)] as number) >>> (c & 31)) & 1) === 1) members.push(c);
      }
      if (members.length === 0) {
        // Nothing goes left except missing values: a test no category passes.
        emit(id, f, "BRANCH_LT", -1, left, right, miss);
        continue;
      }
      members.forEach((c, j) => {
        const here = j === 0 ? id : nextId++;
        const no = j === members.length - 1 ? right : nextId;
        // Only the first test may send missing values left; later ones see them as "not this category".
        emit(here, f, "BRANCH_EQ", c, left, no, j === 0 ? miss : 0);
      });
    }
  }
  return l;
}

/** The node attributes shared by TreeEnsembleRegressor and TreeEnsembleClassifier (ai.onnx.ml opset 3). */
export function nodeAttributes(l: EnsembleLists): OnnxAttribute[] {
  return [
    { name: "nodes_treeids", ints: l.treeIds },
    { name: "nodes_nodeids", ints: l.nodeIds },
    { name: "nodes_featureids", ints: l.featureIds },
    { name: "nodes_modes", strings: l.modes },
    // Thresholds as doubles, so a float64 input is compared exactly as the native model does.
    {
      name: "nodes_values_as_tensor",
      t: { dataType: DataType.DOUBLE, dims: [l.values.length], doubles: l.values },
    },
    { name: "nodes_truenodeids", ints: l.trueIds },
    { name: "nodes_falsenodeids", ints: l.falseIds },
    { name: "nodes_missing_value_tracks_true", ints: l.missingTrue },
  ];
}
