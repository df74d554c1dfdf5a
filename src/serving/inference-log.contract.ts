// The inference log's behaviour, registered once and run against every metadata backend.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSequentialIds } from "../_internal/clock.ts";
import { makeTempDir } from "../../test/setup/tmp.ts";
import { isLoopmlError } from "../errors.ts";
import { openWorkspace, type Workspace } from "../workspace.ts";
import { appendInferenceLog, readInferenceLog, type InferenceRecords } from "./inference-log.ts";

const T0 = Date.UTC(2026, 10, 27, 6, 0, 0);

function batch(
  version: number,
  start: number,
  n: number,
  extra: Partial<InferenceRecords> = {},
): InferenceRecords {
  const ts = new Float64Array(n);
  const age = new Float64Array(n);
  const plan: (string | null)[] = [];
  const predictions = new Float64Array(n);
  const probabilities = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    ts[i] = T0 + (start + i) * 1000;
    age[i] = i === 1 ? NaN : 20 + start + i;
    plan.push(i % 3 === 0 ? null : i % 2 ? "pro" : "free");
    predictions[i] = (start + i) % 2;
    probabilities[i] = ((start + i) % 10) / 10;
  }
  return {
    model: "churn",
    version,
    requestIds: Array.from({ length: n }, (_, i) => `r${start + i}`),
    ts,
    inputs: { age, plan },
    predictions,
    probabilities,
    ...extra,
  };
}

export function testInferenceLog(name: string, freshStore: () => Promise<string>): void {
  describe(`inference log: ${name}`, () => {
    const tmp = makeTempDir();
    let ws: Workspace;
    beforeAll(async () => {
      ws = await openWorkspace({
        dir: tmp.path,
        store: await freshStore(),
        artifacts: `file:${join(tmp.path, "objects")}`,
        ids: createSequentialIds(),
      });
    });
    afterAll(async () => {
      await ws.close();
      tmp.remove();
    });

    it("round-trips columnar batches, in time order across versions", async () => {
      // Stored out of order on purpose: the second batch is older than the first.
      await appendInferenceLog(ws, batch(2, 10, 5));
      await appendInferenceLog(ws, batch(1, 0, 4));
      await appendInferenceLog(ws, { ...batch(1, 0, 0) });
      const f = await readInferenceLog(ws, { model: "churn" });
      expect(f.rows).toBe(9);
      expect(f.requestIds).toEqual(["r0", "r1", "r2", "r3", "r10", "r11", "r12", "r13", "r14"]);
      expect(Array.from(f.versions)).toEqual([1, 1, 1, 1, 2, 2, 2, 2, 2]);
      expect(f.ts[4]).toBe(T0 + 10_000);
      const age = f.columns["age"] as Float64Array;
      expect(age).toBeInstanceOf(Float64Array);
      expect(age[0]).toBe(20);
      expect(Number.isNaN(age[1])).toBe(true);
      expect(f.columns["plan"]).toEqual(
        ["null", "pro", "free", null, "null", "pro", "free", null, "free"].map((v) =>
          v === "null" ? null : v,
        ),
      );
      expect(Array.from(f.predictions)).toEqual([0, 1, 0, 1, 0, 1, 0, 1, 0]);
      expect(f.probabilities?.[3]).toBeCloseTo(0.3, 12);
    });

    it("filters by version and time window, and keeps the newest rows under a limit", async () => {
      const v1 = await readInferenceLog(ws, { model: "churn", version: 1 });
      expect(v1.requestIds).toEqual(["r0", "r1", "r2", "r3"]);
      const window = await readInferenceLog(ws, { model: "churn", since: T0 + 2000, until: T0 + 11_000 });
      expect(window.requestIds).toEqual(["r2", "r3", "r10"]);
      const newest = await readInferenceLog(ws, { model: "churn", limit: 3 });
      expect(newest.requestIds).toEqual(["r12", "r13", "r14"]);
      const spanning = await readInferenceLog(ws, { model: "churn", limit: 6 });
      expect(spanning.requestIds).toEqual(["r3", "r10", "r11", "r12", "r13", "r14"]);
      const none = await readInferenceLog(ws, { model: "other" });
      expect(none.rows).toBe(0);
      expect(none.ts).toHaveLength(0);
    });

    it("fills columns missing from a batch and omits probabilities unless every batch has them", async () => {
      const b = batch(3, 100, 2, { model: "fraud", inputs: { amount: [5, NaN] } });
      delete b.probabilities;
      await appendInferenceLog(ws, b);
      await appendInferenceLog(
        ws,
        batch(3, 200, 2, { model: "fraud", inputs: { amount: [1, 2], country: ["fr", null] } }),
      );
      const f = await readInferenceLog(ws, { model: "fraud" });
      expect(f.probabilities).toBeUndefined();
      expect(Array.from(f.columns["amount"] as Float64Array)).toEqual([5, NaN, 1, 2]);
      expect(f.columns["country"]).toEqual([null, null, "fr", null]);
    });

    it("still reads batches stored in the first format (ids in the JSON header) next to new ones", async () => {
      // A LIL1 blob as earlier versions wrote it: magic, header length, padded JSON header, Float64 sections.
      let json = JSON.stringify({
        rows: 2,
        requestIds: ["old-0", "old-1"],
        numeric: ["age"],
        strings: { plan: ["pro", null] },
        probabilities: false,
      });
      json += " ".repeat((8 - (json.length % 8)) % 8);
      const floats = Float64Array.from([T0 - 2000, T0 - 1000, 1, 0, 30, NaN]);
      const bytes = Buffer.concat([
        Buffer.from("LIL1", "latin1"),
        Buffer.from(Uint32Array.from([json.length]).buffer),
        Buffer.from(json),
        Buffer.from(floats.buffer),
      ]);
      const { id } = await ws.blobs.put(bytes);
      await ws.store.transaction(async (tx) => {
        await tx
          .insertInto("inference_log_batches")
          .values({
            id: "old-batch",
            model: "legacy",
            version: 1,
            rows: 2,
            ts_min: T0 - 2000,
            ts_max: T0 - 1000,
            blob_id: id,
            created_at: T0,
          })
          .execute();
      });
      await appendInferenceLog(ws, batch(2, 0, 2, { model: "legacy", inputs: { age: [40, 41] } }));
      const f = await readInferenceLog(ws, { model: "legacy" });
      expect(f.requestIds).toEqual(["old-0", "old-1", "r0", "r1"]);
      expect(Array.from(f.versions)).toEqual([1, 1, 2, 2]);
      expect(Array.from(f.predictions)).toEqual([1, 0, 0, 1]);
      expect(Array.from(f.columns["age"] as Float64Array)).toEqual([30, NaN, 40, 41]);
      expect(f.columns["plan"]).toEqual(["pro", null, null, null]);
    });

    it("rejects malformed batches with INVALID_ARGUMENT and stores nothing", async () => {
      const bad = batch(1, 300, 3, { model: "bad" });
      bad.predictions = new Float64Array(2);
      const err = await appendInferenceLog(ws, bad).catch((e: unknown) => e);
      expect(isLoopmlError(err, "INVALID_ARGUMENT")).toBe(true);
      expect((err as Error).message).toMatch(/predictions has 2 rows but there are 3/);
      const zero = await appendInferenceLog(ws, batch(0, 300, 1, { model: "bad" })).catch((e: unknown) => e);
      expect(isLoopmlError(zero, "INVALID_ARGUMENT")).toBe(true);
      expect((await readInferenceLog(ws, { model: "bad" })).rows).toBe(0);
      const noModel = await readInferenceLog(ws, { model: "" }).catch((e: unknown) => e);
      expect(isLoopmlError(noModel, "INVALID_ARGUMENT")).toBe(true);
    });
  });
}
