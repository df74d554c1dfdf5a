import { describe, expect, it } from "vitest";
import { frameFromColumns, getColumn, type Frame } from "../frame.ts";
import { fitPreprocessor, loadPreprocessor } from "./index.ts";

const values = (frame: Frame, name: string): number[] => {
  const c = getColumn(frame, name);
  if (c.kind !== "numeric") throw new Error(`${name} is categorical`);
  return Array.from(c.values);
};

const codeOf = (e: unknown): string => (e as { code?: string }).code ?? "none";
const errorCode = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    return codeOf(e);
  }
  return "no error";
};

describe("preprocessing", () => {
  it("imputes with training medians, adds indicators and one-hot encodes small categoricals", () => {
    const train = frameFromColumns({
      x: [1, NaN, 3, 10],
      color: ["red", "blue", null, "red"],
      y: [0, 1, 0, 1],
    });
    const { preprocessor, train: out } = fitPreprocessor(
      train,
      { missingIndicator: true },
      {
        name: "y",
        values: Float64Array.of(0, 1, 0, 1),
        nOutputs: 1,
      },
    );
    expect(preprocessor.outputs).toEqual(["x", "x__missing", "color=red", "color=blue", "color__missing"]);
    expect(values(out, "x")).toEqual([1, 3, 3, 10]);
    expect(values(out, "x__missing")).toEqual([0, 1, 0, 0]);
    // The missing color is filled with the most frequent one (red).
    expect(values(out, "color=red")).toEqual([1, 0, 1, 1]);
    const test = frameFromColumns({ color: ["green", "blue"], x: [NaN, 2], extra: [5, 6] });
    const t = preprocessor.transform(test);
    expect(values(t, "x")).toEqual([3, 2]);
    // An unseen category is handled as missing: filled with the most frequent category and flagged.
    expect(values(t, "color=red")).toEqual([1, 0]);
    expect(values(t, "color__missing")).toEqual([1, 0]);
  });

  it("standardises like scikit-learn's StandardScaler and survives a JSON round trip", () => {
    const train = frameFromColumns({ a: [1, 2, 3, 4], b: [5, 5, 5, 5] });
    const { preprocessor, train: out } = fitPreprocessor(train, { standardize: true });
    const std = Math.sqrt(1.25);
    expect(values(out, "a")).toEqual([-1.5 / std, -0.5 / std, 0.5 / std, 1.5 / std]);
    expect(values(out, "b")).toEqual([0, 0, 0, 0]);
    const again = loadPreprocessor(JSON.parse(JSON.stringify(preprocessor)));
    expect(values(again.transform(train), "a")).toEqual(values(out, "a"));
  });

  it("expands datetimes into year, month, day of week and hour (UTC)", () => {
    const t = Date.UTC(2001, 2, 4, 17, 30); // Sunday 4 March 2001, 17:30
    const frame = frameFromColumns({ when: [t, NaN, Date.UTC(2001, 0, 1, 0)] });
    const { train } = fitPreprocessor(frame, { datetime: ["when"], numericImpute: "none" });
    expect(values(train, "when__year")).toEqual([2001, NaN, 2001]);
    expect(values(train, "when__month")).toEqual([3, NaN, 1]);
    expect(values(train, "when__dayOfWeek")).toEqual([6, NaN, 0]);
    expect(values(train, "when__hour")).toEqual([17, NaN, 0]);
  });

  it("target-encodes high-cardinality columns out of fold, and unseen categories get the prior", () => {
    const n = 200;
    const city = Array.from({ length: n }, (_, i) => `c${i % 40}`);
    const y = Float64Array.from({ length: n }, (_, i) => (i % 40 < 20 ? 1 : 0));
    const frame = frameFromColumns({ city, y });
    const { preprocessor, train } = fitPreprocessor(
      frame,
      { maxOneHot: 10, seed: 3 },
      {
        name: "y",
        values: y,
        nOutputs: 1,
      },
    );
    expect(preprocessor.outputs).toEqual(["city__target"]);
    const enc = values(train, "city__target");
    // Out of fold: the encoding of a row comes from the other 4/5 of its category, not from the full data.
    const full = values(preprocessor.transform(frame), "city__target");
    expect(enc).not.toEqual(full);
    expect(enc[0]).toBeGreaterThan(0.5);
    expect(enc[39]).toBeLessThan(0.5);
    const unseen = preprocessor.transform(frameFromColumns({ city: ["nowhere"] }));
    // "nowhere" is treated as missing, which is filled with the most frequent city (c0, the first of the ties).
    expect(values(unseen, "city__target")[0]).toBeCloseTo(full[0] as number, 12);
    const ordinal = fitPreprocessor(frame, {
      features: ["city"],
      maxOneHot: 10,
      highCardinality: "ordinal",
      categoricalImpute: "none",
    });
    expect(values(ordinal.preprocessor.transform(frameFromColumns({ city: ["c3", "zzz"] })), "city")).toEqual(
      [3, NaN],
    );
  });

  it("refuses infinities, all-missing features and frames without the training columns", () => {
    expect(errorCode(() => fitPreprocessor(frameFromColumns({ a: [1, Infinity] })))).toBe("INVALID_ARGUMENT");
    expect(errorCode(() => fitPreprocessor(frameFromColumns({ a: [NaN, NaN], b: [1, 2] })))).toBe(
      "INVALID_ARGUMENT",
    );
    const { preprocessor } = fitPreprocessor(frameFromColumns({ a: [1, 2], b: ["x", "y"] }));
    expect(errorCode(() => preprocessor.transform(frameFromColumns({ a: [1] })))).toBe("INVALID_ARGUMENT");
    expect(errorCode(() => preprocessor.transform(frameFromColumns({ a: ["1"], b: ["x"] })))).toBe(
      "INVALID_ARGUMENT",
    );
    expect(errorCode(() => preprocessor.transform(frameFromColumns({ a: [-Infinity], b: ["x"] })))).toBe(
      "INVALID_ARGUMENT",
    );
  });
});
