// The foundation through the CLI: init, info, audit log/verify, bad input.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openWorkspace } from "../../src/workspace.ts";
import { makeTempDir } from "../setup/tmp.ts";
import { loopml } from "./cli.ts";

let tmp: { path: string; remove(): void };
beforeEach(() => {
  tmp = makeTempDir();
});
afterEach(() => tmp.remove());

describe("loopml init", () => {
  it("scaffolds a project whose own `make test` passes", () => {
    const init = loopml(["init", "proj", "--json"], { cwd: tmp.path });
    expect(init.status).toBe(0);
    const written = (JSON.parse(init.stdout) as { written: string[] }).written;
    expect(written).toEqual(
      expect.arrayContaining([
        "loopml.yaml",
        "Makefile",
        "package.json",
        "test/prepare.test.js",
        ".github/workflows/ci.yml",
      ]),
    );
    const make = spawnSync("make", ["test"], { cwd: join(tmp.path, "proj"), encoding: "utf8" });
    expect(make.stderr + make.stdout).toMatch(/# pass 2/);
    expect(make.status).toBe(0);
  });

  it("refuses to overwrite without --force and writes nothing", () => {
    expect(loopml(["init", "p"], { cwd: tmp.path }).status).toBe(0);
    writeFileSync(join(tmp.path, "p", "Makefile"), "mine\n");
    const again = loopml(["init", "p", "--json"], { cwd: tmp.path });
    expect(again.status).toBe(1);
    expect((JSON.parse(again.stderr) as { error: { code: string } }).error.code).toBe("ALREADY_EXISTS");
    expect(readFileSync(join(tmp.path, "p", "Makefile"), "utf8")).toBe("mine\n");
    expect(loopml(["init", "p", "--force"], { cwd: tmp.path }).status).toBe(0);
    expect(readFileSync(join(tmp.path, "p", "Makefile"), "utf8")).not.toBe("mine\n");
  });
});

describe("loopml audit", () => {
  it("verifies a clean chain and catches an event edited behind the store's back", async () => {
    const ws = await openWorkspace({ dir: tmp.path });
    for (let i = 1; i <= 3; i++)
      await ws.audit.record({ actor: "alice", action: "dataset.version.create", target: `dataset:d${i}` });
    await ws.close();

    const ok = loopml(["audit", "verify", "--json"], { cwd: tmp.path });
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, events: 3 });
    const log = loopml(["audit", "log", "--target", "dataset:d2", "--json"], { cwd: tmp.path });
    expect((JSON.parse(log.stdout) as { seq: number }[]).map((e) => e.seq)).toEqual([2]);

    const db = new BetterSqlite3(join(tmp.path, ".loopml", "loopml.db"));
    db.prepare("update audit_events set target = 'dataset:evil' where seq = 2").run();
    db.close();
    const bad = loopml(["audit", "verify"], { cwd: tmp.path });
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/BROKEN at event 2/);
  });
});

describe("bad input", () => {
  it("names the fix for an unknown store scheme", () => {
    const r = loopml(["info", "--json"], { cwd: tmp.path, env: { LOOPML_STORE: "mysql://x" } });
    expect(r.status).toBe(2);
    expect(JSON.parse(r.stderr)).toMatchObject({ error: { code: "INVALID_ARGUMENT" } });
    expect(r.stderr).toMatch(/Use sqlite:PATH or postgres:/);
  });

  it("rejects a malformed loopml.yaml without touching state", () => {
    writeFileSync(join(tmp.path, "loopml.yaml"), "store: [unclosed\n");
    const r = loopml(["info"], { cwd: tmp.path });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/loopml.yaml is not valid YAML/);
  });

  it("reports an unwritable state folder clearly", () => {
    writeFileSync(join(tmp.path, ".loopml"), "a file where the folder should be");
    const r = loopml(["info"], { cwd: tmp.path });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Cannot open the SQLite store/);
  });
});
