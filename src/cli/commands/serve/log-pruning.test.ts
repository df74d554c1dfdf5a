// loopml serve's pruning pass: each logged model with a retention is pruned, batches in a monitor's window stay.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSequentialIds } from "../../../_internal/clock.ts";
import { makeTempDir } from "../../../../test/setup/tmp.ts";
import { createMonitorService } from "../../../monitoring/monitors.ts";
import { appendInferenceLog, readInferenceLog } from "../../../serving/inference-log.ts";
import type { PruneReport } from "../../../serving/log-retention.ts";
import { openWorkspace, type Workspace } from "../../../workspace.ts";
import { monitorWindows, startLogPruning } from "./log-pruning.ts";

describe("loopml serve log pruning", () => {
  const tmp = makeTempDir();
  let ws: Workspace;
  beforeAll(async () => {
    ws = await openWorkspace({ dir: join(tmp.path, "p"), ids: createSequentialIds(), logLevel: "silent" });
  });
  afterAll(async () => {
    await ws.close();
    tmp.remove();
  });

  async function log(model: string, from: number, n: number): Promise<void> {
    const ts = Float64Array.from({ length: n }, (_, i) => from + i);
    await appendInferenceLog(ws, {
      model,
      version: 1,
      requestIds: Array.from(ts, (t) => `${model}-${t}`),
      ts,
      inputs: { x: ts },
      predictions: new Float64Array(n),
    });
  }

  it("prunes models with a retention, keeps a monitor's window and models without one", async () => {
    // Old enough for any age limit: the clock is the real one.
    for (let b = 0; b < 6; b++) {
      await log("churn", 1000 + b * 100, 10);
      await log("fraud", 1000 + b * 100, 10);
    }
    const monitors = createMonitorService(ws);
    await monitors.upsert({
      name: "churn-drift",
      model: "churn",
      reference: "dataset:ref@1",
      window: { rows: 25 },
    });
    await monitors.upsert({
      name: "other",
      model: "fraud",
      reference: "dataset:ref@1",
      window: { span: "1h" },
    });
    expect(await monitorWindows(ws, "churn")).toEqual([{ monitor: "churn-drift", rows: 25 }]);

    const pruned: PruneReport[] = [];
    const pruning = startLogPruning(ws, {
      models: () => ["churn", "fraud", "churn"],
      retention: (m) => (m === "churn" ? { maxAgeMs: 1000 } : undefined),
      intervalMs: 3_600_000,
      onPruned: (r) => pruned.push(r),
    });
    pruning.stop();
    const reports = await pruning.runOnce();
    expect(reports.map((r) => r.model)).toEqual(["churn"]);
    // The monitor reads the newest 25 rows: the three newest batches stay.
    expect(pruned).toEqual([
      expect.objectContaining({
        model: "churn",
        batches: 3,
        rows: 30,
        keptForMonitors: 3,
        keptBy: ["churn-drift"],
      }),
    ]);
    expect((await readInferenceLog(ws, { model: "churn" })).rows).toBe(30);
    expect((await readInferenceLog(ws, { model: "fraud" })).rows).toBe(60);
  });
});
