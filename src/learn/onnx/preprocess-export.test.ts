import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { frameFromColumns } from "../frame.ts";
import { learner, type LearnerKind } from "../learner/index.ts";
import type { PreprocessOptions } from "../preprocess/index.ts";
import { createRng } from "../random.ts";
import { toOnnx } from "./index.ts";

/**
 * Raw columns: a numeric with 10% missing, a 4-category column (one-hot or native), a 40-category column
 * (target, ordinal or native encoding) and a datetime column (epoch ms, before and after 1970, missing too).
 */
function raw(seed: number, n: number) {
  const rng = createRng(seed);
  const num = Float64Array.from({ length: n }, () => (rng.next() < 0.1 ? NaN : rng.next() * 10 - 3));
  const small = Array.from({ length: n }, () =>
    rng.next() < 0.05 ? null : (["red", "green", "blue", "grey"][rng.int(4)] as string),
  );
  const big = Array.from({ length: n }, () => (rng.next() < 0.05 ? null : `k${rng.int(40)}`));
  const when = Float64Array.from({ length: n }, () =>
    rng.next() < 0.05 ? NaN : Math.round((rng.next() * 80 - 20) * 365.25 * 86_400_000),
  );
  return { num, small, big, when };
}

function target(task: "regression" | "binary" | "multiclass", c: ReturnType<typeof raw>) {
  const z = Array.from(c.num, (v, i) => {
    const hour = Number.isNaN(c.when[i]!) ? 0 : new Date(c.when[i]!).getUTCHours() / 24;
    const big = c.big[i] ? Number(c.big[i].slice(1)) / 40 : 0.5;
    return (Number.isNaN(v) ? 2 : v / 5) + (c.small[i] === "red" ? 1 : 0) + big + hour;
  });
  if (task === "regression") return Float64Array.from(z);
  if (task === "binary") return z.map((v) => (v > 1.6 ? "yes" : "no"));
  return z.map((v) => (v < 1.2 ? "low" : v < 2 ? "mid" : "high"));
}

async function runOnnx(bytes: Uint8Array, c: ReturnType<typeof raw>): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(bytes);
  const n = c.num.length;
  const strings = (a: (string | null)[]): ort.Tensor =>
    new ort.Tensor(
      "string",
      a.map((s) => s ?? ""),
      [n, 1],
    );
  return await session.run({
    num: new ort.Tensor("float64", c.num, [n, 1]),
    small: strings(c.small),
    big: strings(c.big),
    when: new ort.Tensor("float64", c.when, [n, 1]),
  });
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  return worst;
}

const CASES: [LearnerKind, "regression" | "binary" | "multiclass", PreprocessOptions][] = [
  ["gbdt", "binary", {}],
  ["gbdt", "regression", { highCardinality: "ordinal", categorical: "auto", maxOneHot: 8 }],
  ["gbdt", "multiclass", { categorical: "auto", maxOneHot: 8, highCardinality: "target" }],
  ["rf", "binary", { categorical: "auto", maxOneHot: 8, numericImpute: "median", missingIndicator: true }],
  ["linear", "regression", {}],
  ["linear", "binary", { highCardinality: "ordinal" }],
  ["linear", "multiclass", { categoricalImpute: "none" }],
];

describe("ONNX export with the preprocessing, from raw columns, under onnxruntime-node", () => {
  it.each(CASES)("%s %s %j equals the native predictions to 1e-5", async (kind, task, preprocess) => {
    const train = raw(1, 1200);
    const frame = frameFromColumns({ ...train, y: target(task, train) });
    const model = await learner(kind, {
      task,
      seed: 3,
      datetime: ["when"],
      preprocess,
      params:
        kind === "gbdt"
          ? { nRounds: 20, maxDepth: 4, nThreads: 1 }
          : kind === "rf"
            ? { nTrees: 10, maxDepth: 6, nThreads: 1 }
            : {},
    }).fit(frame, "y");
    const test = raw(2, 400);
    test.small[0] = "never-seen";
    test.big[1] = "never-seen";
    const testFrame = frameFromColumns(test);
    const out = await runOnnx(toOnnx(model), test);
    if (task === "regression") {
      expect(maxDiff(out.variable!.data as Float32Array, model.predict(testFrame))).toBeLessThan(1e-5);
    } else {
      expect(maxDiff(out.probabilities!.data as Float32Array, model.predictProba(testFrame))).toBeLessThan(
        1e-5,
      );
      expect(Array.from(out.label!.data as BigInt64Array, Number)).toEqual(
        Array.from(model.predict(testFrame)),
      );
    }
  });

  it("expands datetimes into the same calendar parts as the native transform", async () => {
    // A linear model on the datetime column alone: its scores are an exact function of the four parts.
    const n = 500;
    const rng = createRng(9);
    const when = Float64Array.from({ length: n }, () =>
      Math.round((rng.next() * 400 - 200) * 365.25 * 86_400_000),
    );
    const y = Float64Array.from(when, (t) => new Date(t).getUTCMonth() + new Date(t).getUTCHours() / 10);
    const model = await learner("linear", { task: "regression", datetime: ["when"] }).fit(
      frameFromColumns({ when, y }),
      "y",
    );
    const session = await ort.InferenceSession.create(toOnnx(model));
    const out = (await session.run({ when: new ort.Tensor("float64", when, [n, 1]) })) as Record<
      string,
      ort.Tensor
    >;
    expect(
      maxDiff(out.variable!.data as Float32Array, model.predict(frameFromColumns({ when }))),
    ).toBeLessThan(1e-5);
  });
});
