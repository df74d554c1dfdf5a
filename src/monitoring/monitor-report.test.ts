// The monitor report embeds aggregates, not rows: a 10⁶-row window gives a small, self-contained page.
import { describe, expect, it } from "vitest";
import { frameFromColumns } from "../learn/frame.ts";
import { checkWindow } from "./check.ts";
import { renderMonitorReportHtml } from "./monitor-report.ts";
import type { MonitorResult } from "./monitors.ts";
import { buildReferenceProfile } from "./reference.ts";
import { bellSample } from "./stats/rng.ts";

describe("monitor report", () => {
  it("stays small and offline for a 10^6-row window", () => {
    const n = 1_000_000;
    const profile = buildReferenceProfile(
      frameFromColumns({
        a: bellSample(1, 50_000, 0, 1),
        b: bellSample(2, 50_000, 3, 2),
        plan: Array.from({ length: 50_000 }, (_, i) => ["free", "pro", "team"][i % 3]!),
      }),
      "dataset:ref@1",
    );
    const codes = Int32Array.from({ length: n }, (_, i) => (i % 7 === 0 ? 3 : i % 3));
    const check = checkWindow(profile, {
      rows: n,
      columns: {
        a: bellSample(3, n, 0.5, 1),
        b: bellSample(4, n, 3, 2),
        plan: { codes, dictionary: ["free", "pro", "team", "<script>alert(1)</script>"] },
      },
    });
    const result: MonitorResult = {
      monitor: "churn",
      runId: "r",
      seq: 7,
      at: 0,
      status: check.status,
      window: { source: "model:churn", rows: n, start: 0, end: 1, modelVersions: [3] },
      reference: { source: profile.source, rows: profile.rows, sampleSize: profile.sampleSize },
      check,
      performance: {
        task: "regression",
        labelled: 10,
        metrics: { rmse: { value: 2, low: 1.5, high: 2.5, method: "bootstrap", validation: 1, change: 1 } },
      },
      labels: { labelled: 10, unlabelled: n - 10, unknown: 2 },
      values: {},
      alerts: [
        {
          rule: "rmse > 1.2 * validation.rmse",
          severity: "critical",
          transition: "fire",
          value: 2,
          threshold: 1.2,
          window: 7,
          since: 0,
        },
      ],
      deliveries: [],
    };
    const html = renderMonitorReportHtml(result, "2026-11-27T00:00:00Z");
    expect(html.length).toBeLessThan(60_000);
    expect(html).not.toMatch(/<script|https?:\/\/|<link|src=/);
    expect(html).toContain("&#60;script&#62;");
    expect(html).toContain("rmse &#62; 1.2 * validation.rmse");
    expect(html).toContain("1000000 rows");
    expect((html.match(/<svg/g) ?? []).length).toBe(3);
    expect(check.columns.find((c) => c.column === "a")!.result!.drifted).toBe(true);
  });
});
