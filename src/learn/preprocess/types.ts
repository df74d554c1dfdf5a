// Options and the serialisable state of a fitted preprocessor (one plan per input column).

/** Parts a datetime column (epoch milliseconds, UTC) expands into. */
export type DatetimePart = "year" | "month" | "dayOfWeek" | "hour";
export const DATETIME_PARTS: readonly DatetimePart[] = ["year", "month", "dayOfWeek", "hour"];

/**
 * How categoricals become numbers: "onehot" one 0/1 column per training category, "ordinal" the
 * training category index, "target" the (smoothed, out-of-fold in training) mean of the target per
 * category, "native" keeps the categorical column for learners that split on categories themselves.
 * "auto" is one-hot up to `maxOneHot` categories and `highCardinality` above.
 */
export type CategoricalEncoding = "auto" | "onehot" | "ordinal" | "target" | "native";

export interface PreprocessOptions {
  /** Input columns to use; every column except the target by default. */
  readonly features?: readonly string[];
  /** Numeric columns that hold datetimes as epoch milliseconds; they expand into year, month, day of week, hour. */
  readonly datetime?: readonly string[];
  /** Fill missing numbers with the training median or mean, or keep NaN ("none", for trees); "median" by default. */
  readonly numericImpute?: "median" | "mean" | "none";
  /** Fill missing categories with the most frequent training category, or keep them missing; "most_frequent" by default. */
  readonly categoricalImpute?: "most_frequent" | "none";
  /** Add a 0/1 "<name>__missing" column for every feature that had missing values in training; false by default. */
  readonly missingIndicator?: boolean;
  readonly categorical?: CategoricalEncoding;
  /** Largest category count one-hot encoded by "auto"; 16 by default. */
  readonly maxOneHot?: number;
  /** Encoding of categoricals above `maxOneHot` under "auto"; "target" when a target is given, else "ordinal". */
  readonly highCardinality?: "ordinal" | "target";
  /** Scale numeric outputs to zero mean and unit variance (population std, as scikit-learn's StandardScaler). */
  readonly standardize?: boolean;
  /** Folds for out-of-fold target encoding of the training rows; 5 by default. */
  readonly targetEncodingFolds?: number;
  /** Pseudo-count that pulls rare categories towards the prior mean; 10 by default. */
  readonly targetSmoothing?: number;
  readonly seed?: number;
}

/** Standardisation of one output column: (x - mean) / scale. */
export interface Scaling {
  readonly mean: number;
  readonly scale: number;
}

export type ColumnPlan =
  | {
      readonly kind: "numeric";
      readonly name: string;
      /** Value that replaces NaN, or null to keep NaN. */
      readonly fill: number | null;
      readonly indicator: boolean;
      readonly scaling: Scaling | null;
    }
  | {
      readonly kind: "datetime";
      readonly name: string;
      readonly parts: readonly {
        readonly part: DatetimePart;
        readonly fill: number | null;
        readonly scaling: Scaling | null;
      }[];
      readonly indicator: boolean;
    }
  | {
      readonly kind: "onehot" | "ordinal" | "target" | "native";
      readonly name: string;
      /** Training categories; codes of the input are mapped onto this list, unseen ones count as missing. */
      readonly categories: readonly string[];
      /** Index of the category that replaces a missing one, or -1 to keep it missing. */
      readonly fill: number;
      readonly indicator: boolean;
      /** "target": encoding per category (categories x outputs, row-major) and the prior per output. */
      readonly encodings?: readonly number[];
      readonly prior?: readonly number[];
      /** "ordinal" and "target": standardisation per output column. */
      readonly scaling?: readonly (Scaling | null)[];
    };

export interface PreprocessorJson {
  readonly format: "loopml-preprocess";
  readonly version: 1;
  readonly plans: readonly ColumnPlan[];
}
