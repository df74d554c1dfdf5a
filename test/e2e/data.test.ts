// loopml data through the CLI: add, versions, show (with a CSV profile), diff, status, checkout, bad CSV.
import { readFileSync, writeFileSync, mkdirSync, appendFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir } from "../setup/tmp.ts";
import { loopml } from "./cli.ts";

let tmp: { path: string; remove(): void };
beforeAll(() => {
  tmp = makeTempDir("loopml-e2e-data-");
  mkdirSync(join(tmp.path, "data"));
  const rows = ["id,price,city,ok,day"];
  for (let i = 0; i < 200; i++) {
    rows.push(
      `${i},${(i * 1.5).toFixed(2)},${["paris", "rome", "oslo"][i % 3]},${i % 2 === 0},2024-01-${String((i % 28) + 1).padStart(2, "0")}`,
    );
  }
  writeFileSync(join(tmp.path, "data", "sales.csv"), `${rows.join("\n")}\n`);
});
afterAll(() => tmp.remove());

function json<T>(args: string[]): T {
  const r = loopml([...args, "--json"], { cwd: tmp.path });
  expect(r.stderr, r.stderr).toBe("");
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as T;
}

describe("loopml data", () => {
  it("adds a CSV, profiles it, and diffs two versions by rows, schema and statistics", () => {
    const first = json<{ created: boolean; version: { seq: number; id: string; profileId: string } }>([
      "data",
      "add",
      "data/sales.csv",
      "--name",
      "sales",
      "-m",
      "first",
    ]);
    expect(first.created).toBe(true);
    expect(first.version.seq).toBe(1);
    expect(first.version.profileId).toMatch(/^[0-9a-f]{64}$/);

    const show = json<{
      profile: { tables: Record<string, { rows: number; columns: { name: string; type: string }[] }> };
    }>(["data", "show", "sales@1"]);
    const t = show.profile.tables["sales.csv"]!;
    expect(t.rows).toBe(200);
    expect(Object.fromEntries(t.columns.map((c) => [c.name, c.type]))).toEqual({
      id: "integer",
      price: "numeric",
      city: "categorical",
      ok: "boolean",
      day: "datetime",
    });

    appendFileSync(join(tmp.path, "data", "sales.csv"), "200,999.5,paris,true,2024-02-01\n");
    const second = json<{ version: { seq: number } }>(["data", "add", "data/sales.csv", "--name", "sales"]);
    expect(second.version.seq).toBe(2);

    const diff = json<{
      changed: { path: string }[];
      tables: { rowsBefore: number; rowsAfter: number; columns: { column: string; change: string }[] }[];
    }>(["data", "diff", "sales@1", "sales@2"]);
    expect(diff.changed.map((c) => c.path)).toEqual(["sales.csv"]);
    expect(diff.tables[0]).toMatchObject({ rowsBefore: 200, rowsAfter: 201 });
    expect(diff.tables[0]?.columns.some((c) => c.column === "price" && c.change === "stats")).toBe(true);

    const human = loopml(["data", "show", "sales@2"], { cwd: tmp.path });
    expect(human.status).toBe(0);
    expect(human.stdout).toMatch(/sales\.csv: 201 rows, 5 columns/);

    const co = json<{ written: number }>(["data", "checkout", "sales@1"]);
    expect(co.written).toBe(1);
    expect(readFileSync(join(tmp.path, "data", "sales.csv"), "utf8").split("\n").length).toBe(202);
    expect(json<{ clean: boolean }[]>(["data", "status", "sales"])[0]?.clean).toBe(true);
  }, 180_000); // nine CLI runs: about 60 s on a 2-core machine at load 25

  it("rejects a ragged CSV with exit 2, records nothing, and names the datasets that exist", () => {
    writeFileSync(join(tmp.path, "data", "ragged.csv"), "a,b,c\n1,2,3\n4,5\n6,7,8\n");
    const r = loopml(["data", "add", "data/ragged.csv", "--json"], { cwd: tmp.path });
    expect(r.status).toBe(2);
    expect((JSON.parse(r.stderr) as { error: { code: string; message: string } }).error).toMatchObject({
      code: "INVALID_ARGUMENT",
      message: expect.stringMatching(/ragged\.csv is not a well-formed CSV/) as unknown,
    });
    const unknown = loopml(["data", "show", "ragged"], { cwd: tmp.path });
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/There is no dataset "ragged". Datasets: sales/);
  });

  it("gc --keep-last: a dry run names the version it would drop, a bad count is refused, unknown versions list the latest", () => {
    const dry = json<{ dryRun: boolean; dropped: string[]; pinned: unknown[] }>([
      "data",
      "gc",
      "--keep-last",
      "1",
      "--dry-run",
    ]);
    expect(dry).toMatchObject({ dryRun: true, dropped: ["sales@1"], pinned: [] });
    expect(json<{ seq: number }[]>(["data", "versions", "sales"]).map((v) => v.seq)).toEqual([1, 2]);
    const bad = loopml(["data", "gc", "--keep-last", "0", "--json"], { cwd: tmp.path });
    expect(bad.status).toBe(2);
    expect((JSON.parse(bad.stderr) as { error: { code: string } }).error.code).toBe("INVALID_ARGUMENT");
    const missing = loopml(["data", "show", "sales@9"], { cwd: tmp.path });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/Dataset "sales" has no version 9 \(latest is 2\)/);
  });
});
