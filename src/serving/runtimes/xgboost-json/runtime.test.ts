// XGBoost JSON models predicted in TypeScript must equal XGBoost's own predictions (fixtures from python3-xgboost).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isLoopmlError } from "../../../errors.ts";
import type { Batch } from "../../types.ts";
import { createXgboostJsonRuntime } from "./runtime.ts";

const FIXTURES = join(import.meta.dirname, "..", "..", "fixtures");

interface Expected {
  readonly objective: string;
  readonly feature_names: string[] | null;
  readonly inputs: (number | null)[][];
  readonly predictions: (number | number[])[];
  readonly margins: (number | number[])[];
}

function fixture(kind: string): { model: string; expected: Expected } {
  const dir = join(FIXTURES, `xgb-${kind}`);
  return {
    model: readFileSync(join(dir, "m.json"), "utf8"),
    expected: JSON.parse(readFileSync(join(dir, "expected.json"), "utf8")) as Expected,
  };
}

function toBatch(rows: (number | null)[][]): Batch {
  const nFeatures = rows[0]?.length ?? 0;
  const values = Float64Array.from(rows.flat(), (v) => v ?? NaN);
  return { nRows: rows.length, values, strings: new Array<null>(nFeatures).fill(null) };
}

const TOLERANCE = 1e-6;

interface XgbTree {
  left_children: number[];
  split_indices: number[];
}
/** The parts of XGBoost's document that the broken-model cases change. */
interface XgbDoc {
  learner: {
    objective: { name: string };
    gradient_booster: { name: string; model: { trees: XgbTree[] } };
  };
}

function tree(d: XgbDoc, i: number): XgbTree {
  return d.learner.gradient_booster.model.trees[i] as XgbTree;
}

describe("xgboost-json runtime", () => {
  it.each([
    { kind: "binary", task: "binary", nClasses: 2 },
    { kind: "regression", task: "regression", nClasses: 1 },
    { kind: "multiclass", task: "multiclass", nClasses: 4 },
    { kind: "poisson", task: "regression", nClasses: 1 },
  ])("$kind matches XGBoost to 1e-6, NaNs included", ({ kind, task, nClasses }) => {
    const { model, expected } = fixture(kind);
    const runtime = createXgboostJsonRuntime(model);
    expect(runtime.signature.task).toBe(task);
    expect(runtime.signature.nClasses).toBe(nClasses);
    const names = runtime.signature.inputs.map((c) => c.name);
    expect(names).toEqual(expected.feature_names ?? names.map((_, i) => `f${i}`));
    expect(expected.inputs.some((row) => row.includes(null))).toBe(kind !== "poisson");

    const batch = toBatch(expected.inputs);
    const margins = runtime.predictMargins(batch);
    const result = runtime.predict(batch);
    const flatMargins = expected.margins.flat();
    const flatPredictions = expected.predictions.flat();
    expect(margins.length).toBe(flatMargins.length);
    let worst = 0;
    flatMargins.forEach((m, i) => (worst = Math.max(worst, Math.abs((margins[i] as number) - m))));
    const scores =
      task === "regression"
        ? result.predictions
        : task === "binary"
          ? Float64Array.from({ length: batch.nRows }, (_, r) => result.probabilities?.[2 * r + 1] ?? NaN)
          : (result.probabilities as Float64Array);
    expect(scores.length).toBe(flatPredictions.length);
    flatPredictions.forEach((p, i) => (worst = Math.max(worst, Math.abs((scores[i] as number) - p))));
    expect(worst).toBeLessThanOrEqual(TOLERANCE);
  });

  it("predicts one row at a time the same as the whole batch", () => {
    const { model, expected } = fixture("multiclass");
    const runtime = createXgboostJsonRuntime(model);
    const all = runtime.predict(toBatch(expected.inputs)).probabilities as Float64Array;
    expected.inputs.forEach((row, r) => {
      const one = runtime.predict(toBatch([row])).probabilities as Float64Array;
      expect(Array.from(one)).toEqual(Array.from(all.subarray(4 * r, 4 * r + 4)));
    });
  });

  it.each([
    { name: "not JSON", mutate: () => "{not json", problem: /not valid JSON/ },
    {
      name: "unknown objective",
      mutate: (d: XgbDoc) => ((d.learner.objective.name = "rank:pairwise"), d),
      problem: /objective "rank:pairwise"/,
    },
    {
      name: "child pointing backwards",
      mutate: (d: XgbDoc) => ((tree(d, 0).left_children[1] = 0), d),
      problem: /tree 0 node 1 has children outside the tree/,
    },
    {
      name: "feature out of range",
      mutate: (d: XgbDoc) => ((tree(d, 2).split_indices[0] = 99), d),
      problem: /splits on feature 99 of 5/,
    },
    {
      name: "dart booster",
      mutate: (d: XgbDoc) => ((d.learner.gradient_booster.name = "dart"), d),
      problem: /booster "dart"/,
    },
  ])("rejects a broken model ($name) with INVALID_ARGUMENT", ({ mutate, problem }) => {
    const doc = JSON.parse(fixture("binary").model) as XgbDoc;
    const broken = mutate(doc);
    let caught: unknown;
    try {
      createXgboostJsonRuntime(typeof broken === "string" ? broken : JSON.stringify(broken));
    } catch (e) {
      caught = e;
    }
    expect(isLoopmlError(caught, "INVALID_ARGUMENT")).toBe(true);
    expect((caught as Error).message).toMatch(problem);
  });
});
