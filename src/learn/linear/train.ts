// Linear and logistic regression with L2, L1 or elastic-net penalties, parameterised as scikit-learn.
import { LoopmlError } from "../../errors.ts";
import { getColumn, type Frame } from "../frame.ts";
import { LinearModel, numericColumns, type LinearTask } from "./model.ts";
import {
  fitLogisticL1,
  fitLogisticSmooth,
  fitMultinomialL1,
  fitSquaredL1,
  fitSquaredSmooth,
  type Penalty,
} from "./solvers.ts";

export type LinearPenalty = "none" | "l2" | "l1" | "elasticnet";

export interface LinearParams {
  readonly task: LinearTask;
  /** "l2" by default. */
  readonly penalty?: LinearPenalty;
  /**
   * Regression strength, as scikit-learn's ElasticNet/Lasso (Ridge's alpha is n times this):
   * (1/2n)||y - Xw - b||² + alpha (l1Ratio ||w||₁ + (1 - l1Ratio)/2 ||w||²); 1e-4 by default.
   */
  readonly alpha?: number;
  /** Inverse strength for classification, as scikit-learn's LogisticRegression: C Σ log-loss + penalty; 1 by default. */
  readonly C?: number;
  /** Share of L1 in "elasticnet"; 0.5 by default. */
  readonly l1Ratio?: number;
  readonly maxIterations?: number;
  /** Classes for "multiclass"; inferred from the labels by default. */
  readonly nClasses?: number;
}

export interface LinearTrainer {
  /**
   * `deadline` (epoch milliseconds): no solver iteration (L-BFGS, proximal Newton, coordinate-descent sweep,
   * proximal gradient) starts after it; the fit keeps its current, unconverged coefficients.
   */
  fit(
    frame: Frame,
    label: string,
    options?: { features?: readonly string[]; deadline?: number },
  ): LinearModel;
}

/**
 * Fits on numeric, complete features (use the preprocessing to impute, encode and standardise).
 * Smooth penalties are solved by L-BFGS, L1 and elastic net by coordinate descent; deterministic.
 *
 * @example
 * const model = linear({ task: "binary", penalty: "l1", C: 0.5 }).fit(train, "label");
 */
export function linear(params: LinearParams): LinearTrainer {
  const penalty = params.penalty ?? "l2";
  const l1Ratio = penalty === "l1" ? 1 : penalty === "elasticnet" ? (params.l1Ratio ?? 0.5) : 0;
  const bad = (what: string): LoopmlError => new LoopmlError("INVALID_ARGUMENT", `linear: ${what}.`);
  if (!["none", "l2", "l1", "elasticnet"].includes(penalty))
    throw bad(`penalty "${penalty}" is not none, l2, l1 or elasticnet`);
  if (!(l1Ratio >= 0 && l1Ratio <= 1)) throw bad(`l1Ratio is ${l1Ratio}; use a number in [0, 1]`);
  if (params.alpha !== undefined && !(params.alpha >= 0))
    throw bad(`alpha is ${params.alpha}; use a number >= 0`);
  if (params.C !== undefined && !(params.C > 0)) throw bad(`C is ${params.C}; use a number > 0`);
  const maxIter = params.maxIterations ?? 10_000;
  return {
    fit(frame, label, options = {}) {
      const names = options.features ?? frame.columns.map((c) => c.name).filter((n) => n !== label);
      if (names.includes(label)) throw bad(`the label "${label}" cannot also be a feature`);
      if (names.length === 0) throw bad("the frame has no feature columns besides the label");
      const X = numericColumns(frame, names, "fit");
      const y = labels(frame, label, params.task, params.nClasses);
      const n = frame.nRows;
      let fitted;
      if (params.task === "regression") {
        const alpha = penalty === "none" ? 0 : (params.alpha ?? 1e-4);
        const pen: Penalty = { l1: alpha * l1Ratio, l2: alpha * (1 - l1Ratio) };
        fitted =
          pen.l1 > 0
            ? fitSquaredL1(X, y, pen, maxIter, options.deadline)
            : fitSquaredSmooth(X, y, pen.l2, maxIter, options.deadline);
      } else {
        const strength = penalty === "none" ? 0 : 1 / ((params.C ?? 1) * n);
        const pen: Penalty = { l1: strength * l1Ratio, l2: strength * (1 - l1Ratio) };
        const K = params.task === "binary" ? 1 : (params.nClasses ?? maxPlusOne(y));
        if (pen.l1 === 0) fitted = fitLogisticSmooth(X, y, K, pen.l2, maxIter, options.deadline);
        else if (K === 1) fitted = fitLogisticL1(X, y, pen, maxIter, options.deadline);
        // Proximal gradient needs many cheap steps rather than a few Newton ones.
        else fitted = fitMultinomialL1(X, y, K, pen, Math.max(maxIter, 100_000), options.deadline);
      }
      return new LinearModel(params.task, names, fitted.coef, fitted.intercept);
    },
  };
}

function labels(frame: Frame, label: string, task: LinearTask, nClasses: number | undefined): Float64Array {
  const column = getColumn(frame, label);
  const y = column.kind === "numeric" ? column.values : Float64Array.from(column.codes);
  if (frame.nRows < 2)
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Training needs at least 2 rows, the frame has ${frame.nRows}.`,
    );
  let first = NaN;
  let constant = true;
  for (let i = 0; i < y.length; i++) {
    const v = y[i] as number;
    if (!Number.isFinite(v) || v < (task === "regression" ? -Infinity : 0)) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Label "${label}" is missing or invalid (${v}) at row ${i}; drop those rows.`,
      );
    }
    if (task === "binary" && v !== 0 && v !== 1) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Label "${label}" is ${v} at row ${i}; "binary" needs labels 0 and 1.`,
      );
    }
    if (task === "multiclass" && (!Number.isInteger(v) || (nClasses !== undefined && v >= nClasses))) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Label "${label}" is ${v} at row ${i}; "multiclass" needs class indices.`,
      );
    }
    if (i === 0) first = v;
    else if (v !== first) constant = false;
  }
  if (constant) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Label "${label}" is constant (${first}); there is nothing to learn.`,
    );
  }
  return y;
}

function maxPlusOne(y: Float64Array): number {
  let max = 0;
  for (const v of y) if (v > max) max = v;
  return max + 1;
}
