import { describe, expect, it } from "vitest";
import { isLoopmlError } from "../../errors.ts";
import { frameFromColumns, type Frame } from "../frame.ts";
import { gbdt, loadModel, type GbdtModel, type GbdtParams } from "../gbdt/index.ts";
import { createRng } from "../random.ts";
import { attachCovers, countCovers, permutationImportance, treeImportance } from "./index.ts";

/** x0 and x1 matter (x1 through a category), x2 is noise; about 10% of x0 is missing. */
function data(n: number, seed: number, kind: "binary" | "regression" | "multiclass"): Frame {
  const rng = createRng(seed);
  const x0 = Float64Array.from({ length: n }, () => (rng.next() < 0.1 ? NaN : rng.next() * 2 - 1));
  const x1 = Array.from({ length: n }, () => ["a", "b", "c", "d"][rng.int(4)] as string);
  const x2 = Float64Array.from({ length: n }, () => rng.next());
  const z = Float64Array.from(
    { length: n },
    (_, i) => (Number.isNaN(x0[i]) ? 0.5 : (x0[i] as number)) + (x1[i] === "b" ? 1 : x1[i] === "d" ? -1 : 0),
  );
  const noise = (): number => 0.3 * (rng.next() - 0.5);
  const y =
    kind === "regression"
      ? z.map((v) => v + noise())
      : kind === "binary"
        ? z.map((v) => (v + noise() > 0 ? 1 : 0))
        : z.map((v) => (v + noise() < -0.5 ? 0 : v < 0.5 ? 1 : 2));
  return frameFromColumns({ x0, x1, x2, y });
}

const FAST: Omit<GbdtParams, "objective"> = {
  nRounds: 25,
  maxDepth: 5,
  learningRate: 0.3,
  seed: 1,
  nThreads: 1,
};

function expectAdditive(model: GbdtModel, frame: Frame, background?: Frame): void {
  const e = model.explain(frame, background ? { background } : {});
  const raw = model.predictRaw(frame);
  const K = e.outputs;
  const F = e.featureNames.length;
  expect(e.contributions.length).toBe(frame.nRows * F * K);
  let worst = 0;
  for (let r = 0; r < frame.nRows; r++) {
    for (let k = 0; k < K; k++) {
      let sum = e.expectedValue[k] as number;
      for (let f = 0; f < F; f++) sum += e.contributions[(r * F + f) * K + k] as number;
      worst = Math.max(worst, Math.abs(sum - (raw[r * K + k] as number)));
    }
  }
  expect(worst).toBeLessThan(1e-9);
}

describe("GbdtModel.explain", () => {
  const objectives = ["binary", "regression", "multiclass"] as const;
  for (const objective of objectives) {
    it(`is additive for a ${objective} model (contributions + expected value = raw margin)`, () => {
      const train = data(1500, 1, objective);
      const test = data(200, 2, objective);
      const model = gbdt({ objective, ...FAST }).fit(train, "y");
      expectAdditive(model, test, train);
      expectAdditive(model, test);
      const e = model.explain(test, { background: train });
      expect(e.outputs).toBe(objective === "multiclass" ? 3 : 1);
      expect(e.featureNames).toEqual(["x0", "x1", "x2"]);
      // Mean |SHAP| ranks the noise feature last.
      const meanAbs = [0, 1, 2].map((f) => {
        let s = 0;
        for (let r = 0; r < test.nRows; r++)
          for (let k = 0; k < e.outputs; k++)
            s += Math.abs(e.contributions[(r * 3 + f) * e.outputs + k] as number);
        return s;
      });
      expect(meanAbs[2]).toBeLessThan(Math.min(meanAbs[0] as number, meanAbs[1] as number));
    });
  }

  it("uses attached covers, so one row is explained against the training distribution", () => {
    const train = data(1000, 3, "binary");
    const test = data(1, 4, "binary");
    const model = gbdt({ objective: "binary", ...FAST }).fit(train, "y");
    const withBackground = model.explain(test, { background: train });
    const state = model as unknown as { state: { forest: Parameters<typeof countCovers>[0] } };
    const columns = ["x0", "x1", "x2"].map((name) => {
      const c = train.columns.find((col) => col.name === name);
      if (!c) throw new Error(name);
      return c.kind === "numeric" ? c.values : Float64Array.from(c.codes, (v) => (v < 0 ? NaN : v));
    });
    attachCovers(model, countCovers(state.state.forest, columns, train.nRows));
    const attached = model.explain(test);
    expect(Array.from(attached.contributions)).toEqual(Array.from(withBackground.contributions));
    expect(Array.from(attached.expectedValue)).toEqual(Array.from(withBackground.expectedValue));
    expectAdditive(model, test);
  });

  it("explains one row against the training data with the covers recorded in training, also after a JSON round trip", () => {
    const train = data(800, 7, "regression");
    const model = gbdt({ objective: "regression", ...FAST, subsample: 1 }).fit(train, "y");
    const again = loadModel(JSON.parse(JSON.stringify(model.toJSON())));
    const one = data(1, 8, "regression");
    for (const m of [model, again]) {
      const e = m.explain(one);
      // Squared error has unit hessians, so the covers are training row counts and the expected value is
      // the mean training prediction: a single row is no longer its own reference.
      const mean = model.predict(train).reduce((a, b) => a + b, 0) / train.nRows;
      expect(e.expectedValue[0]).toBeCloseTo(mean, 9);
      expect(Array.from(e.contributions).some((c) => Math.abs(c) > 1e-6)).toBe(true);
      expectAdditive(m, one);
    }
  });

  it("rejects a frame without the model's columns", () => {
    const train = data(500, 5, "regression");
    const model = gbdt({ objective: "regression", ...FAST }).fit(train, "y");
    let error: unknown;
    try {
      model.explain(frameFromColumns({ x0: [1], x2: [0.5] }));
    } catch (e) {
      error = e;
    }
    expect(isLoopmlError(error) && error.code).toBe("INVALID_ARGUMENT");
  });
});

describe("feature importance", () => {
  it("gain and split totals agree with the model's own featureImportance", () => {
    const train = data(1000, 6, "regression");
    const model = gbdt({ objective: "regression", ...FAST }).fit(train, "y");
    const forest = (model as unknown as { state: { forest: { feature: Int32Array; gain: Float64Array } } })
      .state.forest;
    expect(treeImportance(forest, ["x0", "x1", "x2"], "gain")).toEqual(model.featureImportance("gain"));
    expect(treeImportance(forest, ["x0", "x1", "x2"], "split")).toEqual(model.featureImportance("split"));
  });

  it("permutation importance is seeded, ranks the noise feature last, and works with any metric", () => {
    const train = data(1500, 7, "binary");
    const test = data(600, 8, "binary");
    const model = gbdt({ objective: "binary", ...FAST }).fit(train, "y");
    const a = permutationImportance(model, test, "y", { metric: "rocAuc", seed: 3, nRepeats: 3 });
    const b = permutationImportance(model, test, "y", { metric: "rocAuc", seed: 3, nRepeats: 3 });
    expect(a).toEqual(b);
    const imp = a.importances;
    expect(imp.x0?.mean).toBeGreaterThan(0.05);
    expect(imp.x1?.mean).toBeGreaterThan(0.05);
    expect(Math.abs(imp.x2?.mean ?? 1)).toBeLessThan(0.02);
    const loss = permutationImportance(model, test, "y", { metric: "logLoss", seed: 3, nRepeats: 2 });
    expect(loss.baseline).toBeGreaterThan(0);
    expect(loss.importances.x0?.mean).toBeGreaterThan(0);
    const acc = permutationImportance(model, test, "y", { metric: "accuracy", nRepeats: 2 });
    expect(acc.baseline).toBeGreaterThan(0.8);
    const reg = data(600, 9, "regression");
    const regModel = gbdt({ objective: "regression", ...FAST }).fit(data(1500, 10, "regression"), "y");
    const rmse = permutationImportance(regModel, reg, "y", { metric: "rmse", nRepeats: 2 });
    expect(rmse.importances.x0?.mean).toBeGreaterThan(rmse.importances.x2?.mean ?? 0);
  });
});
