// ONNX export of linear models in standard operators, in double precision: MatMul + Add for the scores,
// Sigmoid (binary) or Softmax (multiclass) for probabilities, ArgMax for the label.
import type { LinearModel } from "../linear/model.ts";
import { assemble, type ModelGraph, type OnnxExportOptions } from "./export.ts";
import { DataType, type OnnxNode, type OnnxValueInfo } from "./model-proto.ts";

/**
 * Inputs: one double [N, 1] tensor per feature (linear models take no missing values). Outputs as the
 * tree exports: "variable" [N, 1] for regression, "label" and "probabilities" for classifiers.
 *
 * @example
 * await writeFile("linear.onnx", linearToOnnx(model));
 */
export function linearToOnnx(model: LinearModel, options: OnnxExportOptions = {}): Uint8Array {
  const inputs: OnnxValueInfo[] = model.features.map((name) => ({
    name,
    elemType: DataType.DOUBLE,
    shape: ["N", 1],
  }));
  const concat: OnnxNode = {
    opType: "Concat",
    inputs: [...model.features],
    outputs: ["features"],
    attributes: [{ name: "axis", i: 1 }],
  };
  return assemble(inputs, [concat], linearGraph(model), options);
}

/** Scores, probabilities and label of a linear model over "features", in double precision. */
export function linearGraph(model: LinearModel): ModelGraph {
  const p = model.features.length;
  const K = model.nOutputs;
  // coef is K x p row-major; MatMul wants W as p x K.
  const w = new Float64Array(p * K);
  for (let k = 0; k < K; k++) for (let j = 0; j < p; j++) w[j * K + k] = model.coef[k * p + j] as number;
  const initializers = [
    { name: "coef", dataType: DataType.DOUBLE, dims: [p, K], doubles: w },
    { name: "intercept", dataType: DataType.DOUBLE, dims: [K], doubles: model.intercept },
    { name: "one", dataType: DataType.DOUBLE, dims: [1], doubles: [1] },
  ];
  const nodes: OnnxNode[] = [
    { opType: "MatMul", inputs: ["features", "coef"], outputs: ["product"] },
    { opType: "Add", inputs: ["product", "intercept"], outputs: ["scores"] },
  ];
  const outputs: OnnxValueInfo[] = [];
  const toFloat = (from: string, to: string): OnnxNode => ({
    opType: "Cast",
    inputs: [from],
    outputs: [to],
    attributes: [{ name: "to", i: DataType.FLOAT }],
  });
  if (model.task === "regression") {
    nodes.push(toFloat("scores", "variable"));
    outputs.push({ name: "variable", elemType: DataType.FLOAT, shape: ["N", 1] });
  } else {
    if (model.task === "binary") {
      nodes.push(
        { opType: "Sigmoid", inputs: ["scores"], outputs: ["p1"] },
        { opType: "Sub", inputs: ["one", "p1"], outputs: ["p0"] },
        { opType: "Concat", inputs: ["p0", "p1"], outputs: ["proba"], attributes: [{ name: "axis", i: 1 }] },
      );
    } else {
      nodes.push({
        opType: "Softmax",
        inputs: ["scores"],
        outputs: ["proba"],
        attributes: [{ name: "axis", i: 1 }],
      });
    }
    const nClasses = model.task === "binary" ? 2 : K;
    nodes.push(toFloat("proba", "probabilities"), {
      opType: "ArgMax",
      inputs: ["proba"],
      outputs: ["label"],
      attributes: [
        { name: "axis", i: 1 },
        { name: "keepdims", i: 0 },
      ],
    });
    outputs.push(
      { name: "label", elemType: DataType.INT64, shape: ["N"] },
      { name: "probabilities", elemType: DataType.FLOAT, shape: ["N", nClasses] },
    );
  }
  return {
    nodes,
    outputs,
    initializers,
    metadata: { "loopml.learner": "linear", "loopml.task": model.task },
  };
}
