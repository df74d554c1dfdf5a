import { describe, expect, it } from "vitest";
import { createFrame, frameFromColumns, getColumn, type Frame } from "../frame.ts";
import { fitPreprocessor } from "../preprocess/index.ts";
import fixtures from "./fixtures/linear.json" with { type: "json" };
import { linear, loadLinearModel, type LinearParams } from "./index.ts";

// scikit-learn references (fixtures/make_linear_fixtures.py) on StandardScaler output; loopml standardises
// the raw columns itself, so the preprocessing is checked along the way.
const TOLERANCE = 1e-4;

interface Case {
  name: string;
  task: LinearParams["task"];
  params: Omit<LinearParams, "task">;
  y: "regression" | "binary" | "multiclass";
  coef: number[][];
  intercept: number[];
}

function standardisedFrame(y: readonly number[]): Frame {
  const raw = frameFromColumns(Object.fromEntries(fixtures.x.map((col, j) => [`x${j}`, col])));
  const { train } = fitPreprocessor(raw, { standardize: true });
  return createFrame([...train.columns, { kind: "numeric", name: "y", values: Float64Array.from(y) }]);
}

describe("linear models match scikit-learn " + fixtures.sklearn, () => {
  it.each((fixtures.cases as Case[]).map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const frame = standardisedFrame(fixtures.y[c.y]);
    const model = linear({ task: c.task, ...c.params }).fit(frame, "y");
    const p = fixtures.x.length;
    const K = c.intercept.length;
    // Multinomial intercepts are defined up to a shared constant: compare them centred.
    const centre = (a: ArrayLike<number>): number[] => {
      const m = K > 1 ? Array.from(a).reduce((s, v) => s + v, 0) / K : 0;
      return Array.from(a, (v) => v - m);
    };
    for (let k = 0; k < K; k++) {
      for (let j = 0; j < p; j++) {
        expect(Math.abs((model.coef[k * p + j] as number) - (c.coef[k]?.[j] as number))).toBeLessThan(
          TOLERANCE,
        );
      }
    }
    const got = centre(model.intercept);
    centre(c.intercept).forEach((v, k) => expect(Math.abs((got[k] as number) - v)).toBeLessThan(TOLERANCE));
  });

  it("predicts probabilities that sum to one and survives a JSON round trip", () => {
    const frame = standardisedFrame(fixtures.y.multiclass);
    const model = linear({ task: "multiclass" }).fit(frame, "y");
    const proba = model.predictProba(frame);
    for (let i = 0; i < frame.nRows; i++)
      expect(proba[3 * i]! + proba[3 * i + 1]! + proba[3 * i + 2]!).toBeCloseTo(1, 12);
    const again = loadLinearModel(JSON.parse(JSON.stringify(model)));
    expect(again.predict(frame)).toEqual(model.predict(frame));
  });

  it("refuses missing values, categorical features and constant labels", () => {
    const codeOf = (fn: () => unknown): string => {
      try {
        fn();
        return "no error";
      } catch (e) {
        return (e as { code: string }).code;
      }
    };
    expect(
      codeOf(() =>
        linear({ task: "regression" }).fit(frameFromColumns({ a: [1, NaN, 3], y: [1, 2, 3] }), "y"),
      ),
    ).toBe("INVALID_ARGUMENT");
    expect(
      codeOf(() => linear({ task: "regression" }).fit(frameFromColumns({ a: ["u", "v"], y: [1, 2] }), "y")),
    ).toBe("INVALID_ARGUMENT");
    expect(
      codeOf(() => linear({ task: "binary" }).fit(frameFromColumns({ a: [1, 2], y: [1, 1] }), "y")),
    ).toBe("INVALID_ARGUMENT");
    const model = linear({ task: "regression" }).fit(frameFromColumns({ a: [1, 2, 3], y: [1, 2, 3.5] }), "y");
    expect(codeOf(() => model.predict(frameFromColumns({ b: [1] })))).toBe("INVALID_ARGUMENT");
    expect(getColumn(frameFromColumns({ a: [1] }), "a").kind).toBe("numeric");
  });
});
