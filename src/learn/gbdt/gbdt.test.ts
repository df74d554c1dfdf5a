import { describe, expect, it } from "vitest";
import { isLoopmlError } from "../../errors.ts";
import { frameFromColumns, type Frame } from "../frame.ts";
import { accuracy, rmse, rocAuc } from "../metrics.ts";
import { createRng } from "../random.ts";
import { gbdt, loadModel, type GbdtParams } from "./index.ts";

/** 8 uniform features; the target depends on x0, x1 (non-linearly) and x2 (a step), plus noise. */
function synthetic(n: number, seed: number): { features: Record<string, Float64Array>; z: Float64Array } {
  const rng = createRng(seed);
  const features: Record<string, Float64Array> = {};
  for (let f = 0; f < 8; f++) features[`x${f}`] = Float64Array.from({ length: n }, () => rng.next() * 2 - 1);
  const x = (f: number, i: number): number => (features[`x${f}`] as Float64Array)[i] as number;
  const z = Float64Array.from(
    { length: n },
    (_, i) => 2 * x(0, i) - 1.5 * x(1, i) ** 2 + (x(2, i) > 0 ? 1 : -1),
  );
  return { features, z };
}

function binaryData(n: number, seed: number): { frame: Frame; y: Float64Array } {
  const { features, z } = synthetic(n, seed);
  const rng = createRng(seed + 1000);
  const y = z.map((v) => (v + (rng.next() - 0.5) > 0 ? 1 : 0));
  return { frame: frameFromColumns({ ...features, y }), y };
}

function regressionData(n: number, seed: number): { frame: Frame; y: Float64Array } {
  const { features, z } = synthetic(n, seed);
  const rng = createRng(seed + 2000);
  const y = z.map((v) => v + 0.3 * (rng.next() - 0.5));
  return { frame: frameFromColumns({ ...features, y }), y };
}

function errorOf(call: () => unknown): unknown {
  try {
    call();
  } catch (e) {
    return e;
  }
  return undefined;
}

const FAST: Omit<GbdtParams, "objective"> = { nRounds: 40, maxDepth: 4, learningRate: 0.2, seed: 1 };

describe("gbdt", () => {
  it("learns a binary problem to test AUC >= 0.97", () => {
    const train = binaryData(4000, 1);
    const test = binaryData(2000, 2);
    const model = gbdt({ objective: "binary", ...FAST }).fit(train.frame, "y");
    const p = model.predict(test.frame);
    expect(rocAuc(test.y, p)).toBeGreaterThanOrEqual(0.97);
    for (const v of p) expect(v > 0 && v < 1).toBe(true);
    const importance = model.featureImportance("gain");
    expect(importance.x0).toBeGreaterThan(importance.x7 as number);
    expect(Object.keys(model.featureImportance("split"))).toHaveLength(8);
  });

  it("learns a regression problem to test RMSE <= 0.25 (target std is about 1.5)", () => {
    const train = regressionData(4000, 3);
    const test = regressionData(2000, 4);
    const model = gbdt({ objective: "regression", ...FAST }).fit(train.frame, "y");
    expect(rmse(test.y, model.predict(test.frame))).toBeLessThanOrEqual(0.25);
  });

  it("grows leaf-wise with numLeaves and still learns", () => {
    const train = regressionData(3000, 5);
    const test = regressionData(1000, 6);
    const model = gbdt({ objective: "regression", nRounds: 40, numLeaves: 12, learningRate: 0.2 }).fit(
      train.frame,
      "y",
    );
    const json = model.toJSON();
    const feature = new Int32Array(Buffer.from(json.forest.feature, "base64").buffer.slice(0));
    const leaves = feature.filter((f) => f < 0).length;
    expect(leaves).toBeLessThanOrEqual(12 * model.nTrees);
    expect(rmse(test.y, model.predict(test.frame))).toBeLessThanOrEqual(0.3);
  });

  it("learns three classes; probabilities sum to one", () => {
    const { features, z } = synthetic(3000, 7);
    const cls = z.map((v) => (v < -1 ? 0 : v < 1 ? 1 : 2));
    const model = gbdt({ objective: "multiclass", ...FAST }).fit(
      frameFromColumns({ ...features, cls }),
      "cls",
    );
    const test = synthetic(1000, 8);
    const testCls = test.z.map((v) => (v < -1 ? 0 : v < 1 ? 1 : 2));
    const frame = frameFromColumns(test.features);
    const proba = model.predictProba(frame);
    for (let r = 0; r < 1000; r++)
      expect(proba[3 * r]! + proba[3 * r + 1]! + proba[3 * r + 2]!).toBeCloseTo(1, 12);
    expect(accuracy(testCls, model.predict(frame))).toBeGreaterThanOrEqual(0.85);
  });

  it("routes missing values by the learned default direction", () => {
    // Missing x0 behaves like a large x0: the tree must learn to send missing values right.
    const rng = createRng(11);
    const n = 2000;
    const x0 = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const missing = rng.next() < 0.2;
      x0[i] = missing ? NaN : rng.next();
      y[i] = missing || (x0[i] as number) > 0.7 ? 1 : 0;
    }
    const noise = Float64Array.from({ length: n }, () => rng.next());
    const model = gbdt({ objective: "binary", ...FAST }).fit(frameFromColumns({ x0, noise, y }), "y");
    const p = model.predict(frameFromColumns({ x0: [NaN, 0.1, 0.9], noise: [0.5, 0.5, 0.5] }));
    expect(p[0]).toBeGreaterThan(0.9);
    expect(p[1]).toBeLessThan(0.1);
    expect(p[2]).toBeGreaterThan(0.9);
  });

  it("is bit-identical for the same seed (with row and column sampling) and differs for another", () => {
    const { frame } = binaryData(2000, 9);
    const params: GbdtParams = { objective: "binary", ...FAST, subsample: 0.7, colsampleByTree: 0.6 };
    const a = JSON.stringify(gbdt(params).fit(frame, "y"));
    const b = JSON.stringify(gbdt(params).fit(frame, "y"));
    const c = JSON.stringify(gbdt({ ...params, seed: 2 }).fit(frame, "y"));
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });

  it("round-trips through JSON with identical predictions", () => {
    const train = regressionData(2000, 12);
    const test = regressionData(500, 13);
    test.frame.columns.forEach((c) => {
      if (c.kind === "numeric" && c.name === "x1") for (let i = 0; i < 500; i += 7) c.values[i] = NaN;
    });
    const model = gbdt({ objective: "regression", ...FAST }).fit(train.frame, "y");
    const again = loadModel(JSON.parse(JSON.stringify(model)));
    expect(again.predict(test.frame)).toEqual(model.predict(test.frame));
    expect(JSON.stringify(again)).toBe(JSON.stringify(model));
    expect(
      isLoopmlError(
        errorOf(() => loadModel({ format: "loopml-gbdt", version: 9 })),
        "INVALID_ARGUMENT",
      ),
    ).toBe(true);
  });

  it("stops early on a validation set when the target is noise", () => {
    const rng = createRng(14);
    const make = (n: number): Frame =>
      frameFromColumns({
        a: Float64Array.from({ length: n }, () => rng.next()),
        b: Float64Array.from({ length: n }, () => rng.next()),
        y: Float64Array.from({ length: n }, () => (rng.next() < 0.5 ? 1 : 0)),
      });
    const model = gbdt({
      objective: "binary",
      nRounds: 200,
      maxDepth: 6,
      learningRate: 0.3,
      earlyStoppingRounds: 5,
    }).fit(make(1500), "y", { valid: make(1500) });
    expect(model.bestIteration).toBeLessThan(30);
    expect(model.nTrees).toBe(model.bestIteration + 1);
  });

  it("uses categorical columns and maps unseen categories to missing at prediction", () => {
    const rng = createRng(15);
    const n = 2000;
    const colours = ["red", "green", "blue", "grey"];
    const colour = Array.from({ length: n }, () => colours[rng.int(4)] as string);
    const y = Float64Array.from(colour, (c) => (c === "green" || c === "grey" ? 3 : 0) + 0.1 * rng.next());
    const model = gbdt({ objective: "regression", ...FAST }).fit(frameFromColumns({ colour, y }), "y");
    const p = model.predict(frameFromColumns({ colour: ["grey", "red", "purple"] }));
    expect(p[0]).toBeCloseTo(3.05, 1);
    expect(p[1]).toBeCloseTo(0.05, 1);
    expect(Number.isFinite(p[2])).toBe(true);
  });

  it("splits a categorical column into two sets of categories in one node", () => {
    // With ordinal codes, one split cannot separate a scattered subset; a native set split can.
    const rng = createRng(18);
    const names = Array.from({ length: 20 }, (_, i) => `c${i}`);
    const high = new Set(["c1", "c4", "c5", "c11", "c17", "c18"]);
    const city = Array.from({ length: 3000 }, () => names[rng.int(20)] as string);
    const y = Float64Array.from(city, (c) => (high.has(c) ? 10 : 0));
    const model = gbdt({ objective: "regression", nRounds: 1, maxDepth: 1, learningRate: 1, lambda: 0 }).fit(
      frameFromColumns({ city, y }),
      "y",
    );
    const p = model.predict(frameFromColumns({ city: names }));
    names.forEach((name, i) => expect(p[i]).toBeCloseTo(high.has(name) ? 10 : 0, 5));
    const again = loadModel(JSON.parse(JSON.stringify(model)));
    expect(again.predict(frameFromColumns({ city: [...names, "unseen", null] }))).toEqual(
      model.predict(frameFromColumns({ city: [...names, "unseen", null] })),
    );
  });

  it("fits the absolute, huber and poisson objectives better than a constant", () => {
    const train = regressionData(2000, 16);
    const test = regressionData(1000, 17);
    const constant = rmse(test.y, new Float64Array(1000).fill(train.y.reduce((s, v) => s + v, 0) / 2000));
    for (const objective of ["absolute", "huber"] as const) {
      const model = gbdt({ objective, ...FAST }).fit(train.frame, "y");
      expect(rmse(test.y, model.predict(test.frame))).toBeLessThan(constant / 2);
    }
    const counts = train.y.map((v) => Math.round(Math.exp(v / 2)));
    const poisson = gbdt({ objective: "poisson", ...FAST }).fit(
      frameFromColumns({
        ...Object.fromEntries(
          train.frame.columns.slice(0, 8).map((c) => [c.name, (c as { values: Float64Array }).values]),
        ),
        y: counts,
      }),
      "y",
    );
    const mu = poisson.predict(test.frame);
    expect(
      rmse(
        test.y.map((v) => Math.exp(v / 2)),
        mu,
      ),
    ).toBeLessThan(
      rmse(
        test.y.map((v) => Math.exp(v / 2)),
        new Float64Array(1000).fill(counts.reduce((s, v) => s + v, 0) / 2000),
      ),
    );
  });

  it("refuses bad input with INVALID_ARGUMENT naming the column", () => {
    const ok = frameFromColumns({ x: [1, 2, 3, 4], y: [0, 1, 0, 1] });
    const model = gbdt({ objective: "binary", nRounds: 2, minChildWeight: 0 }).fit(ok, "y");
    const cases: [() => unknown, string][] = [
      [() => gbdt({ objective: "binary" }).fit(ok, "target"), "target"],
      [() => gbdt({ objective: "binary" }).fit(frameFromColumns({ x: [1, 2], y: [1, 1] }), "y"), "constant"],
      [
        () => gbdt({ objective: "regression" }).fit(frameFromColumns({ x: [1, Infinity], y: [0, 1] }), "y"),
        '"x"',
      ],
      [() => gbdt({ objective: "binary" }).fit(frameFromColumns({ x: [1, 2], y: [0, 2] }), "y"), "binary"],
      [() => model.predict(frameFromColumns({ z: [1] })), '"x"'],
      [() => model.predict(frameFromColumns({ x: ["a"] })), '"x"'],
      [() => model.predict(frameFromColumns({ x: [-Infinity] })), '"x"'],
      [() => gbdt({ objective: "binary", learningRate: -1 }), "learningRate"],
    ];
    for (const [call, mention] of cases) {
      const err = errorOf(call);
      expect(isLoopmlError(err, "INVALID_ARGUMENT")).toBe(true);
      expect((err as Error).message).toContain(mention);
    }
  });
});
