import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { frameFromColumns, type Frame } from "../frame.ts";
import { gbdt, type GbdtModel, type Objective } from "../gbdt/index.ts";
import { createRng } from "../random.ts";
import { gbdtToOnnx } from "./export.ts";

const N = 1500;

/** a: numeric with 10% NaN, b: categorical (with missing values), c: numeric. */
function columns(seed: number, n: number) {
  const rng = createRng(seed);
  const a = Float64Array.from({ length: n }, () => (rng.next() < 0.1 ? NaN : rng.next()));
  const b = Array.from({ length: n }, () =>
    rng.next() < 0.05 ? null : (["x", "y", "z", "w", "v"][rng.int(5)] as string),
  );
  const c = Float64Array.from({ length: n }, () => rng.next());
  return { a, b, c };
}

function target(objective: Objective, { a, b, c }: ReturnType<typeof columns>): Float64Array {
  const z = a.map(
    (v, i) =>
      (Number.isNaN(v) ? 0.3 : v) + (b[i] === "y" ? 0.5 : b[i] === "w" ? -0.3 : 0) + 0.2 * (c[i] as number),
  );
  if (objective === "binary") return z.map((v) => (v > 0.7 ? 1 : 0));
  if (objective === "multiclass") return z.map((v) => (v < 0.4 ? 0 : v < 0.8 ? 1 : 2));
  if (objective === "poisson") return z.map((v) => Math.round(Math.exp(v) * 2));
  return z.map((v, i) => 3 * v + ((i * 7919) % 13) / 40);
}

async function runOnnx(
  bytes: Uint8Array,
  cols: ReturnType<typeof columns>,
): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(bytes);
  const n = cols.a.length;
  // onnxruntime has no null strings: a missing category is sent as "" (not in any dictionary).
  const result = await session.run({
    a: new ort.Tensor("float64", cols.a, [n, 1]),
    b: new ort.Tensor(
      "string",
      cols.b.map((s) => s ?? ""),
      [n, 1],
    ),
    c: new ort.Tensor("float64", cols.c, [n, 1]),
  });
  return result;
}

function fit(objective: Objective): { model: GbdtModel; test: ReturnType<typeof columns>; testFrame: Frame } {
  const train = columns(1, N);
  const model = gbdt({ objective, nRounds: 30, maxDepth: 5, learningRate: 0.3, seed: 2, nThreads: 1 }).fit(
    frameFromColumns({ ...train, y: target(objective, train) }),
    "y",
  );
  const test = columns(2, 400);
  // Unseen category at predict time: missing for both the native model and the exported LabelEncoder.
  test.b[0] = "never-seen";
  return { model, test, testFrame: frameFromColumns(test) };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  return worst;
}

describe("ONNX export of GBDT models under onnxruntime-node", () => {
  for (const objective of ["regression", "poisson"] as const) {
    it(`${objective}: "variable" equals the native prediction to 1e-5, with NaNs and category sets`, async () => {
      const { model, test, testFrame } = fit(objective);
      const out = await runOnnx(gbdtToOnnx(model), test);
      const variable = out.variable as ort.Tensor;
      expect(variable.dims).toEqual([400, 1]);
      expect(maxDiff(variable.data as Float32Array, model.predict(testFrame))).toBeLessThan(1e-5);
    });
  }

  for (const objective of ["binary", "multiclass"] as const) {
    it(`${objective}: probabilities and labels equal the native ones`, async () => {
      const { model, test, testFrame } = fit(objective);
      const out = await runOnnx(gbdtToOnnx(model), test);
      const proba = model.predictProba(testFrame);
      const k = objective === "binary" ? 2 : 3;
      expect((out.probabilities as ort.Tensor).dims).toEqual([400, k]);
      expect(maxDiff((out.probabilities as ort.Tensor).data as Float32Array, proba)).toBeLessThan(1e-5);
      const labels = Array.from((out.label as ort.Tensor).data as BigInt64Array, Number);
      const native = Array.from({ length: 400 }, (_, r) => {
        let best = 0;
        for (let c = 1; c < k; c++)
          if ((proba[r * k + c] as number) > (proba[r * k + best] as number)) best = c;
        return best;
      });
      expect(labels).toEqual(native);
      // The model really uses the categorical column and sees missing values.
      expect(model.featureImportance("split").b).toBeGreaterThan(0);
    });
  }
});
