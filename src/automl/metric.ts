// Metrics as AutoML sees them: which tasks they fit, their direction, and a loss to minimise.
import { LoopmlError } from "../errors.ts";
import { accuracy, f1, logLoss, mae, r2, rmse, rocAuc, rocAucOvr } from "../learn/metrics.ts";
import type { MetricName, Task } from "./types.ts";

interface MetricSpec {
  readonly tasks: readonly Task[];
  readonly higherIsBetter: boolean;
  /** Scores predictions: P(class 1) per row (binary), n x k probabilities (multiclass) or values. */
  readonly score: (y: Float64Array, pred: Float64Array, nClasses: number) => number;
}

const METRICS: Readonly<Record<MetricName, MetricSpec>> = {
  roc_auc: {
    tasks: ["binary", "multiclass"],
    higherIsBetter: true,
    score: (y, p, k) => (k === 2 ? rocAuc(y, p) : rocAucOvr(y, p, k)),
  },
  log_loss: { tasks: ["binary", "multiclass"], higherIsBetter: false, score: (y, p) => logLoss(y, p) },
  accuracy: {
    tasks: ["binary", "multiclass"],
    higherIsBetter: true,
    score: (y, p, k) => accuracy(y, hardLabels(p, k)),
  },
  f1: { tasks: ["binary"], higherIsBetter: true, score: (y, p, k) => f1(y, hardLabels(p, k)) },
  rmse: { tasks: ["regression"], higherIsBetter: false, score: (y, p) => rmse(y, p) },
  mae: { tasks: ["regression"], higherIsBetter: false, score: (y, p) => mae(y, p) },
  r2: { tasks: ["regression"], higherIsBetter: true, score: (y, p) => r2(y, p) },
};

export const METRIC_NAMES = Object.keys(METRICS) as MetricName[];

/** ROC AUC for binary, log loss for multiclass, RMSE for regression. */
export function defaultMetric(task: Task): MetricName {
  return task === "binary" ? "roc_auc" : task === "multiclass" ? "log_loss" : "rmse";
}

export function checkMetric(metric: string, task: Task): MetricName {
  const spec = METRICS[metric as MetricName] as MetricSpec | undefined;
  if (!spec) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Unknown metric "${metric}"; use one of ${METRIC_NAMES.filter((m) => METRICS[m].tasks.includes(task)).join(", ")}.`,
    );
  }
  if (!spec.tasks.includes(task)) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Metric "${metric}" does not apply to a ${task} task; use one of ${METRIC_NAMES.filter((m) => METRICS[m].tasks.includes(task)).join(", ")}.`,
    );
  }
  return metric as MetricName;
}

export function higherIsBetter(metric: MetricName): boolean {
  return METRICS[metric].higherIsBetter;
}

export function scoreMetric(
  metric: MetricName,
  y: Float64Array,
  pred: Float64Array,
  nClasses: number,
): number {
  return METRICS[metric].score(y, pred, nClasses);
}

/** The metric turned into something to minimise, so searchers need not know the direction. */
export function toLoss(metric: MetricName, score: number): number {
  return METRICS[metric].higherIsBetter ? -score : score;
}

function hardLabels(p: Float64Array, k: number): Float64Array {
  if (k === 2) return p.map((v) => (v >= 0.5 ? 1 : 0));
  const n = p.length / k;
  const out = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let best = 0;
    for (let c = 1; c < k; c++) if ((p[r * k + c] as number) > (p[r * k + best] as number)) best = c;
    out[r] = best;
  }
  return out;
}
