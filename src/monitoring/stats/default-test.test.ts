// Default test choice, dataset drift, thresholds and input errors of the drift statistics.
import { describe, expect, it } from "vitest";
import { isLoopmlError } from "../../errors.ts";
import { chooseDefaultTest, columnDrift, datasetDrift, runDriftTest } from "./default-test.ts";
import { ksTest } from "./ks.ts";
import { mmdTest } from "./mmd.ts";
import { bellSample } from "./rng.ts";
import type { DriftResult, DriftTestName } from "./types.ts";

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe("chooseDefaultTest (Evidently's defaults)", () => {
  it.each([
    ["numeric", 6, 1000, "ks", 0.05],
    ["numeric", 5, 1000, "chisquare", 0.05],
    ["numeric", 3, 10, "chisquare", 0.05],
    ["numeric", 2, 10, "z", 0.05],
    ["categorical", 12, 1000, "chisquare", 0.05],
    ["categorical", 2, 1000, "z", 0.05],
    ["binary", 2, 500, "z", 0.05],
    ["numeric", 6, 1001, "wasserstein", 0.1],
    ["numeric", 5, 1001, "jensenshannon", 0.1],
    ["categorical", 40, 5000, "jensenshannon", 0.1],
    ["binary", 2, 5000, "jensenshannon", 0.1],
  ] as const)("%s with %i values and %i reference rows → %s", (kind, nUnique, rows, test, threshold) => {
    expect(chooseDefaultTest(kind, nUnique, rows)).toEqual({ test, threshold });
  });

  it("counts non-missing reference rows and distinct values over both samples", () => {
    const ref = new Float64Array(1500).fill(Number.NaN);
    ref.set(bellSample(1, 900, 0, 1));
    // 900 non-missing reference rows: KS, not Wasserstein.
    expect(columnDrift("numeric", ref, bellSample(2, 900, 0, 1)).test).toBe("ks");
    expect(columnDrift("numeric", bellSample(3, 1500, 0, 1), bellSample(4, 900, 0, 1)).test).toBe(
      "wasserstein",
    );
    expect(columnDrift("categorical", Int32Array.of(0, 1, 1, -1), Int32Array.of(0, 2)).test).toBe(
      "chisquare",
    );
  });
});

describe("drift verdicts", () => {
  it("KS drifts at p ≤ threshold, p-value tests at p < threshold", () => {
    const ref = bellSample(5, 400, 0, 1);
    const same = ksTest(ref, bellSample(6, 400, 0, 1));
    expect(same.drifted).toBe(false);
    expect(ksTest(ref, ref, { threshold: 1 }).drifted).toBe(true); // p = 1 ≤ 1
    const z = runDriftTest("z", Int32Array.of(0, 1, 0, 1), Int32Array.of(0, 1, 0, 1), { threshold: 1 });
    expect(z).toMatchObject({ pValue: 1, drifted: false }); // 1 < 1 is false
  });

  it("distances drift at statistic ≥ threshold and have no p-value", () => {
    const ref = bellSample(7, 5000, 0, 1);
    const shifted = columnDrift("numeric", ref, bellSample(8, 5000, 0.5, 1));
    expect(shifted).toMatchObject({ test: "wasserstein", pValue: null, threshold: 0.1, drifted: true });
    expect(columnDrift("numeric", ref, bellSample(9, 5000, 0, 1)).drifted).toBe(false);
  });

  it("dataset drifts when at least half of the columns drift", () => {
    const r = (drifted: boolean): DriftResult => ({
      test: "ks",
      statistic: 0,
      pValue: 1,
      threshold: 0.05,
      drifted,
    });
    expect(datasetDrift([r(true), r(false)])).toEqual({
      driftedColumns: 1,
      totalColumns: 2,
      share: 0.5,
      drifted: true,
    });
    expect(datasetDrift([r(true), r(false), r(false)]).drifted).toBe(false);
    expect(datasetDrift([r(true)], 1).drifted).toBe(true);
    expect(
      isLoopmlError(
        thrown(() => datasetDrift([])),
        "INVALID_ARGUMENT",
      ),
    ).toBe(true);
  });
});

describe("bad input", () => {
  const numericTests: DriftTestName[] = [
    "ks",
    "wasserstein",
    "psi",
    "jensenshannon",
    "kl_div",
    "hellinger",
    "mannw",
    "anderson",
    "cramer_von_mises",
    "mmd",
    "chisquare",
    "z",
  ];
  it.each(numericTests)("%s rejects a sample that is empty after dropping NaN", (name) => {
    const e = thrown(() =>
      runDriftTest(name, Float64Array.of(Number.NaN, Number.NaN), Float64Array.of(1, 2, 3)),
    );
    expect(isLoopmlError(e, "INVALID_ARGUMENT")).toBe(true);
    expect((e as Error).message).toMatch(/reference sample is empty after dropping missing values/);
  });

  it("categorical tests reject all-missing codes and codes below -1", () => {
    expect(
      isLoopmlError(
        thrown(() => runDriftTest("chisquare", Int32Array.of(-1), Int32Array.of(0))),
        "INVALID_ARGUMENT",
      ),
    ).toBe(true);
    expect(
      isLoopmlError(
        thrown(() => runDriftTest("z", Int32Array.of(-2, 0), Int32Array.of(0))),
        "INVALID_ARGUMENT",
      ),
    ).toBe(true);
  });

  it("numeric-only tests reject category codes; tests with minimum sizes say so", () => {
    expect(
      isLoopmlError(
        thrown(() => runDriftTest("ks", Int32Array.of(1), Int32Array.of(2))),
        "INVALID_ARGUMENT",
      ),
    ).toBe(true);
    const cvm = thrown(() => runDriftTest("cramer_von_mises", Float64Array.of(1), Float64Array.of(2, 3)));
    expect((cvm as Error).message).toMatch(/needs at least 2/);
    const ad = thrown(() => runDriftTest("anderson", Float64Array.of(1, 1), Float64Array.of(1)));
    expect((ad as Error).message).toMatch(/two distinct values/);
    expect(
      isLoopmlError(
        thrown(() => ksTest(Float64Array.of(1), Float64Array.of(2), { threshold: -1 })),
        "INVALID_ARGUMENT",
      ),
    ).toBe(true);
  });

  it("fisher exact refuses more than two categories", () => {
    const e = thrown(() => runDriftTest("fisher_exact", Int32Array.of(0, 1, 2), Int32Array.of(0, 1)));
    expect(isLoopmlError(e, "INVALID_ARGUMENT")).toBe(true);
  });
});

describe("mmd permutation p-value", () => {
  it("is reproducible for a seed and separates shifted from identical distributions", () => {
    const ref = bellSample(10, 150, 0, 1);
    const shifted = mmdTest(ref, bellSample(11, 150, 0.6, 1), { permutations: 100 });
    expect(shifted.drifted).toBe(true);
    expect(shifted.pValue).toBeCloseTo(1 / 101, 12);
    const same = mmdTest(ref, bellSample(12, 150, 0, 1), { permutations: 100 });
    expect(same.drifted).toBe(false);
    expect(mmdTest(ref, bellSample(12, 150, 0, 1), { permutations: 100 })).toEqual(same);
  });

  it("thins large samples to maxSamples order statistics", () => {
    const r = mmdTest(bellSample(13, 20_000, 0, 1), bellSample(14, 20_000, 0, 1), {
      maxSamples: 100,
      permutations: 20,
    });
    expect(r.drifted).toBe(false);
  });
});
