import { describe, expect, it } from "vitest";
import { isLoopmlError } from "../errors.ts";
import fixtures from "./fixtures/metrics.json" with { type: "json" };
import * as metrics from "./metrics.ts";

// Reference values from scikit-learn (fixtures/make_metric_fixtures.py); every metric must agree to 1e-9.
const TOLERANCE = 1e-9;

interface Case {
  name: string;
  metric: string;
  args: Record<string, unknown>;
  expected: number | number[][] | "error";
}

type Args = Record<string, unknown>;
const nums = (v: unknown): number[] => v as number[];
const avg = (a: Args): metrics.AverageOptions => ({ average: a.average as metrics.Average });

const run: Record<string, (a: Args) => number | readonly (readonly number[])[]> = {
  accuracy: (a) => metrics.accuracy(nums(a.yTrue), nums(a.yPred)),
  balancedAccuracy: (a) => metrics.balancedAccuracy(nums(a.yTrue), nums(a.yPred)),
  confusionMatrix: (a) => metrics.confusionMatrix(nums(a.yTrue), nums(a.yPred)).matrix,
  precision: (a) => metrics.precision(nums(a.yTrue), nums(a.yPred), avg(a)),
  recall: (a) => metrics.recall(nums(a.yTrue), nums(a.yPred), avg(a)),
  f1: (a) => metrics.f1(nums(a.yTrue), nums(a.yPred), avg(a)),
  logLoss: (a) => metrics.logLoss(nums(a.yTrue), nums(a.proba)),
  rocAuc: (a) => metrics.rocAuc(nums(a.yTrue), nums(a.score)),
  rocAucOvr: (a) => metrics.rocAucOvr(nums(a.yTrue), nums(a.proba), a.nClasses as number),
  averagePrecision: (a) => metrics.averagePrecision(nums(a.yTrue), nums(a.score)),
  rmse: (a) => metrics.rmse(nums(a.yTrue), nums(a.yPred)),
  mae: (a) => metrics.mae(nums(a.yTrue), nums(a.yPred)),
  r2: (a) => metrics.r2(nums(a.yTrue), nums(a.yPred)),
  mape: (a) => metrics.mape(nums(a.yTrue), nums(a.yPred)),
};

const cases = fixtures.cases as Case[];

describe("metrics match scikit-learn " + fixtures.sklearn, () => {
  it("covers every metric", () => {
    expect(new Set(cases.map((c) => c.metric))).toEqual(new Set(Object.keys(run)));
  });

  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const fn = run[c.metric];
    if (!fn) throw new Error(`no metric ${c.metric}`);
    if (c.expected === "error") {
      expect(() => fn(c.args)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }) as Error);
      return;
    }
    const got = fn(c.args);
    if (typeof c.expected === "number") {
      expect(Math.abs((got as number) - c.expected)).toBeLessThanOrEqual(TOLERANCE);
    } else {
      expect(got).toEqual(c.expected);
    }
  });
});

describe("metric input checks", () => {
  it("refuses mismatched lengths, empty input, NaN scores and non-binary labels for average binary", () => {
    const calls = [
      () => metrics.accuracy([0, 1], [0]),
      () => metrics.rmse([], []),
      () => metrics.rocAuc([0, 1], [0.5, NaN]),
      () => metrics.f1([0, 1, 2], [0, 1, 2]),
      () => metrics.logLoss([0, 3], [0.2, 0.4]),
    ];
    for (const call of calls) {
      let err: unknown;
      try {
        call();
      } catch (e) {
        err = e;
      }
      expect(isLoopmlError(err, "INVALID_ARGUMENT")).toBe(true);
    }
  });
});
