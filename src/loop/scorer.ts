// Scores a stored model on a frame, whatever loopml format it was saved in, so candidate and champion compare fairly.
import { loadAutomlModel } from "../automl/index.ts";
import { higherIsBetter, scoreMetric } from "../automl/metric.ts";
import type { MetricName } from "../automl/types.ts";
import { LoopmlError } from "../errors.ts";
import { getColumn, type Frame } from "../learn/frame.ts";
import { loadModel } from "../learn/gbdt/index.ts";
import { loadTabularModel } from "../learn/learner/model.ts";

/** P(class 1) per row for binary models, the value for regressions. */
export interface Scorer {
  readonly task: "binary" | "regression";
  score(frame: Frame): Float64Array;
}

/**
 * @example
 * const s = loadScorer(JSON.parse(text)); // "loopml-gbdt" or "loopml-automl"
 * const auc = metricOn(s, holdout, "late", "roc_auc");
 */
export function loadScorer(doc: unknown): Scorer {
  const format = (doc as { format?: unknown } | null)?.format;
  if (format === "loopml-automl") {
    const m = loadAutomlModel(doc);
    if (m.task === "multiclass") throw unsupported("multiclass");
    return m.task === "binary"
      ? { task: "binary", score: (f) => positive(m.predictProba(f)) }
      : { task: "regression", score: (f) => m.predict(f) };
  }
  if (format === "loopml-gbdt") {
    const m = loadModel(doc);
    if (m.objective === "multiclass") throw unsupported("multiclass");
    // GbdtModel.predict already returns P(class 1) for binary models.
    return { task: m.objective === "binary" ? "binary" : "regression", score: (f) => m.predict(f) };
  }
  if (format === "loopml-model") {
    // AutoML's winner, when it is not a boosting model: a learner with its preprocessing.
    const m = loadTabularModel(doc);
    if (m.task === "multiclass") throw unsupported("multiclass");
    if (m.task === "regression") return { task: "regression", score: (f) => m.predict(f) };
    // P(label "1"): the positive class of a 0/1 target (classes are the labels as strings, sorted).
    const one = m.classes.indexOf("1");
    const col = one >= 0 ? one : 1;
    return {
      task: "binary",
      score: (f) => {
        const p = m.predictProba(f);
        return Float64Array.from({ length: p.length / 2 }, (_, r) => p[2 * r + col] ?? 0);
      },
    };
  }
  throw new LoopmlError(
    "FAILED_PRECONDITION",
    `The retrain loop compares loopml models ("loopml-gbdt", "loopml-model" or "loopml-automl"); this one is ${JSON.stringify(format ?? "of an unknown format")}.`,
  );
}

export function metricOn(s: Scorer, frame: Frame, target: string, metric: MetricName): number {
  const col = getColumn(frame, target);
  if (col.kind !== "numeric")
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Target "${target}" must be numeric (0/1 for a binary model) to score the holdout.`,
    );
  return scoreMetric(metric, col.values, s.score(frame), s.task === "binary" ? 2 : 1);
}

/** How much better `a` is than `b` (positive = better), whatever the metric's direction. */
export function improvement(metric: MetricName, a: number, b: number): number {
  return higherIsBetter(metric) ? a - b : b - a;
}

function positive(proba: Float64Array): Float64Array {
  const n = proba.length / 2;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = proba[2 * i + 1] as number;
  return out;
}

function unsupported(task: string): LoopmlError {
  return new LoopmlError(
    "FAILED_PRECONDITION",
    `The retrain loop compares binary and regression models; ${task} is not supported yet.`,
  );
}
