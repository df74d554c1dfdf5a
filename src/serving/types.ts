// What every model runtime offers the server: a signature, and batch prediction over columns in signature order.
import type { Explanation } from "../learn/explain/explain.ts";

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
 * A validated batch in signature order. Numbers sit row-major in one Float64Array (nRows x nInputs,
 * NaN = missing) so that single-row requests cost one allocation and merge into a micro-batch by copy;
 * a "string" input keeps its cells in `strings[i]` (null = missing) and NaN in `values`.
 */
export interface Batch {
  readonly nRows: number;
  readonly values: Float64Array;
  /** One entry per input: the column's strings for "string" inputs, null for "double" inputs. */
  readonly strings: readonly (readonly (string | null)[] | null)[];
}

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
 * const { predictions } = runtime.predict(decodeColumns(runtime.signature, { f0: [1.5], f1: [null] }));
 */
export interface ModelRuntime {
  /** "xgboost-json", "native", … */
  readonly kind: string;
  readonly signature: ModelSignature;
  predict(batch: Batch): PredictResult;
  /** Per-feature contributions (TreeSHAP, raw margin scale), for runtimes that can explain. */
  explain?(batch: Batch): Explanation;
}
