// Public surface of loopml's ONNX export (a self-contained protobuf writer; no ONNX package needed).
import { LoopmlError } from "../../errors.ts";
import { GbdtModel } from "../gbdt/model.ts";
import { TabularModel } from "../learner/model.ts";
import { LinearModel } from "../linear/model.ts";
import { ForestModel } from "../random-forest/model.ts";
import { gbdtToOnnx, type OnnxExportOptions } from "./export.ts";
import { forestToOnnx } from "./forest-export.ts";
import { linearToOnnx } from "./linear-export.ts";
import { tabularToOnnx } from "./preprocess-export.ts";

export { gbdtToOnnx, type OnnxExportOptions } from "./export.ts";
export { forestToOnnx } from "./forest-export.ts";
export { linearToOnnx } from "./linear-export.ts";
export { tabularToOnnx } from "./preprocess-export.ts";
export { encodeModel, DataType, type OnnxModel, type OnnxNode, type OnnxTensor } from "./model-proto.ts";

/**
 * ONNX bytes for any loopml model: a trained learner with its preprocessing (taking the raw columns), or a
 * bare GBDT, random forest / extra trees or linear model.
 *
 * @example
 * await writeFile("model.onnx", toOnnx(model));
 */
export function toOnnx(model: unknown, options: OnnxExportOptions = {}): Uint8Array {
  if (model instanceof TabularModel) return tabularToOnnx(model, options);
  if (model instanceof GbdtModel) return gbdtToOnnx(model, options);
  if (model instanceof ForestModel) return forestToOnnx(model, options);
  if (model instanceof LinearModel) return linearToOnnx(model, options);
  throw new LoopmlError(
    "INVALID_ARGUMENT",
    "ONNX export supports loopml models (from learner() or loopml train) and bare GBDT, random forest / extra trees and linear models only.",
  );
}
