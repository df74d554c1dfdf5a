// loopml drift through the CLI: JSON verdict, HTML report, clear errors.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createDataService } from "../../src/data/service.ts";
import { openWorkspace } from "../../src/workspace.ts";
import { makeTempDir } from "../setup/tmp.ts";
import { loopml } from "./cli.ts";

const tmp = makeTempDir();
afterAll(() => tmp.remove());

const rows = (n: number, f: (i: number) => string): string =>
  ["x,city", ...Array.from({ length: n }, (_, i) => f(i))].join("\n") + "\n";
writeFileSync(
  join(tmp.path, "ref.csv"),
  rows(2000, (i) => `${i % 100},${i % 2 ? "Oslo" : "Lyon"}`),
);
writeFileSync(
  join(tmp.path, "cur.csv"),
  rows(2000, (i) => `${(i % 100) + 40},${i % 2 ? "Oslo" : "Lyon"}`),
);
writeFileSync(join(tmp.path, "empty.csv"), "x,city\n");

describe("loopml drift", () => {
  it("prints the per-column verdict as JSON and writes an HTML report", () => {
    const r = loopml(["drift", "ref.csv", "cur.csv", "--json", "--html", "report.html"], { cwd: tmp.path });
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as {
      columns: { column: string; result: { drifted: boolean } }[];
      dataset: { share: number };
    };
    expect(report.columns.map((c) => [c.column, c.result.drifted])).toEqual([
      ["x", true],
      ["city", false],
    ]);
    expect(report.dataset.share).toBe(0.5);
    expect(existsSync(join(tmp.path, "report.html"))).toBe(true);
  });

  it("refuses an empty table and an unknown test with INVALID_ARGUMENT", () => {
    const empty = loopml(["drift", "ref.csv", "empty.csv", "--json"], { cwd: tmp.path });
    expect(empty.status).toBe(2);
    expect(empty.stderr).toMatch(/empty.csv has no rows/);
    const badTest = loopml(["drift", "ref.csv", "cur.csv", "--test", "x=nope"], { cwd: tmp.path });
    expect(badTest.status).toBe(2);
    expect(badTest.stderr).toMatch(/COLUMN=TEST/);
  });
});

describe("loopml monitor and feedback", () => {
  const json = <T>(args: string[]): T => {
    const r = loopml([...args, "--json"], { cwd: tmp.path });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as T;
  };

  it("creates a dataset monitor, runs it, alerts once, writes a report; feedback counts unknown ids", async () => {
    // Versioned in process: each CLI call costs seconds on a loaded machine, and `data add` has its own tests.
    const ws = await openWorkspace({ dir: tmp.path, env: {} });
    try {
      await createDataService(ws).add("ref.csv", { name: "ref" });
      await createDataService(ws).add("cur.csv", { name: "cur" });
    } finally {
      await ws.close();
    }
    json([
      "monitor",
      "create",
      "cur-mon",
      "--dataset",
      "cur",
      "--reference",
      "dataset:ref@1",
      "--rows",
      "1500",
      "--alert",
      "drift_share >= 0.5:critical",
    ]);
    const run = json<{
      status: string;
      check: { dataset: { share: number } };
      alerts: { transition: string; severity: string }[];
    }>(["monitor", "run", "cur-mon"]);
    expect(run.status).toBe("drift");
    expect(run.check.dataset.share).toBe(0.5);
    expect(run.alerts).toMatchObject([{ transition: "fire", severity: "critical" }]);
    const again = loopml(["monitor", "run", "cur-mon"], { cwd: tmp.path });
    expect(again.stdout).toMatch(/window 2: DRIFT/);
    expect(again.stdout).not.toMatch(/ALERT FIRING/);
    const report = loopml(["monitor", "report", "cur-mon", "--html", "monitor.html"], { cwd: tmp.path });
    expect(report.status, report.stderr).toBe(0);
    expect(readFileSync(join(tmp.path, "monitor.html"), "utf8")).toMatch(/Monitor cur-mon — window 2/);
    writeFileSync(join(tmp.path, "labels.csv"), "request_id,label\nr1,1\nr2,0\n");
    const fb = json<{ accepted: number; unknown: number }>(["feedback", "--model", "churn", "labels.csv"]);
    expect(fb).toMatchObject({ accepted: 2, unknown: 2 });
  });
});
