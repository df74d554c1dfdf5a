// Joins a window's predictions with the late labels received for them, and measures the model on the pairs.
import type { MonitorSpec } from "./monitor-spec.ts";
import { performanceOf, withDecay, type PerformanceReport, type Task } from "./performance.ts";
import type { ColumnReference, ReferenceProfile } from "./reference.ts";
import type { LoadedWindow } from "./window-source.ts";

export interface JoinedLabels {
  /** Predictions of the window that have a usable label. */
  readonly labelled: number;
  readonly task: Task;
  performance(versionMetrics: Readonly<Record<string, number>>): PerformanceReport | null;
}

/**
 * Classification when the spec says so, when the target is categorical, when the model logged probabilities, or
 * when a few-valued target meets integer predictions; regression otherwise.
 */
export function taskOf(spec: MonitorSpec, target: ColumnReference | undefined, window: LoadedWindow): Task {
  if (spec.task) return spec.task;
  if (target?.kind === "categorical" || window.probabilities) return "classification";
  const p = window.data.predictions;
  if (target?.kind === "numeric" && target.valueCounts && p && p.every(Number.isInteger))
    return "classification";
  return "regression";
}

export function joinLabels(
  spec: MonitorSpec,
  profile: ReferenceProfile,
  window: LoadedWindow,
  stored: ReadonlyMap<string, string>,
): JoinedLabels {
  const target = spec.target === undefined ? undefined : profile.columns.find((c) => c.name === spec.target);
  const task = taskOf(spec, target, window);
  const ids = window.requestIds ?? [];
  const predictions = window.data.predictions ?? new Float64Array(0);
  // Class names are mapped to the class index the model predicts: their position in the target's dictionary.
  const classIndex =
    target?.kind === "categorical" ? new Map(target.dictionary.map((v, i) => [v, i])) : undefined;
  const y: number[] = [];
  const p: number[] = [];
  const prob: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    const text = stored.get(ids[i]!);
    if (text === undefined) continue;
    const value = classIndex?.get(text) ?? Number(text);
    if (!Number.isFinite(value)) continue;
    y.push(value);
    p.push(predictions[i]!);
    if (window.probabilities) prob.push(window.probabilities[i]!);
  }
  return {
    labelled: y.length,
    task,
    performance: (versionMetrics) =>
      y.length === 0
        ? null
        : withDecay(
            performanceOf(
              task,
              Float64Array.from(y),
              Float64Array.from(p),
              window.probabilities ? Float64Array.from(prob) : undefined,
            ),
            versionMetrics,
          ),
  };
}
