// Fits a preprocessor on training data only: imputation values, encodings, datetime parts and scalings.
import { LoopmlError } from "../../errors.ts";
import { createFrame, getColumn, type Column, type Frame } from "../frame.ts";
import { kFold } from "../split.ts";
import { applyPlans, checkFinite, datetimePart, outputNames, scaleInPlace } from "./transform.ts";
import {
  DATETIME_PARTS,
  type ColumnPlan,
  type PreprocessOptions,
  type PreprocessorJson,
  type Scaling,
} from "./types.ts";

/** The target as preprocessing sees it: class indices with nOutputs = classes (> 2), else one output. */
export interface EncodingTarget {
  readonly name: string;
  readonly values: Float64Array;
  /** 1 for regression and binary (values 0/1), the class count for multiclass. */
  readonly nOutputs: number;
}

/**
 * A fitted preprocessor: serialisable with toJSON, so serving applies exactly the training transform.
 */
export class Preprocessor {
  constructor(readonly plans: readonly ColumnPlan[]) {}

  /** The input columns the preprocessor reads, with their kind and training categories. */
  get inputs(): { name: string; kind: "numeric" | "categorical"; dictionary?: readonly string[] }[] {
    return this.plans.map((p) =>
      p.kind === "numeric" || p.kind === "datetime"
        ? { name: p.name, kind: "numeric" }
        : { name: p.name, kind: "categorical", dictionary: p.categories },
    );
  }

  /** Names of the output columns, in order. */
  get outputs(): string[] {
    return this.plans.flatMap(outputNames);
  }

  /**
   * Applies the fitted transform. Extra columns are ignored; a missing input column, a column of the
   * wrong kind or an infinite value is an INVALID_ARGUMENT error. Unseen categories are treated as missing.
   *
   * @example
   * const x = pre.transform(testFrame);
   */
  transform(frame: Frame, purpose = "transform"): Frame {
    return createFrame(applyPlans(this.plans, frame, purpose));
  }

  toJSON(): PreprocessorJson {
    return { format: "loopml-preprocess", version: 1, plans: this.plans };
  }
}

export function loadPreprocessor(json: unknown): Preprocessor {
  const doc = json as Partial<PreprocessorJson> | null;
  if (!doc || doc.format !== "loopml-preprocess" || doc.version !== 1 || !Array.isArray(doc.plans)) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      'Not a loopml preprocessor (format "loopml-preprocess", version 1); load JSON produced by toJSON().',
    );
  }
  return new Preprocessor(doc.plans);
}

/**
 * Fits on the training frame and returns the preprocessor with the transformed training frame; target
 * encodings of the training rows are out-of-fold, so a learner never sees a row's own target in its features.
 *
 * @example
 * const { preprocessor, train } = fitPreprocessor(frame, { standardize: true }, { name: "y", values, nOutputs: 1 });
 */
export function fitPreprocessor(
  frame: Frame,
  options: PreprocessOptions = {},
  target?: EncodingTarget,
): { preprocessor: Preprocessor; train: Frame } {
  const names = options.features ?? frame.columns.map((c) => c.name).filter((name) => name !== target?.name);
  if (target && names.includes(target.name)) {
    throw new LoopmlError("INVALID_ARGUMENT", `The target "${target.name}" cannot also be a feature.`);
  }
  if (names.length === 0) {
    throw new LoopmlError("INVALID_ARGUMENT", "There are no feature columns to learn from.");
  }
  const datetime = new Set(options.datetime ?? []);
  const unscaled: ColumnPlan[] = names.map((name) =>
    planColumn(getColumn(frame, name), datetime.has(name), options, target),
  );
  const overrides = new Map<string, Float64Array[]>();
  for (const plan of unscaled) {
    if (plan.kind === "target" && target) overrides.set(plan.name, outOfFold(frame, plan, target, options));
  }
  const columns = applyPlans(unscaled, frame, "fit", overrides);
  const plans = options.standardize ? withScaling(unscaled, columns) : unscaled;
  return { preprocessor: new Preprocessor(plans), train: createFrame(columns) };
}

function planColumn(
  column: Column,
  isDatetime: boolean,
  options: PreprocessOptions,
  target: EncodingTarget | undefined,
): ColumnPlan {
  const name = column.name;
  const indicatorWanted = options.missingIndicator === true;
  if (column.kind === "numeric") {
    const x = column.values;
    checkFinite(x, name, "fit");
    let missing = 0;
    for (let i = 0; i < x.length; i++) if ((x[i] as number) !== (x[i] as number)) missing++;
    if (missing === x.length) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Feature "${name}" has no values in the training data (all missing); drop the column or fill it.`,
      );
    }
    const indicator = indicatorWanted && missing > 0;
    const impute = options.numericImpute ?? "median";
    if (isDatetime) {
      const parts = DATETIME_PARTS.map((part) => {
        const values = datetimePart(x, part, NaN);
        return { part, fill: impute === "none" ? null : center(values, impute), scaling: null };
      });
      return { kind: "datetime", name, parts, indicator };
    }
    return {
      kind: "numeric",
      name,
      fill: impute === "none" ? null : center(x, impute),
      indicator,
      scaling: null,
    };
  }
  const categories = column.dictionary;
  const counts = new Float64Array(categories.length);
  let missing = 0;
  for (const c of column.codes) {
    if (c < 0) missing++;
    else counts[c] = (counts[c] as number) + 1;
  }
  if (missing === column.codes.length) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Feature "${name}" has no values in the training data (all missing); drop the column or fill it.`,
    );
  }
  // Ties go to the category listed first, so the fill does not depend on anything but the data.
  let mostFrequent = 0;
  for (let c = 1; c < counts.length; c++)
    if ((counts[c] as number) > (counts[mostFrequent] as number)) mostFrequent = c;
  const fill = (options.categoricalImpute ?? "most_frequent") === "none" ? -1 : mostFrequent;
  const indicator = indicatorWanted && missing > 0;
  const encoding = chooseEncoding(categories.length, options, target);
  if (encoding === "target") {
    if (!target) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Target encoding of "${name}" needs the target; pass it, or use ordinal or one-hot encoding.`,
      );
    }
    const { encodings, prior } = targetStats(column.codes, fill, categories.length, target, null, options);
    return { kind: "target", name, categories, fill, indicator, encodings, prior };
  }
  return { kind: encoding, name, categories, fill, indicator };
}

function chooseEncoding(
  nCategories: number,
  options: PreprocessOptions,
  target: EncodingTarget | undefined,
): "onehot" | "ordinal" | "target" | "native" {
  const chosen = options.categorical ?? "auto";
  if (chosen !== "auto") return chosen;
  if (nCategories <= (options.maxOneHot ?? 16)) return "onehot";
  return options.highCardinality ?? (target ? "target" : "ordinal");
}

/** Median (as numpy: mean of the two middle values) or mean of the non-missing values. */
function center(x: Float64Array, how: "median" | "mean"): number {
  const present = x.filter((v) => v === v);
  if (how === "mean") {
    let s = 0;
    for (const v of present) s += v;
    return s / present.length;
  }
  present.sort();
  const m = present.length >> 1;
  return present.length % 2 === 1
    ? (present[m] as number)
    : ((present[m - 1] as number) + (present[m] as number)) / 2;
}

/** Smoothed target mean per category over the rows where `use` is 1 (all rows when null). */
function targetStats(
  codes: Int32Array,
  fill: number,
  nCategories: number,
  target: EncodingTarget,
  use: Uint8Array | null,
  options: PreprocessOptions,
): { encodings: number[]; prior: number[] } {
  const k = target.nOutputs;
  const m = options.targetSmoothing ?? 10;
  const sums = new Float64Array(nCategories * k);
  const counts = new Float64Array(nCategories);
  const total = new Float64Array(k);
  let n = 0;
  for (let i = 0; i < codes.length; i++) {
    if (use && use[i] === 0) continue;
    const y = target.values[i] as number;
    n++;
    const c = (codes[i] as number) < 0 ? fill : (codes[i] as number);
    for (let o = 0; o < k; o++) {
      const v = k === 1 ? y : y === o ? 1 : 0;
      total[o] = (total[o] as number) + v;
      if (c >= 0) sums[c * k + o] = (sums[c * k + o] as number) + v;
    }
    if (c >= 0) counts[c] = (counts[c] as number) + 1;
  }
  const prior = Array.from(total, (t) => t / Math.max(1, n));
  const encodings: number[] = [];
  for (let c = 0; c < nCategories; c++) {
    for (let o = 0; o < k; o++)
      encodings.push(((sums[c * k + o] as number) + m * (prior[o] as number)) / ((counts[c] as number) + m));
  }
  return { encodings, prior };
}

/** Encodes each training row with statistics from the other folds only. */
function outOfFold(
  frame: Frame,
  plan: Extract<ColumnPlan, { categories: readonly string[] }>,
  target: EncodingTarget,
  options: PreprocessOptions,
): Float64Array[] {
  const column = getColumn(frame, plan.name) as Extract<Column, { kind: "categorical" }>;
  const n = frame.nRows;
  const k = target.nOutputs;
  const out = Array.from({ length: k }, () => new Float64Array(n));
  const folds = Math.min(options.targetEncodingFolds ?? 5, n);
  if (folds < 2) return out.map((_, o) => new Float64Array(n).fill(plan.prior?.[o] ?? 0));
  const use = new Uint8Array(n);
  for (const split of kFold(n, folds, { shuffle: true, seed: options.seed ?? 0 })) {
    use.fill(0);
    for (const r of split.train) use[r] = 1;
    const { encodings, prior } = targetStats(
      column.codes,
      plan.fill,
      plan.categories.length,
      target,
      use,
      options,
    );
    for (const r of split.test) {
      const raw = column.codes[r] as number;
      const c = raw < 0 ? plan.fill : raw;
      for (let o = 0; o < k; o++)
        (out[o] as Float64Array)[r] = c < 0 ? (prior[o] as number) : (encodings[c * k + o] as number);
    }
  }
  return out;
}

/** Adds a StandardScaler-style scaling (mean, population std; 1 when constant) to every scalable output. */
function withScaling(plans: readonly ColumnPlan[], columns: readonly Column[]): ColumnPlan[] {
  let at = 0;
  const next = (): Column => columns[at++] as Column;
  const fit = (column: Column): Scaling => {
    const values = (column as Extract<Column, { kind: "numeric" }>).values;
    const scaling = meanAndScale(values);
    scaleInPlace(values, scaling);
    return scaling;
  };
  return plans.map((plan): ColumnPlan => {
    let scaled: ColumnPlan;
    if (plan.kind === "numeric") scaled = { ...plan, scaling: fit(next()) };
    else if (plan.kind === "datetime")
      scaled = { ...plan, parts: plan.parts.map((p) => ({ ...p, scaling: fit(next()) })) };
    else if (plan.kind === "onehot") {
      at += plan.categories.length;
      scaled = plan;
    } else if (plan.kind === "native") {
      at++;
      scaled = plan;
    } else {
      const k = plan.kind === "target" ? (plan.prior?.length ?? 1) : 1;
      const scaling: Scaling[] = [];
      for (let o = 0; o < k; o++) scaling.push(fit(next()));
      scaled = { ...plan, scaling };
    }
    if (plan.indicator) at++;
    return scaled;
  });
}

function meanAndScale(values: Float64Array): Scaling {
  let n = 0;
  let sum = 0;
  for (const v of values) {
    if (v !== v) continue;
    sum += v;
    n++;
  }
  const mean = n > 0 ? sum / n : 0;
  let ss = 0;
  for (const v of values) if (v === v) ss += (v - mean) * (v - mean);
  const std = n > 0 ? Math.sqrt(ss / n) : 0;
  return { mean, scale: std > 0 ? std : 1 };
}
