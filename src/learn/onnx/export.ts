// ONNX export of loopml models: the input columns (categoricals mapped through their training dictionary
// with a LabelEncoder), the trees as ai.onnx.ml TreeEnsembleRegressor/Classifier, and the output transform.
import { LoopmlError } from "../../errors.ts";
import { decodeForest } from "../gbdt/forest.ts";
import type { GbdtModel } from "../gbdt/model.ts";
import type { FeatureSpec } from "../gbdt/types.ts";
import { DataType, encodeModel, type OnnxNode, type OnnxValueInfo } from "./model-proto.ts";
import { ensembleLists, nodeAttributes } from "./trees.ts";

export const ML = "ai.onnx.ml";
export const OPSETS = [
  { domain: "", version: 17 },
  { domain: ML, version: 3 },
];

export interface OnnxExportOptions {
  /** Graph name; "loopml" by default. */
  readonly name?: string;
  /** Free text stored as the model's doc string. */
  readonly description?: string;
}

/**
 * The model's inputs as the exported graph takes them: one [N, 1] tensor per feature, named like the
 * feature — double for numeric features (NaN = missing), string for categorical ones (unknown or empty
 * strings are missing). Outputs: "variable" [N, 1] float for regression; "label" [N] int64 and
 * "probabilities" [N, classes] float for classifiers.
 *
 * @example
 * await writeFile("model.onnx", gbdtToOnnx(model));
 */
export function gbdtToOnnx(model: GbdtModel, options: OnnxExportOptions = {}): Uint8Array {
  const json = model.toJSON();
  const forest = decodeForest(json.forest);
  const features = json.features;
  const nCategories = features.map((f) => f.dictionary?.length ?? 0);
  const { nodes, inputs } = inputNodes(features);
  const objective = json.objective;
  const classifier = objective === "binary" || objective === "multiclass";
  const nOutputs = json.nOutputs;
  const lists = ensembleLists(forest, nOutputs, nCategories);
  const outputs: OnnxValueInfo[] = [];
  if (classifier) {
    const nClasses = objective === "binary" ? 2 : nOutputs;
    // Binary: one score per row with weights on class 1, which onnxruntime turns into [1 - p, p].
    const classIds = lists.leafOutput;
    nodes.push({
      opType: "TreeEnsembleClassifier",
      domain: ML,
      inputs: ["features"],
      outputs: ["label", "probabilities"],
      attributes: [
        ...nodeAttributes(lists),
        { name: "class_treeids", ints: lists.leafTree },
        { name: "class_nodeids", ints: lists.leafNode },
        { name: "class_ids", ints: classIds },
        { name: "class_weights_as_tensor", t: doubles(lists.leafWeight) },
        { name: "classlabels_int64s", ints: Array.from({ length: nClasses }, (_, k) => k) },
        { name: "base_values_as_tensor", t: doubles(json.baseScore) },
        { name: "post_transform", s: objective === "binary" ? "LOGISTIC" : "SOFTMAX" },
      ],
    });
    outputs.push(
      { name: "label", elemType: DataType.INT64, shape: ["N"] },
      { name: "probabilities", elemType: DataType.FLOAT, shape: ["N", nClasses] },
    );
  } else {
    const poisson = objective === "poisson";
    nodes.push({
      opType: "TreeEnsembleRegressor",
      domain: ML,
      inputs: ["features"],
      outputs: [poisson ? "margin" : "variable"],
      attributes: [
        ...nodeAttributes(lists),
        { name: "n_targets", i: 1 },
        { name: "aggregate_function", s: "SUM" },
        { name: "target_treeids", ints: lists.leafTree },
        { name: "target_nodeids", ints: lists.leafNode },
        { name: "target_ids", ints: lists.leafOutput },
        { name: "target_weights_as_tensor", t: doubles(lists.leafWeight) },
        { name: "base_values_as_tensor", t: doubles(json.baseScore) },
        { name: "post_transform", s: "NONE" },
      ],
    });
    // Poisson models predict exp(margin).
    if (poisson) nodes.push({ opType: "Exp", inputs: ["margin"], outputs: ["variable"] });
    outputs.push({ name: "variable", elemType: DataType.FLOAT, shape: ["N", 1] });
  }
  return encodeModel({
    irVersion: 8,
    opsets: OPSETS,
    producerName: "loopml",
    producerVersion: "0.1.0",
    ...(options.description === undefined ? {} : { docString: options.description }),
    metadata: { "loopml.learner": "gbdt", "loopml.objective": objective, "loopml.label": json.label },
    graph: { name: options.name ?? "loopml", nodes, inputs, outputs },
  });
}

/** One graph input per feature, categoricals mapped to their training codes, concatenated to [N, F] doubles. */
export function inputNodes(features: readonly FeatureSpec[]): { nodes: OnnxNode[]; inputs: OnnxValueInfo[] } {
  if (features.length === 0)
    throw new LoopmlError("INVALID_ARGUMENT", "The model has no features to export.");
  const nodes: OnnxNode[] = [];
  const inputs: OnnxValueInfo[] = [];
  const columns: string[] = [];
  const seen = new Set<string>();
  features.forEach((f, i) => {
    if (seen.has(f.name)) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Feature "${f.name}" appears twice; ONNX inputs need distinct names.`,
      );
    }
    seen.add(f.name);
    if (f.kind === "numeric") {
      inputs.push({ name: f.name, elemType: DataType.DOUBLE, shape: ["N", 1] });
      columns.push(f.name);
      return;
    }
    const dictionary = f.dictionary ?? [];
    inputs.push({ name: f.name, elemType: DataType.STRING, shape: ["N", 1] });
    nodes.push(
      {
        opType: "LabelEncoder",
        domain: ML,
        inputs: [f.name],
        outputs: [`code_${i}`],
        attributes: [
          { name: "keys_strings", strings: dictionary.length > 0 ? [...dictionary] : [""] },
          { name: "values_floats", floats: dictionary.length > 0 ? dictionary.map((_, c) => c) : [NaN] },
          { name: "default_float", f: NaN },
        ],
      },
      {
        opType: "Cast",
        inputs: [`code_${i}`],
        outputs: [`code_${i}_double`],
        attributes: [{ name: "to", i: DataType.DOUBLE }],
      },
    );
    columns.push(`code_${i}_double`);
  });
  nodes.push({
    opType: "Concat",
    inputs: columns,
    outputs: ["features"],
    attributes: [{ name: "axis", i: 1 }],
  });
  return { nodes, inputs };
}

export function doubles(values: readonly number[]): {
  dataType: number;
  dims: number[];
  doubles: readonly number[];
} {
  return { dataType: DataType.DOUBLE, dims: [values.length], doubles: values };
}
