import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { frameFromColumns } from "../frame.ts";
import { linear } from "../linear/index.ts";
import { randomForest } from "../random-forest/index.ts";
import { createRng } from "../random.ts";
import { toOnnx } from "./index.ts";

type Task = "regression" | "binary" | "multiclass";

function columns(seed: number, n: number, withNaN: boolean) {
  const rng = createRng(seed);
  const a = Float64Array.from({ length: n }, () => (withNaN && rng.next() < 0.1 ? NaN : rng.next()));
  const c = Float64Array.from({ length: n }, () => rng.next() * 2 - 1);
  return { a, c };
}

function target(task: Task, { a, c }: ReturnType<typeof columns>): Float64Array {
  const z = a.map((v, i) => (Number.isNaN(v) ? 0.5 : v) + 0.5 * (c[i] as number));
  if (task === "binary") return z.map((v) => (v > 0.5 ? 1 : 0));
  if (task === "multiclass") return z.map((v) => (v < 0.2 ? 0 : v < 0.7 ? 1 : 2));
  return z.map((v) => 2 * v);
}

async function run(bytes: Uint8Array, cols: ReturnType<typeof columns>) {
  const session = await ort.InferenceSession.create(bytes);
  const n = cols.a.length;
  return (await session.run({
    a: new ort.Tensor("float64", cols.a, [n, 1]),
    c: new ort.Tensor("float64", cols.c, [n, 1]),
  })) as Record<string, ort.Tensor>;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  return worst;
}

describe("ONNX export of random forests and linear models", () => {
  for (const task of ["regression", "binary", "multiclass"] as const) {
    it(`random forest ${task} equals the native predictions to 1e-5 (with NaNs)`, async () => {
      const train = columns(1, 800, true);
      const model = await randomForest({ task, nTrees: 15, maxDepth: 6, seed: 1, nThreads: 1 }).fit(
        frameFromColumns({ ...train, y: target(task, train) }),
        "y",
      );
      const test = columns(2, 300, true);
      const frame = frameFromColumns(test);
      const out = await run(toOnnx(model), test);
      if (task === "regression") {
        expect(maxDiff(out.variable?.data as Float32Array, model.predict(frame))).toBeLessThan(1e-5);
      } else {
        expect(maxDiff(out.probabilities?.data as Float32Array, model.predictProba(frame))).toBeLessThan(
          1e-5,
        );
      }
    });

    it(`linear ${task} equals the native predictions to 1e-5`, async () => {
      const train = columns(3, 600, false);
      const model = linear({ task }).fit(frameFromColumns({ ...train, y: target(task, train) }), "y");
      const test = columns(4, 200, false);
      const frame = frameFromColumns(test);
      const out = await run(toOnnx(model), test);
      if (task === "regression") {
        expect(maxDiff(out.variable?.data as Float32Array, model.predict(frame))).toBeLessThan(1e-5);
        return;
      }
      const proba = model.predictProba(frame);
      expect(maxDiff(out.probabilities?.data as Float32Array, proba)).toBeLessThan(1e-5);
      const k = task === "binary" ? 2 : 3;
      const labels = Array.from(out.label?.data as BigInt64Array, Number);
      labels.forEach((label, r) => {
        for (let c = 0; c < k; c++)
          expect(proba[r * k + label] as number).toBeGreaterThanOrEqual(proba[r * k + c] as number);
      });
    });
  }
});
