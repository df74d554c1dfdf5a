import { describe, expect, it } from "vitest";
import { frameFromColumns, type Frame } from "../frame.ts";
import { randomForest, type ForestModel } from "../random-forest/index.ts";
import { createRng } from "../random.ts";
import { attachCovers, countCovers } from "./index.ts";
import { forestArrays } from "./forest.ts";

function data(n: number, seed: number, task: "regression" | "binary" | "multiclass"): Frame {
  const rng = createRng(seed);
  const a = Float64Array.from({ length: n }, () => (rng.next() < 0.1 ? NaN : rng.next()));
  const b = Float64Array.from({ length: n }, () => rng.next());
  const noise = Float64Array.from({ length: n }, () => rng.next());
  const z = a.map((v, i) => (Number.isNaN(v) ? 0.5 : v) + 0.5 * (b[i] as number));
  const y =
    task === "regression"
      ? z
      : task === "binary"
        ? z.map((v) => (v > 0.7 ? 1 : 0))
        : z.map((v) => (v < 0.5 ? 0 : v < 0.9 ? 1 : 2));
  return frameFromColumns({ a, b, noise, y });
}

/** The averaged leaf values per row and output, as the forest predicts before any class choice. */
function rawOf(model: ForestModel, frame: Frame): Float64Array {
  if (model.task === "regression") return model.predict(frame);
  const proba = model.predictProba(frame);
  if (model.task === "multiclass") return proba;
  return Float64Array.from({ length: frame.nRows }, (_, r) => proba[2 * r + 1] as number);
}

describe("random forest explanations", () => {
  for (const task of ["regression", "binary", "multiclass"] as const) {
    it(`are additive for a ${task} forest (contributions + expected value = averaged leaf values)`, async () => {
      const train = data(600, 1, task);
      const test = data(60, 2, task);
      const model = await randomForest({ task, nTrees: 12, maxDepth: 6, seed: 3, nThreads: 1 }).fit(
        train,
        "y",
      );
      const e = model.explain(test, { background: train });
      const raw = rawOf(model, test);
      const K = e.outputs;
      expect(K).toBe(task === "multiclass" ? 3 : 1);
      let worst = 0;
      for (let r = 0; r < test.nRows; r++) {
        for (let k = 0; k < K; k++) {
          let sum = e.expectedValue[k] as number;
          for (let f = 0; f < 3; f++) sum += e.contributions[(r * 3 + f) * K + k] as number;
          worst = Math.max(worst, Math.abs(sum - (raw[r * K + k] as number)));
        }
      }
      expect(worst).toBeLessThan(1e-9);
    });
  }

  it("uses attached per-node covers (training counts) like an explicit background", async () => {
    const train = data(500, 4, "multiclass");
    const test = data(3, 5, "multiclass");
    const model = await randomForest({
      task: "multiclass",
      nTrees: 8,
      maxDepth: 5,
      seed: 1,
      nThreads: 1,
    }).fit(train, "y");
    const columns = ["a", "b", "noise"].map((name) => {
      const c = train.columns.find((col) => col.name === name);
      if (c?.kind !== "numeric") throw new Error(name);
      return c.values;
    });
    attachCovers(model, countCovers(forestArrays(model), columns, train.nRows));
    expect(Array.from(model.explain(test).contributions)).toEqual(
      Array.from(model.explain(test, { background: train }).contributions),
    );
  });
});
