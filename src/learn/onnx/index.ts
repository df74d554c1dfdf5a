// Public surface of loopml's ONNX export (a self-contained protobuf writer; no ONNX package needed).
export { gbdtToOnnx, type OnnxExportOptions } from "./export.ts";
export { encodeModel, DataType, type OnnxModel, type OnnxNode, type OnnxTensor } from "./model-proto.ts";
