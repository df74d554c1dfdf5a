// `make demo` on a small slice (every 60th flight): the whole loop through loopml.yaml, apply, AutoML, HTTP
// serving, monitors, late labels and the retrain policy; then the edit → plan → apply round-trip a user makes.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { loopml } from "./cli.ts";
import { makeTempDir } from "../setup/tmp.ts";

const tmp = makeTempDir("loopml-demo-e2e-");
afterAll(() => tmp.remove());
const ws = join(tmp.path, "ws");

it("runs the loop month by month, retrains on an alert, promotes, and verifies the audit trail", () => {
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", join(import.meta.dirname, "..", "..", "demo", "run.ts")],
    {
      encoding: "utf8",
      env: { ...process.env, DEMO_SAMPLE_EVERY: "60", DEMO_WORKSPACE: ws },
      timeout: 300_000,
    },
  );
  if (r.status !== 0) console.error(r.stderr.slice(-4000));
  expect(r.status).toBe(0);
  expect(r.stderr).toMatch(/apply: create monitor "delay-drift"/);
  expect(r.stderr).toMatch(/v1 promoted to @production/);
  for (const month of ["February", "March", "April", "May", "June"])
    expect(r.stdout).toMatch(new RegExp(`^${month}\\s+\\d+\\s+\\d+\\s+v\\d`, "m"));
  // At least one retrain started by the monitor, and at least one promotion by the policy after one.
  expect(r.stdout).toMatch(/retrain started \(monitor: monitor delay-drift alerted/);
  expect(r.stdout).toMatch(/promoted v\d+ to @production \(was v\d+\)/);
  expect(r.stdout).toMatch(/errors = 0\n/);
  expect(r.stdout).toMatch(/loopml audit verify: OK/);
  expect(r.stdout).toMatch(/http:\/\/127\.0\.0\.1:8080\//);
}, 330_000);

it("after the demo, an edit of loopml.yaml shows in plan, apply applies it, and a second plan has nothing to do", () => {
  const file = join(ws, "loopml.yaml");
  const before = readFileSync(file, "utf8");
  expect(before).toContain('thresholds: { "*": 0.05 }');
  writeFileSync(file, before.replace('thresholds: { "*": 0.05 }', 'thresholds: { "*": 0.1 }'));

  const plan = loopml(["plan"], { cwd: ws });
  expect(plan.status).toBe(0);
  expect(plan.stdout).toContain('~ monitor "delay-drift"');
  // Exactly that change: one resource, one field.
  expect(plan.stdout.match(/^ +[~+-] \S+ = .*$/gm)).toEqual(["      ~ thresholds.* = 0.05 → 0.1"]);
  expect(plan.stdout).toContain("Plan: 0 to create, 1 to change, 0 to remove.");

  const apply = loopml(["apply"], { cwd: ws });
  expect(apply.status).toBe(0);
  expect(apply.stdout).toContain("Apply complete: 0 created, 1 changed, 0 removed.");
  expect(loopml(["plan"], { cwd: ws }).stdout).toMatch(/^No changes\./);

  const audit = loopml(["audit", "log", "--target-prefix", "monitor:delay-drift", "--json"], { cwd: ws });
  const events = JSON.parse(audit.stdout) as { action: string; target: string }[];
  expect(events.some((e) => e.action === "apply.update" && e.target === "monitor:delay-drift")).toBe(true);
  expect(loopml(["audit", "verify"], { cwd: ws }).status).toBe(0);
}, 240_000);
