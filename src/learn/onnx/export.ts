// ONNX export of loopml GBDT models: the input columns (categoricals mapped through their training dictionary
// with a LabelEncoder), the trees as ai.onnx.ml TreeEnsembleRegressor/Classifier, and the output transform.
import { LoopmlError } from "../../errors.ts";
import { decodeForest } from "../gbdt/forest.ts";
import type { GbdtModel } from "../gbdt/model.ts";
import type { FeatureSpec } from "../gbdt/types.ts";
import { ensembleNode, ML } from "./ensemble.ts";
import { DataType, encodeModel, type OnnxModel, type OnnxNode, type OnnxValueInfo } from "./model-proto.ts";
import { ensembleLists } from "./trees.ts";

export { doubles, ML } from "./ensemble.ts";
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

/** A model's part of a graph: nodes that read the [N, F] double tensor "features" and define `outputs`. */
export interface ModelGraph {
  readonly nodes: OnnxNode[];
  readonly outputs: OnnxValueInfo[];
  readonly initializers?: NonNullable<OnnxModel["graph"]["initializers"]>;
  readonly metadata: Readonly<Record<string, string>>;
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
  const { nodes, inputs } = inputNodes(model.features);
  return assemble(inputs, nodes, gbdtGraph(model), options);
}

/** The trees and output transform of a GBDT model over "features" (categoricals as training codes). */
export function gbdtGraph(model: GbdtModel): ModelGraph {
  const json = model.toJSON();
  const forest = decodeForest(json.forest);
  const nCategories = json.features.map((f) => f.dictionary?.length ?? 0);
  const objective = json.objective;
  const lists = ensembleLists(forest, json.nOutputs, nCategories);
  const classifier = objective === "binary" || objective === "multiclass";
  const poisson = objective === "poisson";
  // Binary: one score per row with weights on class 1, which onnxruntime turns into [1 - p, p].
  const { node, outputs } = ensembleNode(lists, {
    nClasses: classifier ? (objective === "binary" ? 2 : json.nOutputs) : 0,
    baseValues: json.baseScore,
    postTransform: objective === "binary" ? "LOGISTIC" : objective === "multiclass" ? "SOFTMAX" : "NONE",
    ...(poisson && { regressorOutput: "margin" }),
  });
  const nodes = [node];
  // Poisson models predict exp(margin).
  if (poisson) nodes.push({ opType: "Exp", inputs: ["margin"], outputs: ["variable"] });
  return {
    nodes,
    outputs,
    metadata: { "loopml.learner": "gbdt", "loopml.objective": objective, "loopml.label": json.label },
  };
}

/** Encodes a graph made of input nodes (ending in "features") and a model graph. */
export function assemble(
  inputs: OnnxValueInfo[],
  inputNodes: readonly OnnxNode[],
  model: ModelGraph,
  options: OnnxExportOptions,
  extra: { initializers?: ModelGraph["initializers"]; metadata?: Record<string, string> } = {},
): Uint8Array {
  const nodes = [...inputNodes, ...model.nodes];
  const initializers = [...(extra.initializers ?? []), ...(model.initializers ?? [])];
  return encodeModel({
    irVersion: 8,
    opsets: nodes.some((n) => n.domain === ML) ? OPSETS : OPSETS.filter((o) => o.domain !== ML),
    producerName: "loopml",
    producerVersion: "0.1.0",
    ...(options.description === undefined ? {} : { docString: options.description }),
    metadata: { ...model.metadata, ...extra.metadata },
    graph: {
      name: options.name ?? "loopml",
      nodes,
      inputs,
      outputs: model.outputs,
      ...(initializers.length > 0 && { initializers }),
    },
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
