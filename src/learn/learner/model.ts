// One model type over every learner: raw columns in, preprocessing inside, the same predict/predictProba/toJSON.
import { LoopmlError } from "../../errors.ts";
import { createFrame, type Frame } from "../frame.ts";
import { loadModel as loadGbdt, type GbdtModel } from "../gbdt/index.ts";
import type { FeatureSpec } from "../gbdt/types.ts";
import { loadLinearModel, type LinearModel } from "../linear/index.ts";
import { loadPreprocessor, type Preprocessor, type PreprocessorJson } from "../preprocess/index.ts";
import { loadForestModel, type ForestModel } from "../random-forest/index.ts";
import type { Task } from "./target.ts";

export type LearnerKind = "gbdt" | "rf" | "extra-trees" | "linear";
export const LEARNER_KINDS: readonly LearnerKind[] = ["gbdt", "rf", "extra-trees", "linear"];

export interface TabularModelJson {
  readonly format: "loopml-model";
  readonly version: 1;
  readonly learner: LearnerKind;
  readonly task: Task;
  readonly target: string;
  readonly classes: readonly string[];
  readonly preprocess: PreprocessorJson;
  readonly model: unknown;
}

type Inner = GbdtModel | ForestModel | LinearModel;

/**
 * A trained learner with its preprocessing. `predict` gives the value (regression) or the class index
 * into `classes`; `predictProba` the class probabilities (n x classes, row-major).
 *
 * @example
 * const model = await learner("rf", { task: "auto", seed: 1 }).fit(frame, "churned");
 * model.classes[model.predict(frame)[0]]; // "yes"
 */
export class TabularModel {
  constructor(
    readonly learner: LearnerKind,
    readonly task: Task,
    readonly target: string,
    readonly classes: readonly string[],
    readonly preprocessor: Preprocessor,
    readonly inner: Inner,
  ) {}

  /** The raw input columns the model reads, with training dictionaries for categoricals. */
  get inputs(): FeatureSpec[] {
    return this.preprocessor.inputs;
  }

  /** Number of classes (1 for regression). */
  get nClasses(): number {
    return this.task === "regression" ? 1 : this.classes.length;
  }

  /** The preprocessed frame the inner model reads. */
  transform(frame: Frame): Frame {
    return this.preprocessor.transform(frame, "predict");
  }

  predict(frame: Frame): Float64Array {
    if (this.task === "regression") return this.inner.predict(this.transform(frame));
    const proba = this.predictProba(frame);
    const K = this.nClasses;
    const out = new Float64Array(frame.nRows);
    for (let r = 0; r < out.length; r++) {
      let best = 0;
      for (let k = 1; k < K; k++)
        if ((proba[r * K + k] as number) > (proba[r * K + best] as number)) best = k;
      out[r] = best;
    }
    return out;
  }

  predictProba(frame: Frame): Float64Array {
    if (this.task === "regression") {
      throw new LoopmlError(
        "FAILED_PRECONDITION",
        `predictProba needs a classifier; this ${this.learner} model is a regression.`,
      );
    }
    return this.inner.predictProba(this.transform(frame));
  }

  toJSON(): TabularModelJson {
    return {
      format: "loopml-model",
      version: 1,
      learner: this.learner,
      task: this.task,
      target: this.target,
      classes: this.classes,
      preprocess: this.preprocessor.toJSON(),
      model: this.inner.toJSON(),
    };
  }
}

/**
 * Rebuilds any learner's model from `model.toJSON()` or its JSON text.
 *
 * @example
 * const model = loadTabularModel(await readFile("model.json", "utf8"));
 */
export function loadTabularModel(json: unknown): TabularModel {
  const doc = (typeof json === "string" ? JSON.parse(json) : json) as Partial<TabularModelJson> | null;
  if (!doc || doc.format !== "loopml-model") {
    throw new LoopmlError("INVALID_ARGUMENT", 'Not a loopml model (format should be "loopml-model").');
  }
  if (doc.version !== 1) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Model version ${String(doc.version)} is not supported (this loopml reads 1).`,
    );
  }
  const { learner, task, target, classes } = doc;
  if (!learner || !LEARNER_KINDS.includes(learner))
    throw new LoopmlError("INVALID_ARGUMENT", `Unknown learner ${String(learner)}.`);
  if (task !== "regression" && task !== "binary" && task !== "multiclass") {
    throw new LoopmlError("INVALID_ARGUMENT", `Unknown task ${String(task)}.`);
  }
  if (!Array.isArray(classes) || typeof target !== "string") {
    throw new LoopmlError("INVALID_ARGUMENT", "Model JSON lacks its target or classes.");
  }
  const inner: Inner =
    learner === "gbdt"
      ? loadGbdt(doc.model)
      : learner === "linear"
        ? loadLinearModel(doc.model)
        : loadForestModel(doc.model);
  return new TabularModel(learner, task, target, classes, loadPreprocessor(doc.preprocess), inner);
}

/** Adds the encoded target column to a preprocessed frame, under a name no feature uses. */
export function withTarget(frame: Frame, y: Float64Array): { frame: Frame; label: string } {
  let label = "__target";
  while (frame.columns.some((c) => c.name === label)) label = `_${label}`;
  return { frame: createFrame([...frame.columns, { kind: "numeric", name: label, values: y }]), label };
}
