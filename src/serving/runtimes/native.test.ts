// The native runtime serves loopml GBDT models from whatever JSON model.toJSON() writes, predicting as the learner does.
import { describe, expect, it } from "vitest";
import { frameFromColumns } from "../../learn/frame.ts";
import { gbdt, type Objective } from "../../learn/gbdt/index.ts";
import { decodeColumns } from "../decode.ts";
import { loadRuntime } from "./load.ts";

const CITIES = ["a", "b", "c"];

/** Deterministic rows: the label depends on x and on the city, with some x missing. */
function data(n: number): {
  x: (number | null)[];
  city: string[];
  yBinary: number[];
  yClass: number[];
  yValue: number[];
} {
  const x = Array.from({ length: n }, (_, i) => (i % 11 === 0 ? null : Math.sin(i * 12.9898) * 2));
  const city = Array.from({ length: n }, (_, i) => CITIES[(i * 7) % 3] as string);
  const score = x.map((v, i) => (v ?? 0.3) + (city[i] === "b" ? 0.8 : 0));
  return {
    x,
    city,
    yBinary: score.map((s) => (s > 0.2 ? 1 : 0)),
    yClass: score.map((s) => (s < -0.5 ? 0 : s < 0.8 ? 1 : 2)),
    yValue: score.map((s) => 3 * s),
  };
}

const TEST = { x: [0.5, null, -0.9, 0.1, 1.7], city: ["b", "a", "zzz", null, "c"] };
/** The learner's own view of TEST: an unknown category is missing. */
const TEST_FRAME = frameFromColumns({ x: TEST.x, city: ["b", "a", null, null, "c"] });

function train(objective: Objective, label: "yBinary" | "yClass" | "yValue") {
  const d = data(400);
  const frame = frameFromColumns({ x: d.x, city: d.city, y: d[label] });
  return gbdt({ objective, nRounds: 15, maxDepth: 3, seed: 1 }).fit(frame, "y");
}

describe("native runtime", () => {
  it.each([
    { objective: "binary" as const, label: "yBinary" as const, nClasses: 2 },
    { objective: "multiclass" as const, label: "yClass" as const, nClasses: 3 },
  ])(
    "serves a $objective model after a JSON round trip like the learner",
    ({ objective, label, nClasses }) => {
      const model = train(objective, label);
      const runtime = loadRuntime(JSON.parse(JSON.stringify(model.toJSON())));
      expect(runtime.kind).toBe("native");
      expect(runtime.signature).toMatchObject({ task: objective, nClasses });
      expect(runtime.signature.inputs.map((c) => [c.name, c.type])).toEqual([
        ["x", "double"],
        ["city", "string"],
      ]);
      const result = runtime.predict(decodeColumns(runtime.signature, TEST));
      const proba = model.predictProba(TEST_FRAME);
      expect(Array.from(result.probabilities ?? [])).toEqual(Array.from(proba));
      const argmax = Array.from({ length: 5 }, (_, r) => {
        const row = Array.from(proba.subarray(r * nClasses, r * nClasses + nClasses));
        return row.indexOf(Math.max(...row));
      });
      expect(Array.from(result.predictions)).toEqual(argmax);
    },
  );

  it("serves a regression model with the learner's values", () => {
    const model = train("regression", "yValue");
    const runtime = loadRuntime(model.toJSON());
    expect(runtime.signature.task).toBe("regression");
    const result = runtime.predict(decodeColumns(runtime.signature, TEST));
    expect(Array.from(result.predictions)).toEqual(Array.from(model.predict(TEST_FRAME)));
    expect(result.probabilities).toBeUndefined();
  });

  it("rejects a document that is no known model", () => {
    expect(() => loadRuntime({ hello: 1 }, "x.json")).toThrow(/x.json is neither an XGBoost JSON model/);
  });
});
