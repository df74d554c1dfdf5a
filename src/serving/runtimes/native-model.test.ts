// The native runtime also serves models saved by `loopml train` (any learner, preprocessing included).
import { describe, expect, it } from "vitest";
import { frameFromColumns } from "../../learn/frame.ts";
import { learner } from "../../learn/learner/index.ts";
import { warm } from "../registry-source.ts";
import { loadRuntime } from "./load.ts";

describe("native runtime for loopml-model", () => {
  it("predicts as the learner does, strings and missing values included", async () => {
    const x = Array.from({ length: 60 }, (_, i) => (i * 7) % 20);
    const kind = Array.from({ length: 60 }, (_, i) => (i % 3 === 0 ? "a" : "b"));
    const label = x.map((v, i) => (v + (kind[i] === "a" ? 5 : 0) > 10 ? "up" : "down"));
    const model = await learner("linear", { seed: 1 }).fit(frameFromColumns({ x, kind, label }), "label");
    const runtime = loadRuntime(JSON.parse(JSON.stringify(model)));
    expect(runtime.signature.inputs.map((c) => [c.name, c.type])).toEqual([
      ["x", "double"],
      ["kind", "string"],
    ]);
    const result = runtime.predict({
      nRows: 2,
      values: Float64Array.of(18, NaN, NaN, NaN),
      strings: [null, ["a", null]],
    });
    const expected = model.predictProba(frameFromColumns({ x: [18, null], kind: ["a", null] }));
    expect(Array.from(result.probabilities ?? [])).toEqual(Array.from(expected));
    expect(runtime.signature.task).toBe("binary");
  });

  it("warms up on a row of missing values: a string column of only nulls stays categorical", async () => {
    const x = Array.from({ length: 60 }, (_, i) => (i * 7) % 20);
    const kind = Array.from({ length: 60 }, (_, i) => (i % 3 === 0 ? "a" : "b"));
    const label = x.map((v) => (v > 10 ? 1 : 0));
    const model = await learner("rf", { seed: 1 }).fit(frameFromColumns({ x, kind, label }), "label");
    const runtime = loadRuntime(JSON.parse(JSON.stringify(model)));
    expect(() => warm(runtime)).not.toThrow();
  });
});
