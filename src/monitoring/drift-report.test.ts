import { describe, expect, it } from "vitest";
import { frameFromColumns } from "../learn/frame.ts";
import { createLcg } from "./stats/index.ts";
import { buildDriftReport } from "./drift-report.ts";
import { renderDriftReportHtml } from "./report-html.ts";

function normal(n: number, mean: number, seed: number): number[] {
  const rng = createLcg(seed);
  return Array.from({ length: n }, () => {
    const u = Math.max(rng(), 1e-12);
    return mean + Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
  });
}

describe("buildDriftReport", () => {
  const n = 3000;
  const reference = frameFromColumns({
    stable: normal(n, 0, 1),
    shifted: normal(n, 0, 2),
    city: Array.from({ length: n }, (_, i) => (i % 3 === 0 ? "Oslo" : "Lyon")),
    flag: Array.from({ length: n }, (_, i) => i % 2),
    gone: normal(n, 0, 3),
  });
  const current = frameFromColumns({
    stable: normal(n, 0, 4),
    shifted: normal(n, 1, 5),
    city: Array.from({ length: n }, (_, i) => (i % 3 === 0 ? "Oslo" : i % 3 === 1 ? "Lyon" : "Rome")),
    flag: Array.from({ length: n }, (_, i) => i % 2),
    fresh: normal(n, 0, 6),
  });

  it("picks Evidently's default tests and flags what moved", () => {
    const report = buildDriftReport(reference, current);
    const byName = Object.fromEntries(report.columns.map((c) => [c.column, c]));
    expect(byName["stable"]?.result).toMatchObject({ test: "wasserstein", drifted: false });
    expect(byName["shifted"]?.result).toMatchObject({ test: "wasserstein", drifted: true });
    expect(byName["city"]?.result).toMatchObject({ test: "jensenshannon", drifted: true });
    expect(byName["city"]?.newCategories).toEqual(["Rome"]);
    expect(byName["flag"]?.kind).toBe("binary");
    expect(report.dataset).toMatchObject({ driftedColumns: 2, totalColumns: 4, share: 0.5, drifted: true });
  });

  it("reports schema drift instead of failing on missing or new columns", () => {
    const report = buildDriftReport(reference, current);
    expect(report.missingColumns).toEqual(["gone"]);
    expect(report.extraColumns).toEqual(["fresh"]);
  });

  it("says 'not enough data' for an all-missing column rather than raising a false alarm", () => {
    const ref = frameFromColumns({ x: [1, 2, 3], y: [1, 2, 3] });
    const cur = frameFromColumns({ x: [NaN, NaN, NaN], y: [1, 2, 3] });
    const report = buildDriftReport(ref, cur);
    expect(report.columns.find((c) => c.column === "x")?.result).toBeNull();
    expect(report.dataset.totalColumns).toBe(1);
  });

  it("honours per-column tests and thresholds", () => {
    const report = buildDriftReport(reference, current, {
      tests: { stable: "ks" },
      thresholds: { "*": 0.5 },
    });
    const stable = report.columns.find((c) => c.column === "stable")?.result;
    expect(stable?.test).toBe("ks");
    expect(stable?.threshold).toBe(0.5);
  });

  it("renders a self-contained HTML page with escaped names", () => {
    const ref = frameFromColumns({ "<b>": ["a", "b"] });
    const html = renderDriftReportHtml(buildDriftReport(ref, ref), {
      title: "t",
      reference: "r",
      current: "c",
      generatedAt: "now",
    });
    expect(html).toContain("&#60;b&#62;");
    expect(html).not.toMatch(/<script|https?:\/\//);
  });
});
