import { describe, expect, it } from "vitest";
import { frameFromColumns, takeRows, type Frame } from "../frame.ts";
import { accuracy, r2, rocAuc } from "../metrics.ts";
import { createRng } from "../random.ts";
import { workerJobCount } from "../gbdt/thread-pool.ts";
import { extraTrees, loadForestModel, randomForest } from "./index.ts";

function makeData(n: number, seed: number): Frame {
  const rng = createRng(seed);
  const a = Float64Array.from({ length: n }, () => rng.next() * 4 - 2);
  const b = Float64Array.from({ length: n }, () => (rng.next() < 0.1 ? NaN : rng.next() * 4 - 2));
  const noise = Float64Array.from({ length: n }, () => rng.next());
  const kind = Array.from({ length: n }, () => ["x", "y", "z"][rng.int(3)] as string);
  const bin = Float64Array.from(a, (v, i) => {
    const bv = b[i] as number;
    const score = v * v + (bv !== bv ? 1 : bv) + (kind[i] === "z" ? 1.5 : 0) - 2;
    return score + (rng.next() - 0.5) > 0 ? 1 : 0;
  });
  const reg = Float64Array.from(
    a,
    (v, i) => Math.sin(2 * v) + (kind[i] === "y" ? 1 : 0) + 0.1 * (noise[i] as number),
  );
  const cls = Float64Array.from(a, (v, i) => (v < -0.5 ? 0 : kind[i] === "x" ? 1 : 2));
  return frameFromColumns({ a, b, noise, kind, bin, reg, cls });
}

const range = (from: number, to: number): Uint32Array =>
  Uint32Array.from({ length: to - from }, (_, i) => from + i);

describe("random forest and extra trees", () => {
  const data = makeData(3000, 4);
  const train = takeRows(data, range(0, 2000));
  const test = takeRows(data, range(2000, 3000));
  const features = ["a", "b", "noise", "kind"];

  it("learns a binary task with missing values and a categorical, and predicts identically after a JSON round trip", async () => {
    const model = await randomForest({ task: "binary", nTrees: 30, seed: 1, nThreads: 1 }).fit(train, "bin", {
      features,
    });
    const p = model.predict(test);
    expect(rocAuc(test.columns[4]!.kind === "numeric" ? test.columns[4]!.values : [], p)).toBeGreaterThan(
      0.85,
    );
    const again = loadForestModel(JSON.parse(JSON.stringify(model)));
    expect(again.predict(test)).toEqual(p);
    const importance = model.featureImportance();
    expect(importance.a).toBeGreaterThan(importance.noise as number);
  });

  it("grows the same forest with two worker threads as with one", async () => {
    const params = { task: "binary", nTrees: 120, seed: 9 } as const;
    const one = await randomForest({ ...params, nThreads: 1 }).fit(train, "bin", { features });
    const two = await randomForest({ ...params, nThreads: 2 }).fit(train, "bin", { features });
    expect(JSON.stringify(two)).toBe(JSON.stringify(one));
  });

  it("does regression and multiclass, with extra trees too", async () => {
    const y = (f: Frame, name: string): Float64Array => {
      const c = f.columns.find((col) => col.name === name);
      return c?.kind === "numeric" ? c.values : new Float64Array();
    };
    for (const make of [randomForest, extraTrees]) {
      const reg = await make({ task: "regression", nTrees: 30, seed: 2, nThreads: 1 }).fit(train, "reg", {
        features,
      });
      expect(r2(y(test, "reg"), reg.predict(test))).toBeGreaterThan(0.85);
      const cls = await make({ task: "multiclass", nTrees: 30, seed: 2, nThreads: 1 }).fit(train, "cls", {
        features,
      });
      expect(accuracy(y(test, "cls"), cls.predict(test))).toBeGreaterThan(0.9);
      const proba = cls.predictProba(test);
      expect(proba[0]! + proba[1]! + proba[2]!).toBeCloseTo(1, 12);
    }
  });

  it("rejects constant labels, all-missing features and predict frames without the training columns", async () => {
    const f = frameFromColumns({ x: [1, 2, 3], gone: [NaN, NaN, NaN], y: [1, 1, 1], z: [0, 1, 0] });
    await expect(randomForest({ task: "binary" }).fit(f, "y", { features: ["x"] })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    await expect(randomForest({ task: "binary" }).fit(f, "z", { features: ["gone"] })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    const model = await randomForest({ task: "binary", nTrees: 3 }).fit(f, "z", { features: ["x"] });
    expect(() => model.predict(frameFromColumns({ w: [1] }))).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }) as Error,
    );
    expect(() => model.predict(frameFromColumns({ x: [Infinity] }))).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }) as Error,
    );
  });

  it("predicts large batches on worker threads with the same values as row slices on one thread", async () => {
    const model = await randomForest({ task: "multiclass", nTrees: 12, seed: 2, nThreads: 1 }).fit(
      train,
      "cls",
      {
        features,
      },
    );
    // 24,000 rows: above the 10,000 rows from which prediction is split over threads; 8,000-row slices are not.
    const big = takeRows(
      data,
      Uint32Array.from({ length: 24_000 }, (_, i) => (i * 7) % 3000),
    );
    const before = workerJobCount();
    const together = model.predictProba(big);
    expect(workerJobCount()).toBeGreaterThan(before);
    const slices = [0, 8000, 16_000].map((from) =>
      model.predictProba(takeRows(big, range(from, from + 8000))),
    );
    expect(together).toEqual(Float64Array.from(slices.flatMap((s) => [...s])));
    expect(together.buffer).toBeInstanceOf(ArrayBuffer);
  });
});
