// The servable AutoML model: its preprocessing (features kept, target encoding) and one or more weighted
// members of any learner (boosting, forests, linear models).
import { LoopmlError } from "../errors.ts";
import type { Frame } from "../learn/frame.ts";
import {
  loadMember,
  memberImportance,
  memberOutput,
  type MemberModel,
  type MemberModelJson,
} from "./member.ts";
import type { DroppedColumn, LearnerName, MetricName, Task } from "./types.ts";

export interface AutomlMember {
  readonly learner: LearnerName;
  readonly trial: number;
  readonly weight: number;
  readonly model: MemberModel;
}

export interface AutomlModelState {
  readonly task: Task;
  readonly target: string;
  readonly metric: MetricName;
  readonly classes: readonly string[];
  readonly features: readonly string[];
  readonly dropped: readonly DroppedColumn[];
  readonly members: readonly AutomlMember[];
}

export interface AutomlModelJson extends Omit<AutomlModelState, "members"> {
  readonly format: "loopml-automl";
  readonly version: 1;
  readonly members: readonly {
    learner: LearnerName;
    trial: number;
    weight: number;
    /** A "loopml-gbdt" model for boosting members, a "loopml-model" (learner interface) for the others. */
    model: MemberModelJson;
  }[];
}

export class AutomlModel {
  constructor(private readonly state: AutomlModelState) {}

  get task(): Task {
    return this.state.task;
  }
  get target(): string {
    return this.state.target;
  }
  /** Class labels; `predict` returns indices into this list for classification. */
  get classes(): readonly string[] {
    return this.state.classes;
  }
  get features(): readonly string[] {
    return this.state.features;
  }
  get members(): readonly AutomlMember[] {
    return this.state.members;
  }

  /**
   * One value per row: the predicted value (regression) or the index of the most likely class in
   * `classes`. Extra columns are ignored; unknown categories count as missing.
   *
   * @example
   * const idx = model.predict(frame); model.classes[idx[0]]; // "benign"
   */
  predict(frame: Frame): Float64Array {
    const { task } = this.state;
    if (task === "regression") return this.blend(frame, 1);
    const proba = this.predictProba(frame);
    const k = this.state.classes.length;
    const out = new Float64Array(frame.nRows);
    for (let r = 0; r < frame.nRows; r++) {
      let best = 0;
      for (let c = 1; c < k; c++)
        if ((proba[r * k + c] as number) > (proba[r * k + best] as number)) best = c;
      out[r] = best;
    }
    return out;
  }

  /** The predicted class label per row (classification only). */
  predictLabels(frame: Frame): string[] {
    this.needClassification("predictLabels");
    return Array.from(this.predict(frame), (i) => this.state.classes[i] as string);
  }

  /** Class probabilities, n x classes row-major, columns in the order of `classes`. */
  predictProba(frame: Frame): Float64Array {
    this.needClassification("predictProba");
    const k = this.state.classes.length;
    if (this.state.task === "multiclass") return this.blend(frame, k);
    const p1 = this.blend(frame, 1);
    const out = new Float64Array(frame.nRows * 2);
    for (let r = 0; r < frame.nRows; r++) {
      out[2 * r] = 1 - (p1[r] as number);
      out[2 * r + 1] = p1[r] as number;
    }
    return out;
  }

  /**
   * Importance per feature (gain for trees, |coefficient| for linear members), normalised to sum 1 per
   * member and weighted over ensemble members; largest first.
   */
  featureImportance(): { feature: string; importance: number }[] {
    const totals = new Map<string, number>(this.state.features.map((f) => [f, 0]));
    for (const m of this.state.members) {
      for (const [f, g] of memberImportance(m.model, this.state.features))
        totals.set(f, (totals.get(f) ?? 0) + m.weight * g);
    }
    return [...totals]
      .map(([feature, importance]) => ({ feature, importance }))
      .sort((a, b) => b.importance - a.importance);
  }

  toJSON(): AutomlModelJson {
    const s = this.state;
    return {
      format: "loopml-automl",
      version: 1,
      task: s.task,
      target: s.target,
      metric: s.metric,
      classes: s.classes,
      features: s.features,
      dropped: s.dropped,
      members: s.members.map((m) => ({
        learner: m.learner,
        trial: m.trial,
        weight: m.weight,
        model: m.model.toJSON(),
      })),
    };
  }

  /** Weighted average of the members' probabilities (or values); width 1 or the class count. */
  private blend(frame: Frame, width: number): Float64Array {
    const out = new Float64Array(frame.nRows * width);
    const k = this.state.task === "regression" ? 1 : this.state.classes.length;
    for (const m of this.state.members) {
      const p = memberOutput(m.model, frame, this.state.task, k);
      for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) + m.weight * (p[i] as number);
    }
    return out;
  }

  private needClassification(what: string): void {
    if (this.state.task === "regression") {
      throw new LoopmlError(
        "FAILED_PRECONDITION",
        `${what} needs a classification model but this one is a regression; use predict.`,
      );
    }
  }
}

/**
 * Rebuilds an AutoML model from `model.toJSON()` or its JSON text.
 *
 * @example
 * const again = loadAutomlModel(JSON.stringify(result.model));
 */
export function loadAutomlModel(json: unknown): AutomlModel {
  const doc = (typeof json === "string" ? JSON.parse(json) : json) as Partial<AutomlModelJson> | null;
  if (!doc || typeof doc !== "object" || doc.format !== "loopml-automl") {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      'Not a loopml AutoML model (format should be "loopml-automl").',
    );
  }
  if (doc.version !== 1) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `AutoML model version ${String(doc.version)} is not supported (this loopml reads version 1); upgrade loopml.`,
    );
  }
  if (
    !doc.task ||
    !doc.target ||
    !doc.metric ||
    !Array.isArray(doc.members) ||
    doc.members.length === 0 ||
    !Array.isArray(doc.features)
  ) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      "AutoML model JSON lacks its task, target, metric, features or members.",
    );
  }
  return new AutomlModel({
    task: doc.task,
    target: doc.target,
    metric: doc.metric,
    classes: doc.classes ?? [],
    features: doc.features,
    dropped: doc.dropped ?? [],
    members: (doc.members as AutomlModelJson["members"]).map((m) => ({
      learner: m.learner,
      trial: m.trial,
      weight: m.weight,
      model: loadMember(m.model),
    })),
  });
}
