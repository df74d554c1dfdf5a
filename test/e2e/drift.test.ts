// loopml drift through the CLI: JSON verdict, HTML report, clear errors.
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
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
