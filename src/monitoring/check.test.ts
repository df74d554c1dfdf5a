// Window checks against a precomputed reference: equal to the ad-hoc report when the reference fits the sample.
import { describe, expect, it } from "vitest";
import { frameFromColumns } from "../learn/frame.ts";
import { checkWindow } from "./check.ts";
import { buildDriftReport } from "./drift-report.ts";
import { buildReferenceProfile, decodeReferenceProfile, encodeReferenceProfile } from "./reference.ts";
import { bellSample } from "./stats/rng.ts";

const n = 3000;
const reference = frameFromColumns({
  x: bellSample(1, n, 0, 1),
  shifted: bellSample(2, n, 5, 2),
  few: Float64Array.from({ length: n }, (_, i) => i % 3),
  city: Array.from({ length: n }, (_, i) => (i % 4 === 0 ? null : ["Lyon", "Oslo", "Rome"][i % 3]!)),
});
const current = frameFromColumns({
  x: bellSample(3, 1500, 0, 1),
  shifted: bellSample(4, 1500, 6, 2),
  few: Float64Array.from({ length: 1500 }, (_, i) => (i % 5 === 0 ? 0 : i % 3)),
  city: Array.from({ length: 1500 }, (_, i) => (i % 10 === 0 ? "Kyiv" : ["Lyon", "Oslo", "Rome"][i % 3]!)),
});

function asWindow(frame: typeof current) {
  const columns: Record<string, Float64Array | { codes: Int32Array; dictionary: readonly string[] }> = {};
  for (const c of frame.columns) columns[c.name] = c.kind === "numeric" ? c.values : c;
  return { rows: frame.nRows, columns };
}

describe("checkWindow", () => {
  it("gives the same statistics as the ad-hoc drift report when the reference is within the sample", () => {
    const profile = decodeReferenceProfile(encodeReferenceProfile(buildReferenceProfile(reference, "test")));
    const check = checkWindow(profile, asWindow(current));
    const adhoc = buildDriftReport(reference, current);
    for (const a of adhoc.columns) {
      const c = check.columns.find((x) => x.column === a.column)!;
      expect(c.result?.test, a.column).toBe(a.result?.test);
      expect(c.result!.statistic).toBeCloseTo(a.result!.statistic, 10);
      expect(c.result!.drifted).toBe(a.result!.drifted);
    }
    expect(check.dataset?.share).toBe(adhoc.dataset.share);
    const city = check.columns.find((c) => c.column === "city")!;
    expect(city.newCategories).toEqual(["Kyiv"]);
    expect(city.newCategoryShare).toBeCloseTo(0.1, 10);
    expect(city.missingShare.reference).toBeCloseTo(0.25, 10);
  });

  it("keeps a bounded quantile sample and stays close to the exact statistics on a large reference", () => {
    const big = frameFromColumns({ x: bellSample(5, 200_000, 0, 1) });
    const cur = frameFromColumns({ x: bellSample(6, 20_000, 0.3, 1) });
    const profile = buildReferenceProfile(big, "big");
    expect(profile.columns[0]!.kind === "numeric" && profile.columns[0]!.sample.length).toBe(20_000);
    for (const test of ["ks", "wasserstein", "psi"] as const) {
      const exact = buildDriftReport(big, cur, { tests: { x: test } }).columns[0]!.result!;
      const fast = checkWindow(profile, asWindow(cur), { tests: { x: test } }).columns[0]!.result!;
      expect(Math.abs(fast.statistic - exact.statistic), test).toBeLessThan(test === "psi" ? 0.01 : 1e-3);
      expect(fast.drifted).toBe(exact.drifted);
    }
  });

  it("reports missing columns and type changes as schema drift, and small windows as not enough data", () => {
    const profile = buildReferenceProfile(reference, "test");
    const window = asWindow(current);
    const { shifted: _gone, ...rest } = window.columns;
    const check = checkWindow(profile, {
      rows: 1500,
      columns: { ...rest, x: Array.from({ length: 1500 }, () => "abc") },
    });
    expect(check.schema.missingColumns).toEqual(["shifted"]);
    expect(check.schema.typeChanges.map((t) => t.column)).toEqual(["x"]);
    expect(["schema_drift", "drift"]).toContain(check.status);
    const empty = checkWindow(profile, { rows: 0, columns: {} });
    expect(empty.status).toBe("not_enough_data");
    expect(empty.dataset).toBeNull();
    const tiny = checkWindow(profile, { rows: 5, columns: { x: Float64Array.of(9, 9, 9, 9, 9) } });
    expect(tiny.status).toBe("not_enough_data");
  });

  it("counts out-of-range numbers and compares predictions with the target's reference", () => {
    const profile = buildReferenceProfile(
      frameFromColumns({
        x: Float64Array.from({ length: 100 }, (_, i) => i),
        y: Array.from({ length: 100 }, (_, i) => (i % 2 ? "yes" : "no")),
      }),
      "t",
    );
    const check = checkWindow(
      profile,
      {
        rows: 100,
        columns: { x: Float64Array.from({ length: 100 }, (_, i) => i + 10) },
        predictions: Float64Array.from({ length: 100 }, () => 1),
      },
      { target: "y" },
    );
    expect(check.columns.map((c) => c.column)).toEqual(["x"]);
    expect(check.columns[0]!.outOfRange).toEqual({ below: 0, above: 10, share: 0.1 });
    expect(check.prediction?.result?.drifted).toBe(true);
    expect(check.prediction?.histogram.labels).toContain("yes");
  });
});
