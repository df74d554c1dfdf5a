// ONNX export of random forests / extra trees: leaves hold averaged values (class probabilities or means),
// so the ensemble sums weights divided by the tree count and applies no output transform.
import type { ForestModel } from "../random-forest/model.ts";
import { doubles, inputNodes, ML, OPSETS, type OnnxExportOptions } from "./export.ts";
import { DataType, encodeModel, type OnnxValueInfo } from "./model-proto.ts";
import { ensembleLists, nodeAttributes } from "./trees.ts";
import { forestArrays } from "../explain/forest.ts";

/**
 * Inputs as for GBDT exports (one [N, 1] tensor per feature; a categorical feature's code is compared
 * ordinally, as the forest does). Outputs "variable" for regression, "label" and "probabilities" otherwise.
 *
 * @example
 * await writeFile("forest.onnx", forestToOnnx(model));
 */
export function forestToOnnx(model: ForestModel, options: OnnxExportOptions = {}): Uint8Array {
  const { nodes, inputs } = inputNodes(model.features);
  const K = model.nOutputs;
  // Ordinal splits on codes: no set expansion needed, so every feature counts as numeric here.
  const lists = ensembleLists(forestArrays(model), K, [], 1 / model.nTrees, K);
  const outputs: OnnxValueInfo[] = [];
  if (model.task === "regression") {
    nodes.push({
      opType: "TreeEnsembleRegressor",
      domain: ML,
      inputs: ["features"],
      outputs: ["variable"],
      attributes: [
        ...nodeAttributes(lists),
        { name: "n_targets", i: 1 },
        { name: "aggregate_function", s: "SUM" },
        { name: "target_treeids", ints: lists.leafTree },
        { name: "target_nodeids", ints: lists.leafNode },
        { name: "target_ids", ints: lists.leafOutput },
        { name: "target_weights_as_tensor", t: doubles(lists.leafWeight) },
        { name: "base_values_as_tensor", t: doubles([0]) },
        { name: "post_transform", s: "NONE" },
      ],
    });
    outputs.push({ name: "variable", elemType: DataType.FLOAT, shape: ["N", 1] });
  } else {
    const nClasses = model.nClasses;
    nodes.push({
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
        { name: "base_values_as_tensor", t: doubles(Array.from({ length: K }, () => 0)) },
        { name: "post_transform", s: "NONE" },
      ],
    });
    outputs.push(
      { name: "label", elemType: DataType.INT64, shape: ["N"] },
      { name: "probabilities", elemType: DataType.FLOAT, shape: ["N", nClasses] },
    );
  }
  return encodeModel({
    irVersion: 8,
    opsets: OPSETS,
    producerName: "loopml",
    producerVersion: "0.1.0",
    ...(options.description === undefined ? {} : { docString: options.description }),
    metadata: { "loopml.learner": model.kind, "loopml.task": model.task, "loopml.label": model.label },
    graph: { name: options.name ?? "loopml", nodes, inputs, outputs },
  });
}
