// Global feature importance: total split gain and split count from the trees, and model-agnostic
// permutation importance (score drop when one column is shuffled, seeded, repeated).
import { LoopmlError } from "../../errors.ts";
import { createFrame, getColumn, type Column, type Frame } from "../frame.ts";
import * as metrics from "../metrics.ts";
import { createRng, shuffleInPlace } from "../random.ts";

/** Total split gain (or number of splits) per feature, keyed by feature name; every feature is listed. */
export function treeImportance(
  forest: { readonly feature: Int32Array; readonly gain: Float64Array },
  featureNames: readonly string[],
  type: "gain" | "split",
): Record<string, number> {
  const totals = new Float64Array(featureNames.length);
  for (let i = 0; i < forest.feature.length; i++) {
    const f = forest.feature[i] as number;
    if (f >= 0) totals[f] = (totals[f] as number) + (type === "gain" ? (forest.gain[i] as number) : 1);
  }
  return Object.fromEntries(featureNames.map((name, f) => [name, totals[f] as number]));
}

/** A fitted model as permutation importance sees it. */
export interface Predictor {
  readonly objective?: string;
  readonly features: readonly { readonly name: string }[];
  predict(frame: Frame): Float64Array;
  predictProba?(frame: Frame): Float64Array;
}

export type MetricName =
  | "accuracy"
  | "balancedAccuracy"
  | "f1"
  | "precision"
  | "recall"
  | "rocAuc"
  | "averagePrecision"
  | "logLoss"
  | "rmse"
  | "mae"
  | "r2"
  | "mape";

const LOWER_IS_BETTER = new Set<MetricName>(["logLoss", "rmse", "mae", "mape"]);

export interface PermutationOptions {
  /** A metric of learn/metrics by name, or any (yTrue, model) scorer where higher is better. */
  readonly metric: MetricName | ((yTrue: Float64Array, model: Predictor, frame: Frame) => number);
  /** Shuffles per feature; 5 by default. */
  readonly nRepeats?: number;
  /** Seed of the shuffles; 0 by default (same seed, same result). */
  readonly seed?: number;
}

export interface PermutationImportance {
  readonly metric: string;
  /** The metric on the unshuffled data. */
  readonly baseline: number;
  /** Mean score loss per feature (positive = the model relies on it), and its standard deviation. */
  readonly importances: Record<string, { readonly mean: number; readonly std: number }>;
}

/**
 * Permutation importance as in scikit-learn's `permutation_importance`: for each feature, shuffle its
 * column `nRepeats` times and record how much the score drops.
 *
 * @example
 * const imp = permutationImportance(model, test, "label", { metric: "rocAuc", seed: 1 });
 */
export function permutationImportance(
  model: Predictor,
  frame: Frame,
  label: string | ArrayLike<number>,
  options: PermutationOptions,
): PermutationImportance {
  const yTrue = labelValues(frame, label);
  const repeats = options.nRepeats ?? 5;
  if (!Number.isInteger(repeats) || repeats < 1) {
    throw new LoopmlError("INVALID_ARGUMENT", `nRepeats must be a positive integer, got ${repeats}.`);
  }
  const score = scorer(options.metric);
  const baseline = score(yTrue, model, frame);
  const rng = createRng(options.seed ?? 0);
  const order = new Int32Array(frame.nRows);
  const importances: Record<string, { mean: number; std: number }> = {};
  for (const { name } of model.features) {
    const index = frame.columns.findIndex((c) => c.name === name);
    if (index < 0) {
      throw new LoopmlError("INVALID_ARGUMENT", `permutation importance: the frame has no column "${name}".`);
    }
    const original = frame.columns[index] as Column;
    const drops = new Float64Array(repeats);
    for (let k = 0; k < repeats; k++) {
      for (let i = 0; i < order.length; i++) order[i] = i;
      shuffleInPlace(order, rng);
      const columns = frame.columns.slice();
      columns[index] = permuted(original, order);
      drops[k] = baseline - score(yTrue, model, createFrame(columns));
    }
    const mean = drops.reduce((a, b) => a + b, 0) / repeats;
    const std = Math.sqrt(drops.reduce((a, b) => a + (b - mean) ** 2, 0) / repeats);
    importances[name] = { mean, std };
  }
  return {
    metric: typeof options.metric === "string" ? options.metric : "custom",
    baseline:
      typeof options.metric === "string" && LOWER_IS_BETTER.has(options.metric) ? -baseline : baseline,
    importances,
  };
}

function permuted(column: Column, order: Int32Array): Column {
  if (column.kind === "numeric") {
    const values = new Float64Array(order.length);
    for (let i = 0; i < order.length; i++) values[i] = column.values[order[i] as number] as number;
    return { ...column, values };
  }
  const codes = new Int32Array(order.length);
  for (let i = 0; i < order.length; i++) codes[i] = column.codes[order[i] as number] as number;
  return { ...column, codes };
}

function labelValues(frame: Frame, label: string | ArrayLike<number>): Float64Array {
  if (typeof label !== "string") {
    if (label.length !== frame.nRows) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `permutation importance: ${label.length} labels for ${frame.nRows} rows; pass one label per row.`,
      );
    }
    return Float64Array.from(label);
  }
  const column = getColumn(frame, label);
  return column.kind === "numeric" ? column.values : Float64Array.from(column.codes);
}

/** A higher-is-better scorer: named metrics of learn/metrics fed with labels, scores or probabilities. */
function scorer(
  metric: PermutationOptions["metric"],
): (yTrue: Float64Array, model: Predictor, frame: Frame) => number {
  if (typeof metric === "function") return metric;
  const labels = (model: Predictor, frame: Frame): Float64Array => {
    const p = model.predict(frame);
    return model.objective === "binary" ? p.map((v) => (v >= 0.5 ? 1 : 0)) : p;
  };
  const positive = (model: Predictor, frame: Frame): Float64Array => {
    if (model.objective === "binary" || !model.predictProba) return model.predict(frame);
    const proba = model.predictProba(frame);
    const k = proba.length / frame.nRows;
    return Float64Array.from({ length: frame.nRows }, (_, r) => proba[r * k + k - 1] as number);
  };
  const proba = (model: Predictor, frame: Frame): Float64Array => {
    if (!model.predictProba) {
      throw new LoopmlError("INVALID_ARGUMENT", "logLoss needs a classifier with predictProba.");
    }
    return model.predictProba(frame);
  };
  switch (metric) {
    case "accuracy":
      return (y, m, f) => metrics.accuracy(y, labels(m, f));
    case "balancedAccuracy":
      return (y, m, f) => metrics.balancedAccuracy(y, labels(m, f));
    case "f1":
      return (y, m, f) => metrics.f1(y, labels(m, f), averaged(y));
    case "precision":
      return (y, m, f) => metrics.precision(y, labels(m, f), averaged(y));
    case "recall":
      return (y, m, f) => metrics.recall(y, labels(m, f), averaged(y));
    case "rocAuc":
      return (y, m, f) =>
        m.objective === "multiclass" && m.predictProba
          ? metrics.rocAucOvr(y, m.predictProba(f), m.predictProba(f).length / f.nRows)
          : metrics.rocAuc(y, positive(m, f));
    case "averagePrecision":
      return (y, m, f) => metrics.averagePrecision(y, positive(m, f));
    case "logLoss":
      return (y, m, f) => -metrics.logLoss(y, proba(m, f));
    case "rmse":
      return (y, m, f) => -metrics.rmse(y, m.predict(f));
    case "mae":
      return (y, m, f) => -metrics.mae(y, m.predict(f));
    case "r2":
      return (y, m, f) => metrics.r2(y, m.predict(f));
    case "mape":
      return (y, m, f) => -metrics.mape(y, m.predict(f));
    default:
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Unknown metric "${String(metric)}"; use one of accuracy, balancedAccuracy, f1, precision, recall, rocAuc, averagePrecision, logLoss, rmse, mae, r2, mape.`,
      );
  }
}

/** Binary labels use the binary average; more classes the macro average (scikit-learn's defaults). */
function averaged(y: Float64Array): metrics.AverageOptions {
  const classes = new Set(y);
  return classes.size <= 2 ? {} : { average: "macro" };
}
