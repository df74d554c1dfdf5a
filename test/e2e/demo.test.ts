// `make demo` on a small slice (every 60th flight): the whole loop runs and ends with a verified audit chain.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { makeTempDir } from "../setup/tmp.ts";

const tmp = makeTempDir();
afterAll(() => tmp.remove());

it("runs the loop month by month and verifies the audit trail", () => {
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", join(import.meta.dirname, "..", "..", "demo", "run.ts")],
    {
      encoding: "utf8",
      env: { ...process.env, DEMO_SAMPLE_EVERY: "60", DEMO_WORKSPACE: join(tmp.path, "ws") },
      timeout: 240_000,
    },
  );
  expect(r.stderr).toMatch(/January: \d+ flights versioned as flights@1/);
  expect(r.status).toBe(0);
  for (const month of ["January", "February", "March", "April", "May", "June"])
    expect(r.stdout).toMatch(new RegExp(`^${month}\\s+\\d+\\s+flights@\\d`, "m"));
  expect(r.stdout).toMatch(/chain verified OK/);
}, 300_000);
