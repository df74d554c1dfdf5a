// A fitted linear model over numeric features: batch prediction and versioned JSON serialisation.
import { LoopmlError } from "../../errors.ts";
import type { Frame } from "../frame.ts";
import { sigmoid } from "./solvers.ts";

export type LinearTask = "regression" | "binary" | "multiclass";

export interface LinearModelJson {
  readonly format: "loopml-linear";
  readonly version: 1;
  readonly task: LinearTask;
  readonly features: readonly string[];
  /** nOutputs x features, row-major (one row for regression and binary, one per class for multiclass). */
  readonly coef: readonly number[];
  readonly intercept: readonly number[];
}

export class LinearModel {
  constructor(
    readonly task: LinearTask,
    readonly features: readonly string[],
    readonly coef: Float64Array,
    readonly intercept: Float64Array,
  ) {}

  get nOutputs(): number {
    return this.intercept.length;
  }

  /** Linear scores b + x·w, n x nOutputs row-major. */
  predictRaw(frame: Frame): Float64Array {
    const columns = numericColumns(frame, this.features, "predict");
    const n = frame.nRows;
    const K = this.nOutputs;
    const p = this.features.length;
    const out = new Float64Array(n * K);
    for (let k = 0; k < K; k++) {
      const b = this.intercept[k] as number;
      for (let i = 0; i < n; i++) out[i * K + k] = b;
      for (let j = 0; j < p; j++) {
        const w = this.coef[k * p + j] as number;
        const x = columns[j] as Float64Array;
        for (let i = 0; i < n; i++) out[i * K + k] = (out[i * K + k] as number) + w * (x[i] as number);
      }
    }
    return out;
  }

  /** The value (regression), P(class 1) (binary) or the most likely class index (multiclass) per row. */
  predict(frame: Frame): Float64Array {
    if (this.task === "regression") return this.predictRaw(frame);
    if (this.task === "binary") return this.predictRaw(frame).map(sigmoid);
    const proba = this.predictProba(frame);
    const K = this.nOutputs;
    const out = new Float64Array(frame.nRows);
    for (let i = 0; i < out.length; i++) {
      let best = 0;
      for (let k = 1; k < K; k++)
        if ((proba[i * K + k] as number) > (proba[i * K + best] as number)) best = k;
      out[i] = best;
    }
    return out;
  }

  /** Class probabilities, n x classes row-major (two columns for binary). */
  predictProba(frame: Frame): Float64Array {
    if (this.task === "regression") {
      throw new LoopmlError(
        "FAILED_PRECONDITION",
        "predictProba needs a classifier; this linear model is a regression.",
      );
    }
    const raw = this.predictRaw(frame);
    if (this.task === "binary") {
      const out = new Float64Array(raw.length * 2);
      for (let i = 0; i < raw.length; i++) {
        const p1 = sigmoid(raw[i] as number);
        out[2 * i] = 1 - p1;
        out[2 * i + 1] = p1;
      }
      return out;
    }
    const K = this.nOutputs;
    for (let i = 0; i < frame.nRows; i++) {
      let max = -Infinity;
      for (let k = 0; k < K; k++) max = Math.max(max, raw[i * K + k] as number);
      let sum = 0;
      for (let k = 0; k < K; k++) {
        const e = Math.exp((raw[i * K + k] as number) - max);
        raw[i * K + k] = e;
        sum += e;
      }
      for (let k = 0; k < K; k++) raw[i * K + k] = (raw[i * K + k] as number) / sum;
    }
    return raw;
  }

  toJSON(): LinearModelJson {
    return {
      format: "loopml-linear",
      version: 1,
      task: this.task,
      features: this.features,
      coef: Array.from(this.coef),
      intercept: Array.from(this.intercept),
    };
  }
}

/** Rebuilds a model from `model.toJSON()`, checking its shape. */
export function loadLinearModel(json: unknown): LinearModel {
  const doc = (typeof json === "string" ? JSON.parse(json) : json) as Partial<LinearModelJson> | null;
  if (!doc || doc.format !== "loopml-linear" || doc.version !== 1) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      'Not a loopml linear model (format "loopml-linear", version 1).',
    );
  }
  const { task, features, coef, intercept } = doc;
  if (
    (task !== "regression" && task !== "binary" && task !== "multiclass") ||
    !Array.isArray(features) ||
    !Array.isArray(coef) ||
    !Array.isArray(intercept) ||
    coef.length !== features.length * intercept.length
  ) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      "Linear model JSON has an unknown task or coefficients of the wrong shape.",
    );
  }
  return new LinearModel(task, features, Float64Array.from(coef), Float64Array.from(intercept));
}

/** The named numeric columns, refusing missing and infinite values (impute them first). */
export function numericColumns(frame: Frame, names: readonly string[], purpose: string): Float64Array[] {
  return names.map((name) => {
    const column = frame.columns.find((c) => c.name === name);
    if (!column) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `${purpose}: the model needs column "${name}" but the frame has no such column; pass the training columns.`,
      );
    }
    if (column.kind !== "numeric") {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `${purpose}: column "${name}" is categorical; linear models need numbers (one-hot or target encode it first).`,
      );
    }
    const x = column.values;
    for (let i = 0; i < x.length; i++) {
      const v = x[i] as number;
      if (!Number.isFinite(v)) {
        throw new LoopmlError(
          "INVALID_ARGUMENT",
          `${purpose}: column "${name}" holds ${v} at row ${i}; linear models need finite values (impute missing values first).`,
        );
      }
    }
    return x;
  });
}
