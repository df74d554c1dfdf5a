// The native runtime serves loopml GBDT JSON ("loopml-gbdt" v1) through the learner's own prediction code.
import { describe, expect, it } from "vitest";
import { decodeColumns } from "../decode.ts";
import { loadRuntime } from "./load.ts";

const b64 = (a: ArrayBufferView): string =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");

/**
 * Two stumps written by hand, so the expected margins are known exactly: x <= 0 (missing goes left)
 * gives -1 else +1; city code <= 0.5 ("a") gives +0.5 else -0.5, missing goes right.
 */
function stumps(objective: "binary" | "regression"): unknown {
  return {
    format: "loopml-gbdt",
    version: 1,
    objective,
    label: "y",
    nOutputs: 1,
    baseScore: [0],
    bestIteration: 1,
    params: {
      objective,
      nRounds: 2,
      learningRate: 1,
      maxDepth: 1,
      numLeaves: 0,
      minChildWeight: 1,
      lambda: 1,
      alpha: 0,
      gamma: 0,
      subsample: 1,
      colsampleByTree: 1,
      maxBins: 255,
      huberDelta: 1,
      earlyStoppingRounds: 0,
      seed: 0,
    },
    features: [
      { name: "x", kind: "numeric" },
      { name: "city", kind: "categorical", dictionary: ["a", "b", "c"] },
    ],
    forest: {
      feature: b64(Int32Array.from([0, -1, -1, 1, -1, -1])),
      threshold: b64(Float64Array.from([0, 0, 0, 0.5, 0, 0])),
      thresholdBin: b64(Uint8Array.from([0, 0, 0, 0, 0, 0])),
      left: b64(Int32Array.from([1, -1, -1, 4, -1, -1])),
      right: b64(Int32Array.from([2, -1, -1, 5, -1, -1])),
      defaultLeft: b64(Uint8Array.from([1, 0, 0, 0, 0, 0])),
      value: b64(Float64Array.from([0, -1, 1, 0, 0.5, -0.5])),
      gain: b64(Float64Array.from([1, 0, 0, 1, 0, 0])),
      roots: b64(Int32Array.from([0, 3])),
    },
  };
}

const INPUT = { x: [0.5, null, -0.9, 0.1], city: ["b", "a", "zzz", null] };
/** Row margins: +1-0.5, -1+0.5 (x missing goes left), -1-0.5 (unknown city is missing), +1-0.5. */
const MARGINS = [0.5, -0.5, -1.5, 0.5];

describe("native runtime", () => {
  it("serves a binary loopml GBDT: numeric and categorical inputs, unknown categories as missing", () => {
    const runtime = loadRuntime(JSON.parse(JSON.stringify(stumps("binary"))));
    expect(runtime.kind).toBe("native");
    expect(runtime.signature).toMatchObject({ task: "binary", nClasses: 2 });
    expect(runtime.signature.inputs.map((c) => [c.name, c.type])).toEqual([
      ["x", "double"],
      ["city", "string"],
    ]);
    const result = runtime.predict(decodeColumns(runtime.signature, INPUT));
    const p = MARGINS.map((m) => 1 / (1 + Math.exp(-m)));
    const p1 = Array.from(result.probabilities ?? []).filter((_, i) => i % 2 === 1);
    p1.forEach((v, i) => expect(v).toBeCloseTo(p[i] as number, 12));
    expect(Array.from(result.predictions)).toEqual([1, 0, 0, 1]);
  });

  it("serves a regression loopml GBDT with raw sums", () => {
    const runtime = loadRuntime(stumps("regression"));
    expect(runtime.signature.task).toBe("regression");
    expect(Array.from(runtime.predict(decodeColumns(runtime.signature, INPUT)).predictions)).toEqual(MARGINS);
  });

  it("rejects a document that is no known model", () => {
    expect(() => loadRuntime({ hello: 1 }, "x.json")).toThrow(/x.json is neither an XGBoost JSON model/);
  });
});
