// Model quality on a window once labels arrive: accuracy / AUC / RMSE / MAE with 95% intervals, and decay vs validation.
import { rocAuc } from "../learn/metrics.ts";
import { createLcg } from "./stats/rng.ts";

export type Task = "classification" | "regression";

export interface MetricEstimate {
  readonly value: number;
  /** 95% confidence interval. */
  readonly low: number;
  readonly high: number;
  /** How the interval was computed. */
  readonly method: "wilson" | "hanley-mcneil" | "bootstrap";
  /** The model version's validation value from the registry, when it has one, and the change from it. */
  readonly validation?: number;
  readonly change?: number;
}

export interface PerformanceReport {
  readonly task: Task;
  /** Predictions in the window that have a label. */
  readonly labelled: number;
  readonly metrics: Readonly<Record<string, MetricEstimate>>;
}

const Z95 = 1.959963984540054;
export const BOOTSTRAP_REPLICATES = 200;

/**
 * Metrics of labelled predictions. Classification: accuracy (Wilson interval) and, with positive-class
 * probabilities and both classes present, ROC AUC (Hanley–McNeil standard error). Regression: RMSE and MAE
 * with percentile bootstrap intervals (200 replicates, seeded, so a rerun gives the same interval).
 *
 * @example
 * performanceOf("classification", labels, predictions, probabilities).metrics.accuracy; // { value, low, high, … }
 */
export function performanceOf(
  task: Task,
  labels: Float64Array,
  predictions: Float64Array,
  probabilities?: Float64Array,
  seed = 42,
): PerformanceReport {
  const n = labels.length;
  const metrics: Record<string, MetricEstimate> = {};
  if (n === 0) return { task, labelled: 0, metrics };
  if (task === "classification") {
    let hits = 0;
    for (let i = 0; i < n; i++) if (labels[i] === predictions[i]) hits++;
    metrics.accuracy = { value: hits / n, ...wilson(hits, n), method: "wilson" };
    if (probabilities) {
      let positives = 0;
      for (let i = 0; i < n; i++) if (labels[i] === 1) positives++;
      if (positives > 0 && positives < n) {
        const a = rocAuc(labels, probabilities);
        const se = hanleyMcNeil(a, positives, n - positives);
        metrics.auc = {
          value: a,
          low: Math.max(0, a - Z95 * se),
          high: Math.min(1, a + Z95 * se),
          method: "hanley-mcneil",
        };
      }
    }
  } else {
    const sq = new Float64Array(n);
    const abs = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const d = predictions[i]! - labels[i]!;
      sq[i] = d * d;
      abs[i] = Math.abs(d);
    }
    metrics.rmse = bootstrapMean(sq, Math.sqrt, seed);
    metrics.mae = bootstrapMean(abs, (x) => x, seed + 1);
  }
  return { task, labelled: n, metrics };
}

/** Wilson score interval for a binomial proportion. */
export function wilson(successes: number, n: number): { low: number; high: number } {
  const p = successes / n;
  const z2 = Z95 * Z95;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (Z95 * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** Standard error of an AUC from its value and class counts (Hanley & McNeil, 1982). */
function hanleyMcNeil(a: number, positives: number, negatives: number): number {
  const q1 = a / (2 - a);
  const q2 = (2 * a * a) / (1 + a);
  const v =
    (a * (1 - a) + (positives - 1) * (q1 - a * a) + (negatives - 1) * (q2 - a * a)) / (positives * negatives);
  return Math.sqrt(Math.max(0, v));
}

/** f(mean of x) with a percentile bootstrap interval: resampling n indices with replacement per replicate. */
function bootstrapMean(x: Float64Array, f: (m: number) => number, seed: number): MetricEstimate {
  const n = x.length;
  let total = 0;
  for (const v of x) total += v;
  const next = createLcg(seed);
  const reps = new Float64Array(BOOTSTRAP_REPLICATES);
  for (let r = 0; r < BOOTSTRAP_REPLICATES; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[Math.floor(next() * n)]!;
    reps[r] = f(s / n);
  }
  reps.sort();
  const at = (q: number): number =>
    reps[Math.min(BOOTSTRAP_REPLICATES - 1, Math.floor(q * BOOTSTRAP_REPLICATES))]!;
  return { value: f(total / n), low: at(0.025), high: at(0.975), method: "bootstrap" };
}

/** Names under which a model version may carry each metric's validation value, most specific first. */
const VALIDATION_KEYS: Readonly<Record<string, readonly string[]>> = {
  accuracy: ["validation.accuracy", "validation_accuracy", "val_accuracy", "accuracy", "best_accuracy"],
  auc: [
    "validation.auc",
    "validation_auc",
    "val_auc",
    "validation_roc_auc",
    "roc_auc",
    "auc",
    "best_roc_auc",
  ],
  rmse: ["validation.rmse", "validation_rmse", "val_rmse", "rmse", "best_rmse"],
  mae: ["validation.mae", "validation_mae", "val_mae", "mae", "best_mae"],
};

/** The validation value of `metric` among a registry version's metrics, if any. */
export function validationMetric(
  metric: string,
  versionMetrics: Readonly<Record<string, number>>,
): number | undefined {
  for (const key of VALIDATION_KEYS[metric] ?? [`validation.${metric}`, metric]) {
    const v = versionMetrics[key];
    if (typeof v === "number" && Number.isFinite(v)) return v;
  }
  return undefined;
}

/** Adds each metric's validation value and the change from it (current − validation). */
export function withDecay(
  report: PerformanceReport,
  versionMetrics: Readonly<Record<string, number>>,
): PerformanceReport {
  const metrics: Record<string, MetricEstimate> = {};
  for (const [name, m] of Object.entries(report.metrics)) {
    const validation = validationMetric(name, versionMetrics);
    metrics[name] = validation === undefined ? m : { ...m, validation, change: m.value - validation };
  }
  return { ...report, metrics };
}
