// Public surface of loopml's preprocessing: fit on training data, transform anywhere, serialise with the model.
export { fitPreprocessor, loadPreprocessor, Preprocessor, type EncodingTarget } from "./fit.ts";
export type {
  CategoricalEncoding,
  ColumnPlan,
  DatetimePart,
  PreprocessOptions,
  PreprocessorJson,
} from "./types.ts";
