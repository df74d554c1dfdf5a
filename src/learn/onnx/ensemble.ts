// The ai.onnx.ml TreeEnsembleRegressor / TreeEnsembleClassifier node of any loopml tree model, reading a
// [N, F] double "features" tensor: shared by the GBDT and random-forest exports.
import { DataType, type OnnxNode, type OnnxValueInfo } from "./model-proto.ts";
import { nodeAttributes, type EnsembleLists } from "./trees.ts";

export const ML = "ai.onnx.ml";

export function doubles(values: readonly number[]): {
  dataType: number;
  dims: number[];
  doubles: readonly number[];
} {
  return { dataType: DataType.DOUBLE, dims: [values.length], doubles: values };
}

export interface EnsembleOptions {
  /** Classes for a classifier (2 for binary); 0 for a regressor. */
  readonly nClasses: number;
  readonly baseValues: readonly number[];
  /** "NONE", "LOGISTIC" (binary boosting) or "SOFTMAX" (multiclass boosting). */
  readonly postTransform: string;
  /** Name of the regressor's output ("variable" unless another node transforms it). */
  readonly regressorOutput?: string;
}

/**
 * The ensemble node and the graph outputs it defines: "label" [N] int64 and "probabilities" [N, classes]
 * float for classifiers, "variable" [N, 1] float for regressors.
 */
export function ensembleNode(
  lists: EnsembleLists,
  options: EnsembleOptions,
): { node: OnnxNode; outputs: OnnxValueInfo[] } {
  const { nClasses, baseValues, postTransform } = options;
  if (nClasses > 0) {
    return {
      node: {
        opType: "TreeEnsembleClassifier",
        domain: ML,
        inputs: ["features"],
        outputs: ["label", "probabilities"],
        attributes: [
          ...nodeAttributes(lists),
          { name: "class_treeids", ints: lists.leafTree },
          { name: "class_nodeids", ints: lists.leafNode },
          { name: "class_ids", ints: lists.leafOutput },
          { name: "class_weights_as_tensor", t: doubles(lists.leafWeight) },
          { name: "classlabels_int64s", ints: Array.from({ length: nClasses }, (_, k) => k) },
          { name: "base_values_as_tensor", t: doubles(baseValues) },
          { name: "post_transform", s: postTransform },
        ],
      },
      outputs: [
        { name: "label", elemType: DataType.INT64, shape: ["N"] },
        { name: "probabilities", elemType: DataType.FLOAT, shape: ["N", nClasses] },
      ],
    };
  }
  return {
    node: {
      opType: "TreeEnsembleRegressor",
      domain: ML,
      inputs: ["features"],
      outputs: [options.regressorOutput ?? "variable"],
      attributes: [
        ...nodeAttributes(lists),
        { name: "n_targets", i: 1 },
        { name: "aggregate_function", s: "SUM" },
        { name: "target_treeids", ints: lists.leafTree },
        { name: "target_nodeids", ints: lists.leafNode },
        { name: "target_ids", ints: lists.leafOutput },
        { name: "target_weights_as_tensor", t: doubles(lists.leafWeight) },
        { name: "base_values_as_tensor", t: doubles(baseValues) },
        { name: "post_transform", s: postTransform },
      ],
    },
    outputs: [{ name: "variable", elemType: DataType.FLOAT, shape: ["N", 1] }],
  };
}
