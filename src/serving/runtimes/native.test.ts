// The native runtime serves loopml GBDT models from their JSON with the learner's own predictions.
import { describe, expect, it } from "vitest";
import { frameFromColumns } from "../../learn/frame.ts";
import { gbdt } from "../../learn/gbdt/index.ts";
import { createRng } from "../../learn/random.ts";
import { decodeColumns } from "../decode.ts";
import { loadRuntime } from "./load.ts";

function data(n: number, seed: number): Record<string, (number | string | null)[]> {
  const rng = createRng(seed);
  const x = Array.from({ length: n }, () => rng.next() * 2 - 1);
  const city = Array.from({ length: n }, () => (["a", "b", "c"] as const)[Math.floor(rng.next() * 3)] ?? "a");
  const y = x.map((v, i) => (v + (city[i] === "b" ? 0.8 : 0) > 0.2 ? 1 : 0));
  return { x: x.map((v, i) => (i % 7 === 0 ? null : v)), city, y };
}

describe("native runtime", () => {
  it("predicts like the learner after a JSON round trip, unknown categories as missing", () => {
    const train = data(600, 1);
    const model = gbdt({ objective: "binary", nRounds: 20, maxDepth: 3, seed: 1 }).fit(
      frameFromColumns(train as Record<string, (number | null)[]>),
      "y",
    );
    const runtime = loadRuntime(JSON.parse(JSON.stringify(model.toJSON())));
    expect(runtime.kind).toBe("native");
    expect(runtime.signature.inputs.map((c) => [c.name, c.type])).toEqual([
      ["x", "double"],
      ["city", "string"],
    ]);
    const test = { x: [0.5, null, -0.9, 0.1], city: ["b", "a", "zzz", null] };
    const result = runtime.predict(decodeColumns(runtime.signature, test));
    const expected = model.predict(frameFromColumns({ x: test.x, city: ["b", "a", null, null] }));
    expect(Array.from(result.probabilities ?? []).filter((_, i) => i % 2 === 1)).toEqual(
      Array.from(expected),
    );
    expect(Array.from(result.predictions)).toEqual(Array.from(expected, (p) => (p >= 0.5 ? 1 : 0)));
  });

  it("rejects a document that is no known model", () => {
    expect(() => loadRuntime({ hello: 1 }, "x.json")).toThrow(/x.json is neither an XGBoost JSON model/);
  });
});
