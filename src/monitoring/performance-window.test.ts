// Joining late labels with a window's predictions: class names map to class indices, unlabelled rows are skipped.
import { describe, expect, it } from "vitest";
import { frameFromColumns } from "../learn/frame.ts";
import { joinLabels } from "./performance-window.ts";
import { buildReferenceProfile } from "./reference.ts";
import type { LoadedWindow } from "./window-source.ts";

describe("joinLabels", () => {
  const profile = buildReferenceProfile(
    frameFromColumns({ x: [1, 2, 3, 4], churned: ["no", "yes", "no", "yes"] }),
    "dataset:ref@1",
  );
  const window: LoadedWindow = {
    data: { rows: 6, columns: {}, predictions: Float64Array.of(0, 1, 1, 0, 1, 0) },
    source: "model:churn",
    start: 0,
    end: 5,
    model: "churn",
    requestIds: ["a", "b", "c", "d", "e", "f"],
    versions: Int32Array.of(1, 1, 1, 1, 1, 1),
    probabilities: Float64Array.of(0.2, 0.9, 0.6, 0.4, 0.7, 0.1),
  };

  it("maps class names through the target's dictionary and measures accuracy and AUC with decay", () => {
    const labels = new Map([
      ["a", "no"],
      ["b", "yes"],
      ["c", "no"],
      ["d", "yes"],
      ["e", "yes"],
    ]);
    const joined = joinLabels(
      { name: "m", model: "churn", reference: "dataset:ref@1", target: "churned", window: { rows: 6 } },
      profile,
      window,
      labels,
    );
    expect(joined).toMatchObject({ labelled: 5, task: "classification" });
    const perf = joined.performance({ validation_auc: 0.9, accuracy: 0.8 })!;
    expect(perf.metrics.accuracy).toMatchObject({ value: 0.6, method: "wilson", validation: 0.8 });
    expect(perf.metrics.accuracy!.change).toBeCloseTo(-0.2, 12);
    // Positives b, d, e scored 0.9, 0.4, 0.7; negatives a, c scored 0.2, 0.6: 5 of 6 pairs ordered right.
    expect(perf.metrics.auc!.value).toBeCloseTo(5 / 6, 12);
    expect(perf.metrics.auc!.validation).toBe(0.9);
  });

  it("gives no performance before any label arrives", () => {
    const joined = joinLabels(
      { name: "m", model: "churn", reference: "dataset:ref@1", target: "churned", window: { rows: 6 } },
      profile,
      window,
      new Map(),
    );
    expect(joined.labelled).toBe(0);
    expect(joined.performance({})).toBeNull();
  });
});
