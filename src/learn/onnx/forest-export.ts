// ONNX export of random forests / extra trees: leaves hold averaged values (class probabilities or means),
// so the ensemble sums weights divided by the tree count and applies no output transform.
import { forestArrays } from "../explain/forest.ts";
import type { ForestModel } from "../random-forest/model.ts";
import { ensembleNode } from "./ensemble.ts";
import { assemble, inputNodes, type ModelGraph, type OnnxExportOptions } from "./export.ts";
import { ensembleLists } from "./trees.ts";

/**
 * Inputs as for GBDT exports (one [N, 1] tensor per feature; a categorical feature's code is compared
 * ordinally, as the forest does). Outputs "variable" for regression, "label" and "probabilities" otherwise.
 *
 * @example
 * await writeFile("forest.onnx", forestToOnnx(model));
 */
export function forestToOnnx(model: ForestModel, options: OnnxExportOptions = {}): Uint8Array {
  const { nodes, inputs } = inputNodes(model.features);
  return assemble(inputs, nodes, forestGraph(model), options);
}

/** The forest over "features" (categoricals as training codes, compared ordinally). */
export function forestGraph(model: ForestModel): ModelGraph {
  const K = model.nOutputs;
  // Ordinal splits on codes: no set expansion needed, so every feature counts as numeric here.
  const lists = ensembleLists(forestArrays(model), K, [], 1 / model.nTrees, K);
  const classifier = model.task !== "regression";
  const { node, outputs } = ensembleNode(lists, {
    nClasses: classifier ? model.nClasses : 0,
    baseValues: Array.from({ length: K }, () => 0),
    postTransform: "NONE",
  });
  return {
    nodes: [node],
    outputs,
    metadata: { "loopml.learner": model.kind, "loopml.task": model.task, "loopml.label": model.label },
  };
}
