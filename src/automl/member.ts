// One fitted AutoML member of any learner: its predictions in AutoML's layout, importances and JSON.
import type { Frame } from "../learn/frame.ts";
import { GbdtModel, loadModel, type GbdtModelJson } from "../learn/gbdt/index.ts";
import { loadTabularModel, type TabularModel, type TabularModelJson } from "../learn/learner/index.ts";
import type { Task } from "./types.ts";

/**
 * Boosting members are plain GBDTs on the kept features; forests and linear models are learner-interface
 * models with their preprocessing inside. Both read the same raw feature columns.
 */
export type MemberModel = GbdtModel | TabularModel;
export type MemberModelJson = GbdtModelJson | TabularModelJson;

/**
 * Predictions as metrics and ensembles read them: P(class 1) per row (binary), n x k probabilities
 * (multiclass) or values (regression). Members are trained on class indices, so a learner-interface
 * model's classes are the index strings "0", "1", …; a class missing from its training sample gets 0.
 */
export function memberOutput(model: MemberModel, frame: Frame, task: Task, nClasses: number): Float64Array {
  if (model instanceof GbdtModel)
    return task === "multiclass" ? model.predictProba(frame) : model.predict(frame);
  if (task === "regression") return model.predict(frame);
  const proba = model.predictProba(frame);
  const own = model.classes.length;
  const n = frame.nRows;
  const columns = model.classes.map(Number);
  if (task === "binary") {
    const one = columns.indexOf(1);
    return Float64Array.from({ length: n }, (_, r) => (one < 0 ? 0 : (proba[r * own + one] as number)));
  }
  if (own === nClasses && columns.every((c, i) => c === i)) return proba;
  const out = new Float64Array(n * nClasses);
  for (let r = 0; r < n; r++)
    for (let c = 0; c < own; c++) out[r * nClasses + (columns[c] as number)] = proba[r * own + c] as number;
  return out;
}

/** Importance per input feature, summing to 1 (gain for trees, |coefficient| on standardised inputs for linear). */
export function memberImportance(model: MemberModel, features: readonly string[]): Map<string, number> {
  const raw: Record<string, number> =
    model instanceof GbdtModel
      ? model.featureImportance("gain")
      : "featureImportance" in model.inner
        ? model.inner.featureImportance()
        : linearImportance(model);
  // Preprocessed names ("x=cat", "x__missing", "t__month") go back to the input column they came from.
  const byFeature = new Map<string, number>();
  const sorted = [...features].sort((a, b) => b.length - a.length);
  for (const [name, value] of Object.entries(raw)) {
    const feature = sorted.find((f) => name === f || name.startsWith(`${f}=`) || name.startsWith(`${f}__`));
    if (feature !== undefined && value > 0) byFeature.set(feature, (byFeature.get(feature) ?? 0) + value);
  }
  const sum = [...byFeature.values()].reduce((a, b) => a + b, 0);
  if (sum > 0) for (const [f, v] of byFeature) byFeature.set(f, v / sum);
  return byFeature;
}

function linearImportance(model: TabularModel): Record<string, number> {
  const inner = model.inner as { features: readonly string[]; coef: Float64Array };
  const p = inner.features.length;
  const out: Record<string, number> = {};
  inner.features.forEach((name, j) => {
    let s = 0;
    for (let k = j; k < inner.coef.length; k += p) s += Math.abs(inner.coef[k] as number);
    out[name] = s;
  });
  return out;
}

export function loadMember(json: MemberModelJson): MemberModel {
  return (json as { format?: string }).format === "loopml-model" ? loadTabularModel(json) : loadModel(json);
}
