// Inference-log retention: whole batches go (row, blob, one audit event), monitors' windows read the same rows before and after.
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createSequentialIds } from "../_internal/clock.ts";
import { makeTempDir } from "../../test/setup/tmp.ts";
import { isLoopmlError } from "../errors.ts";
import { recordFeedback } from "../monitoring/feedback.ts";
import { openWorkspace, type Workspace } from "../workspace.ts";
import { appendInferenceLog, readInferenceLog } from "./inference-log.ts";
import { pruneInferenceLog, retentionAge } from "./log-retention.ts";

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 1);

describe("inference-log retention", () => {
  const tmp = makeTempDir();
  let ws: Workspace;
  beforeEach(async () => {
    ws = await openWorkspace({
      dir: join(tmp.path, String(Math.random())),
      ids: createSequentialIds(),
      logLevel: "silent",
    });
  });
  afterEach(async () => {
    await ws.close();
  });

  /** `n` rows of `model` from `from` ms, one second apart. */
  async function log(model: string, version: number, from: number, n: number): Promise<void> {
    const ts = Float64Array.from({ length: n }, (_, i) => from + i * 1000);
    await appendInferenceLog(ws, {
      model,
      version,
      requestIds: Array.from(ts, (t) => `${model}-${version}-${t}`),
      ts,
      inputs: { x: Float64Array.from(ts, (t) => t / 1000) },
      predictions: new Float64Array(n),
    });
  }

  async function blobsOf(model: string): Promise<string[]> {
    const rows = await ws.store.db
      .selectFrom("inference_log_batches")
      .select("blob_id")
      .where("model", "=", model)
      .execute();
    return rows.map((r) => r.blob_id);
  }

  it("deletes batches older than maxAge with their blobs and one audit event; other models stay", async () => {
    for (let d = 0; d < 10; d++) await log("churn", 1, T0 + d * DAY, 10);
    await log("fraud", 1, T0, 10);
    const before = await blobsOf("churn");
    const now = T0 + 10 * DAY;
    const report = await pruneInferenceLog(ws, "churn", { maxAgeMs: retentionAge("7d") }, [], { now });
    // Days 0–2 end more than 7 days before now; day 3's newest row is 7 days minus 9 s old.
    expect(report).toMatchObject({ model: "churn", batches: 3, rows: 30, blobs: 3, keptForMonitors: 0 });
    const after = await blobsOf("churn");
    expect(after).toEqual(before.slice(3));
    for (const id of before.slice(0, 3)) expect(await ws.blobs.has(id)).toBe(false);
    for (const id of after) expect(await ws.blobs.has(id)).toBe(true);
    const frame = await readInferenceLog(ws, { model: "churn" });
    expect(frame.rows).toBe(70);
    expect(frame.ts[0]).toBe(T0 + 3 * DAY);
    expect((await readInferenceLog(ws, { model: "fraud" })).rows).toBe(10);
    const events = await ws.audit.list({ targetPrefix: "model:churn" });
    expect(events.map((e) => e.action)).toEqual(["inference-log.prune"]);
    expect(events[0]?.details).toMatchObject({ batches: 3, rows: 30 });
    // Nothing left to prune: no second event.
    expect((await pruneInferenceLog(ws, "churn", { maxAgeMs: 7 * DAY }, [], { now })).batches).toBe(0);
    expect(await ws.audit.list({ targetPrefix: "model:churn" })).toHaveLength(1);
    expect((await ws.audit.verify()).ok).toBe(true);
  });

  it("keeps the newest maxRows rows, whole batches only", async () => {
    for (let b = 0; b < 5; b++) await log("churn", 1, T0 + b * 60_000, 10);
    const report = await pruneInferenceLog(ws, "churn", { maxRows: 25 }, [], { now: T0 + DAY });
    // The third-newest batch holds rows 21–30 of the newest: it stays whole.
    expect(report).toMatchObject({ batches: 2, rows: 20 });
    expect((await readInferenceLog(ws, { model: "churn" })).rows).toBe(30);
  });

  it("never deletes what a monitor's current window reads, with overlapping batches of two versions", async () => {
    // Primary and canary log side by side: their batches overlap in time.
    for (let b = 0; b < 6; b++) {
      await log("churn", 1, T0 + b * 10_000, 10);
      await log("churn", 2, T0 + b * 10_000 + 500, 4);
    }
    const now = T0 + DAY;
    const windows = [
      { monitor: "by-rows", rows: 30 },
      { monitor: "by-span", spanMs: now - (T0 + 45_000) },
    ];
    const readRows = await readInferenceLog(ws, { model: "churn", limit: 30 });
    const readSpan = await readInferenceLog(ws, { model: "churn", since: T0 + 45_000, until: now + 1 });
    const report = await pruneInferenceLog(ws, "churn", { maxAgeMs: 1000 }, windows, { now });
    expect(report.batches).toBeGreaterThan(0);
    expect(report.keptForMonitors).toBeGreaterThan(0);
    expect(report.keptBy).toEqual(["by-rows", "by-span"]);
    expect(await readInferenceLog(ws, { model: "churn", limit: 30 })).toEqual(readRows);
    expect(await readInferenceLog(ws, { model: "churn", since: T0 + 45_000, until: now + 1 })).toEqual(
      readSpan,
    );
    const event = (await ws.audit.list({ targetPrefix: "model:churn" }))[0];
    expect(event?.details).toMatchObject({ keptBy: ["by-rows", "by-span"] });
  });

  it("keeps predictions whose late labels may still arrive while the model receives labels", async () => {
    // One batch a day for 40 days, 10 rows each; labels arrive for day 38's predictions.
    for (let d = 0; d < 40; d++) await log("churn", 1, T0 + d * DAY, 10);
    for (let d = 0; d < 40; d++) await log("fraud", 1, T0 + d * DAY, 10);
    const now = T0 + 40 * DAY;
    ws.clock.now = () => now;
    const labelled = await recordFeedback(ws, {
      model: "churn",
      labels: [{ requestId: `churn-1-${T0 + 38 * DAY}`, label: 1 }],
    });
    expect(labelled.unknown).toBe(0);

    const report = await pruneInferenceLog(ws, "churn", { maxRows: 10 }, [], { now });
    // The default window (30 days, the feedback lookback): days 10–38 wait for labels, day 39 is within maxRows.
    expect(report).toMatchObject({ batches: 10, rows: 100, keptForLabels: 29 });
    const kept = await readInferenceLog(ws, { model: "churn" });
    expect(kept.ts[0]).toBe(T0 + 10 * DAY);
    // A label arriving now for a 29-day-old prediction still finds it.
    const late = await recordFeedback(ws, {
      model: "churn",
      labels: [{ requestId: `churn-1-${T0 + 11 * DAY}`, label: 0 }],
    });
    expect(late.unknown).toBe(0);
    const event = (await ws.audit.list({ targetPrefix: "model:churn" })).find(
      (e) => e.action === "inference-log.prune",
    );
    expect(event?.details).toMatchObject({ keptForLabels: 29 });

    // A shorter window keeps less; 0 turns it off.
    expect(
      await pruneInferenceLog(ws, "churn", { maxRows: 10, labelWindowMs: 5 * DAY }, [], { now }),
    ).toMatchObject({ batches: 25, keptForLabels: 4 });
    expect(
      await pruneInferenceLog(ws, "churn", { maxRows: 10, labelWindowMs: 0 }, [], { now }),
    ).toMatchObject({
      batches: 4,
      keptForLabels: 0,
    });
    // A model that receives no labels keeps only its limits.
    expect(await pruneInferenceLog(ws, "fraud", { maxRows: 10 }, [], { now })).toMatchObject({
      batches: 39,
      keptForLabels: 0,
    });
  });

  it("refuses a retention without limits or with bad ones", async () => {
    for (const bad of [{}, { maxRows: 0 }, { maxAgeMs: -1 }, { maxRows: 5, labelWindowMs: -1 }]) {
      const e: unknown = await pruneInferenceLog(ws, "churn", bad).catch((x: unknown) => x);
      expect(isLoopmlError(e) && e.code).toBe("INVALID_ARGUMENT");
    }
    expect(() => retentionAge("7 days")).toThrow(/span like "36h"/);
    expect(retentionAge(90)).toBe(90_000);
    expect(retentionAge("2w")).toBe(14 * DAY);
  });
});
