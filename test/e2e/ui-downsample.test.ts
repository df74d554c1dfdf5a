// The dashboard's min/max downsampling runs in the store with one SQL per dialect: SQLite and PostgreSQL must
// return the same points (each bucket's lowest and highest, at their steps, in step order, NaN left out).
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { downsampledSeries } from "../../src/server/routes/ui.ts";
import { createTrackingService } from "../../src/tracking/service.ts";
import { openWorkspace, type Workspace } from "../../src/workspace.ts";
import { usePostgres } from "../setup/postgres.ts";
import { makeTempDir } from "../setup/tmp.ts";

const pg = usePostgres("ui_downsample");
const tmp = makeTempDir();
const open: Workspace[] = [];
afterAll(async () => {
  for (const ws of open) await ws.close();
  tmp.remove();
});

const STEPS = 20_000;

async function series(
  store: string,
  dir: string,
): Promise<{ total: number; steps: number[]; values: number[] }> {
  const ws = await openWorkspace({
    dir,
    store,
    artifacts: `file:${join(dir, "objects")}`,
    actor: "t",
    env: {},
  });
  open.push(ws);
  const tracking = createTrackingService(ws);
  await tracking.createExperiment("e");
  const run = await tracking.createRun({ experiment: "e" });
  for (let start = 0; start < STEPS; start += 1000) {
    await tracking.logBatch(run.id, {
      metrics: Array.from({ length: 1000 }, (_, k) => {
        const s = start + k;
        // Distinct values (no ties to break differently), one spike and one NaN.
        const value = s === 12_345 ? 99 : s === 7 ? NaN : Math.sin(s / 300) + s * 1e-6;
        return { key: "loss", value, step: s, timestamp: 1_700_000_000_000 + s };
      }),
    });
  }
  return downsampledSeries(ws.store, run.id, "loss", 100);
}

it("SQLite and PostgreSQL keep the same extremes at the same steps", async () => {
  const [lite, post] = await Promise.all([
    series("sqlite:.loopml/loopml.db", tmp.path),
    series(pg.freshDatabaseUrl(), join(tmp.path, "pg")),
  ]);
  expect(lite.total).toBe(STEPS);
  expect(lite.steps.length).toBeLessThanOrEqual(2 * 101);
  expect(lite.steps[lite.values.indexOf(99)]).toBe(12_345);
  expect(lite.steps).not.toContain(7);
  for (let i = 1; i < lite.steps.length; i++) expect(lite.steps[i]!).toBeGreaterThan(lite.steps[i - 1]!);
  expect(post).toEqual(lite);
}, 120_000);
