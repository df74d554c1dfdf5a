// What every model runtime offers the server: a signature, and batch prediction over columns in signature order.

/** The type of one input column as requests must send it. */
export type ColumnType = "double" | "string";

export interface ColumnSpec {
  readonly name: string;
  readonly type: ColumnType;
  /** Whether a missing value (null, absent, NaN) is accepted; trees route missing values by their default branch. */
  readonly nullable: boolean;
}

export type Task = "regression" | "binary" | "multiclass";

export interface ModelSignature {
  readonly inputs: readonly ColumnSpec[];
  readonly task: Task;
  /** Number of classes for classifiers (2 for binary), 1 for regression. */
  readonly nClasses: number;
}

/**
 * A validated batch: one column per signature input, in signature order. A "double" column is a
 * Float64Array (NaN = missing), a "string" column an array with null for missing.
 */
export interface Batch {
  readonly nRows: number;
  readonly columns: readonly BatchColumn[];
}

export type BatchColumn = Float64Array | readonly (string | null)[];

export interface PredictResult {
  /** One value per row: the predicted value, or the most likely class index for classifiers. */
  readonly predictions: Float64Array;
  /** Class probabilities, nRows x nClasses row-major, for classifiers. */
  readonly probabilities?: Float64Array;
}

/**
 * A loaded model that predicts batches in process.
 *
 * @example
 * const runtime = loadRuntimeFromFile("m.json");
 * const { predictions } = runtime.predict(validateColumns(runtime.signature, { f0: [1.5], f1: [null] }));
 */
export interface ModelRuntime {
  /** "xgboost-json", "native", … */
  readonly kind: string;
  readonly signature: ModelSignature;
  predict(batch: Batch): PredictResult;
}
