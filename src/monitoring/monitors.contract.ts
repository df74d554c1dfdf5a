// The monitor service end to end on one metadata backend: windows from the inference log, late labels, alerts.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createManualClock, createSequentialIds } from "../_internal/clock.ts";
import { silentLogger } from "../_internal/logger.ts";
import { makeTempDir } from "../../test/setup/tmp.ts";
import { createDataService } from "../data/service.ts";
import { isLoopmlError } from "../errors.ts";
import { createRegistryEvents } from "../registry/events.ts";
import { createRegistryService } from "../registry/service.ts";
import { createDeploymentService } from "../serving/deployments.ts";
import { appendInferenceLog } from "../serving/inference-log.ts";
import { openWorkspace, type Workspace } from "../workspace.ts";
import { recordFeedback } from "./feedback.ts";
import { createMonitorService, type MonitorService } from "./monitors.ts";
import { createLcg } from "./stats/rng.ts";

const T0 = Date.UTC(2026, 10, 27, 6, 0, 0);
const CITIES = ["Lyon", "Oslo", "Rome"];

/** n logged predictions; `shift` moves x, `kyiv` adds a category the reference never had. */
async function logBatch(
  ws: Workspace,
  start: number,
  n: number,
  opts: { shift?: number; kyiv?: boolean; noCity?: boolean } = {},
) {
  const next = createLcg(start + 7);
  const x = Float64Array.from({ length: n }, () => next() * 100 + (opts.shift ?? 0));
  const city = Array.from({ length: n }, (_, i) => (opts.kyiv && i % 4 === 0 ? "Kyiv" : CITIES[i % 3]!));
  await appendInferenceLog(ws, {
    model: "price",
    version: 1,
    requestIds: Array.from({ length: n }, (_, i) => `r${start + i}`),
    ts: Float64Array.from({ length: n }, (_, i) => T0 + (start + i) * 1000),
    inputs: opts.noCity ? { x } : { x, city },
    predictions: x.map((v) => v / 10),
  });
}

export function testMonitors(name: string, freshStore: () => Promise<string>): void {
  describe(`monitors: ${name}`, () => {
    const tmp = makeTempDir();
    const clock = createManualClock(T0);
    let ws: Workspace;
    let monitors: MonitorService;
    beforeAll(async () => {
      ws = await openWorkspace({
        dir: tmp.path,
        store: await freshStore(),
        artifacts: `file:${join(tmp.path, "objects")}`,
        clock,
        ids: createSequentialIds(),
        logger: silentLogger,
        env: {},
      });
      const next = createLcg(1);
      const rows = ["x,city,y"];
      for (let i = 0; i < 600; i++) {
        const x = next() * 100;
        rows.push(`${x},${CITIES[i % 3]},${x / 10}`);
      }
      writeFileSync(join(tmp.path, "ref.csv"), rows.join("\n") + "\n");
      await createDataService(ws).add("ref.csv", { name: "ref" });
      const registry = createRegistryService(
        { ...ws, events: createRegistryEvents() },
        { actor: "t", role: "admin" },
      );
      await registry.createModel("price");
      const blob = await ws.blobs.put(Buffer.from("model"));
      await registry.createVersion("price", { blobId: blob.id, metrics: { rmse: 1 } });
      monitors = createMonitorService(ws, { actor: "tester" });
    });
    afterAll(async () => {
      await ws.close();
      tmp.remove();
    });

    it("validates specs and stores them canonically", async () => {
      const bad = await monitors
        .upsert({ name: "x", reference: "dataset:ref@1", window: {} })
        .catch((e: unknown) => e);
      expect(isLoopmlError(bad, "INVALID_ARGUMENT")).toBe(true);
      const badRule = await monitors
        .upsert({
          name: "x",
          model: "price",
          reference: "dataset:ref@1",
          window: { rows: 10 },
          alerts: [{ when: "drift >= 1" }],
        })
        .catch((e: unknown) => e);
      expect(isLoopmlError(badRule, "INVALID_ARGUMENT")).toBe(true);
      const m = await monitors.upsert({
        name: "price-mon",
        model: "price",
        reference: "dataset:ref@1",
        target: "y",
        window: { rows: 400 },
        alerts: [
          { when: "drift_share >= 0.3 for 2 consecutive windows", severity: "warning" },
          { when: "rmse > 1.2 * validation.rmse", severity: "critical" },
        ],
      });
      expect(m.spec.window).toEqual({ rows: 400 });
      expect((await monitors.list()).map((x) => x.spec.name)).toEqual(["price-mon"]);
    });

    it("reports an empty window as not enough data, without alarms", async () => {
      const r = await monitors.run("price-mon");
      expect(r.status).toBe("not_enough_data");
      expect(r.check.dataset).toBeNull();
      expect(r.alerts).toEqual([]);
      expect(r.seq).toBe(1);
    });

    it("fires a drift alert after two consecutive drifted windows, once, and reports new categories", async () => {
      await logBatch(ws, 0, 400, { shift: 60, kyiv: true });
      clock.advance(60_000);
      const first = await monitors.run("price-mon");
      expect(first.status).toBe("drift");
      expect(first.check.dataset?.share).toBe(1);
      const city = first.check.columns.find((c) => c.column === "city")!;
      expect(city.newCategories).toEqual(["Kyiv"]);
      expect(first.check.columns.find((c) => c.column === "x")!.outOfRange!.above).toBeGreaterThan(0);
      expect(first.check.prediction?.result?.drifted).toBe(true);
      expect(first.alerts).toEqual([]);
      const second = await monitors.run("price-mon");
      expect(second.alerts.map((a) => [a.rule, a.transition, a.window])).toEqual([
        ["drift_share >= 0.3 for 2 consecutive windows", "fire", 3],
      ]);
      const third = await monitors.run("price-mon");
      expect(third.alerts).toEqual([]);
      const events = await ws.audit.list({ action: "monitor.alert", target: "monitor:price-mon" });
      expect(events).toHaveLength(1);
      expect(events[0]!.details).toMatchObject({
        rule: "drift_share >= 0.3 for 2 consecutive windows",
        severity: "warning",
        window: 3,
        value: 1,
      });
      expect((await monitors.alerts("price-mon")).find((a) => a.rule.startsWith("drift"))?.state).toBe(
        "firing",
      );
    });

    it("joins late labels by request id, reports RMSE with an interval and decay, counts unknown ids", async () => {
      clock.advance(3_600_000);
      const next = createLcg(3);
      const labels = Array.from({ length: 300 }, (_, i) => ({
        requestId: `r${i}`,
        // Predictions are x/10; labels are off by about ±2, so RMSE ≈ 2 > 1.2 × validation RMSE of 1.
        label: (next() * 100 + 60) / 10 + (next() < 0.5 ? -2 : 2),
      }));
      const fb = await recordFeedback(ws, {
        model: "price",
        labels: [...labels, { requestId: "nope-1", label: 1 }, { requestId: "nope-2", label: "2" }],
      });
      expect(fb).toMatchObject({ accepted: 302, unknown: 2, unknownIds: ["nope-1", "nope-2"] });
      const r = await monitors.run("price-mon");
      expect(r.labels).toEqual({ labelled: 300, unlabelled: 100, unknown: 2 });
      const rmse = r.performance!.metrics.rmse!;
      expect(r.performance!.task).toBe("regression");
      expect(rmse.low).toBeLessThanOrEqual(rmse.value);
      expect(rmse.high).toBeGreaterThanOrEqual(rmse.value);
      expect(rmse.validation).toBe(1);
      expect(rmse.change).toBeCloseTo(rmse.value - 1, 12);
      expect(r.alerts.map((a) => [a.rule, a.transition, a.severity])).toEqual([
        ["rmse > 1.2 * validation.rmse", "fire", "critical"],
      ]);
    });

    it("resolves the drift alert once the data is back, and reports a missing column as schema drift", async () => {
      await logBatch(ws, 10_000, 400, { noCity: true });
      clock.advance(60_000);
      const r = await monitors.run("price-mon");
      expect(r.check.schema.missingColumns).toEqual(["city"]);
      expect(r.status).toBe("schema_drift");
      expect(r.alerts.map((a) => [a.rule, a.transition])).toContainEqual([
        "drift_share >= 0.3 for 2 consecutive windows",
        "resolve",
      ]);
      const resolved = await ws.audit.list({ action: "monitor.alert.resolved", target: "monitor:price-mon" });
      expect(resolved).toHaveLength(1);
    });

    it("follows a deployment to the model it serves", async () => {
      await createDeploymentService(ws).upsert({ name: "web", model: "price@production" });
      await monitors.upsert({
        name: "web-mon",
        deployment: "web",
        reference: "dataset:ref@1",
        window: { rows: 100 },
      });
      const r = await monitors.run("web-mon");
      expect(r.window).toMatchObject({ source: "model:price", rows: 100, modelVersions: [1] });
      await monitors.remove("web-mon");
    });

    it("runs scheduled monitors when their cron time has passed", async () => {
      await monitors.upsert({
        name: "hourly",
        model: "price",
        reference: "dataset:ref@1",
        window: { rows: 50 },
        schedule: "0 * * * *",
      });
      expect((await monitors.runDue()).map((r) => r.monitor)).toEqual(["hourly"]);
      expect(await monitors.runDue()).toEqual([]);
      clock.advance(3_600_000);
      expect((await monitors.runDue()).map((r) => [r.monitor, r.seq])).toEqual([["hourly", 2]]);
      await monitors.remove("hourly");
    });

    it("keeps every window's result and removes a monitor", async () => {
      const history = await monitors.history("price-mon");
      expect(history.map((h) => h.seq)).toEqual([6, 5, 4, 3, 2, 1]);
      expect(history.at(-1)!.status).toBe("not_enough_data");
      const stored = await monitors.result("price-mon", 2);
      expect(stored.check.columns.map((c) => c.column)).toEqual(["x", "city"]);
      await monitors.remove("price-mon");
      const gone = await monitors.get("price-mon").catch((e: unknown) => e);
      expect(isLoopmlError(gone, "NOT_FOUND")).toBe(true);
    });
  });
}
