// Plain result and option types shared by the drift statistics.

/** Names of the drift tests loopml implements; the default choice follows Evidently. */
export type DriftTestName =
  | "ks"
  | "chisquare"
  | "z"
  | "wasserstein"
  | "jensenshannon"
  | "psi"
  | "kl_div"
  | "hellinger"
  | "anderson"
  | "cramer_von_mises"
  | "mannw"
  | "fisher_exact"
  | "mmd";

/**
 * Outcome of one drift test on one column. `statistic` is the test statistic (or distance); `pValue` is null
 * for distances. `drifted` compares the p-value (or, for distances, the statistic) with `threshold`.
 */
export interface DriftResult {
  readonly test: DriftTestName;
  readonly statistic: number;
  readonly pValue: number | null;
  readonly threshold: number;
  readonly drifted: boolean;
}

export interface TestOptions {
  /** Significance level for p-value tests, or the distance above which a column counts as drifted. */
  readonly threshold?: number;
}

/**
 * A numeric column: NaN (and ±Infinity, as Evidently does) mark missing values, which are dropped.
 * A categorical column: non-negative integer codes, -1 marks a missing value.
 */
export type NumericColumn = Float64Array;
export type CategoricalColumn = Int32Array;
