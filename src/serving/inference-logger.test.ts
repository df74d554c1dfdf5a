// The inference logger on its own: what it hands the writer (packed ids, columns by type), and that the store reads back every row.
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createSequentialIds } from "../_internal/clock.ts";
import { makeTempDir } from "../../test/setup/tmp.ts";
import { isLoopmlError } from "../errors.ts";
import { openWorkspace, type Workspace } from "../workspace.ts";
import { appendInferenceLog, readInferenceLog, type InferenceRecords } from "./inference-log.ts";
import { createInferenceLogger, type LoggedModel } from "./inference-logger.ts";
import type { Batch } from "./types.ts";

const model: LoggedModel = {
  name: "churn",
  version: 2,
  signature: {
    inputs: [
      { name: "age", type: "double", nullable: true },
      { name: "plan", type: "string", nullable: true },
      { name: "spend", type: "double", nullable: true },
    ],
    task: "binary",
    nClasses: 2,
  },
};

/** `n` rows: age = base + i, plan alternating, spend missing on odd rows. */
function rows(base: number, n: number): Batch {
  const values = new Float64Array(n * 3);
  const plan: (string | null)[] = [];
  for (let i = 0; i < n; i++) {
    values[i * 3] = base + i;
    values[i * 3 + 1] = NaN;
    values[i * 3 + 2] = i % 2 ? NaN : (base + i) / 10;
    plan.push(i % 3 === 2 ? null : i % 2 ? "pro" : "free");
  }
  return { nRows: n, values, strings: [null, plan, null] };
}

function result(n: number, base: number): { predictions: Float64Array; probabilities: Float64Array } {
  const probabilities = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    probabilities[i * 2 + 1] = ((base + i) % 10) / 10;
    probabilities[i * 2] = 1 - (probabilities[i * 2 + 1] as number);
  }
  return { predictions: Float64Array.from({ length: n }, (_, i) => (base + i) % 2), probabilities };
}

describe("inference logger", () => {
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

  it("hands over columnar batches with packed ids, and the store reads back every row as logged", async () => {
    const handed: InferenceRecords[] = [];
    // flushRows above the first batch's capacity (1024): the columns must grow without losing rows.
    const logger = createInferenceLogger(
      async (records) => {
        handed.push(records);
        await appendInferenceLog(ws, records);
      },
      { sampleRate: 1, maxBufferedRows: 10_000, flushRows: 3000, flushIntervalMs: 60_000 },
    );
    const ids: string[] = [];
    let t = 1_700_000_000_000;
    for (let r = 0; r < 1500; r++) {
      // Single rows with ASCII and non-ASCII ids, and a three-row request every 50.
      const id = r % 7 === 0 ? `café-${r}-✓` : `req-${r}`;
      const n = r % 50 === 0 ? 3 : 1;
      logger.log(model, rows(r, n), result(n, r), id, ++t);
      for (let i = 0; i < n; i++) ids.push(n === 1 ? id : `${id}:${i}`);
    }
    expect(logger.bufferedRows).toBe(ids.length);
    await logger.flush();
    expect(logger.bufferedRows).toBe(0);

    expect(handed).toHaveLength(1);
    const batch = handed[0] as InferenceRecords;
    expect(batch.packedRequestIds?.ends).toHaveLength(ids.length);
    expect(batch.requestIds).toEqual(ids);
    expect(Object.keys(batch.inputs)).toEqual(["age", "plan", "spend"]);
    expect(batch.inputs["age"]).toBeInstanceOf(Float64Array);
    expect(Array.isArray(batch.inputs["plan"])).toBe(true);

    const frame = await readInferenceLog(ws, { model: "churn" });
    expect(frame.rows).toBe(ids.length);
    expect(frame.requestIds).toEqual(ids);
    expect(Array.from(frame.versions.subarray(0, 3))).toEqual([2, 2, 2]);
    const age = frame.columns["age"] as Float64Array;
    const spend = frame.columns["spend"] as Float64Array;
    const plan = frame.columns["plan"] as (string | null)[];
    // Row 0 is a three-row request (ages 0, 1, 2), then one row per request from age 1.
    expect(Array.from(age.subarray(0, 5))).toEqual([0, 1, 2, 1, 2]);
    expect(spend[0]).toBe(0);
    expect(Number.isNaN(spend[1])).toBe(true);
    expect(plan.slice(0, 4)).toEqual(["free", "pro", null, "free"]);
    expect(frame.predictions[4]).toBe(0);
    expect(frame.probabilities?.[4]).toBeCloseTo(0.2, 12);
    expect(frame.ts[frame.rows - 1]).toBe(t);
  });

  it("drops and counts rows beyond the buffer, and writes the rest per model version", async () => {
    const outcomes: Record<string, number> = {};
    const handed: InferenceRecords[] = [];
    const logger = createInferenceLogger(
      (records) => Promise.resolve(void handed.push(records)),
      { sampleRate: 1, maxBufferedRows: 5, flushRows: 100, flushIntervalMs: 60_000 },
      { onRows: (_m, outcome, n) => (outcomes[outcome] = (outcomes[outcome] ?? 0) + n) },
    );
    const other: LoggedModel = { ...model, version: 3 };
    for (let r = 0; r < 4; r++) logger.log(r % 2 ? other : model, rows(r, 1), result(1, r), `r${r}`, r);
    logger.log(model, rows(9, 3), result(3, 9), "big", 9);
    expect(outcomes).toEqual({ dropped: 3 });
    await logger.close();
    expect(outcomes).toEqual({ dropped: 3, written: 4 });
    expect(handed.map((h) => [h.version, h.requestIds])).toEqual([
      [2, ["r0", "r2"]],
      [3, ["r1", "r3"]],
    ]);
  });

  it("refuses packed ids that do not fit their bytes", async () => {
    const bad: InferenceRecords = {
      model: "churn",
      version: 1,
      requestIds: [],
      packedRequestIds: { bytes: Buffer.from("ab"), ends: Uint32Array.from([1, 5]) },
      ts: new Float64Array(2),
      inputs: {},
      predictions: new Float64Array(2),
    };
    const e = await appendInferenceLog(ws, bad).catch((x: unknown) => x);
    expect(isLoopmlError(e, "INVALID_ARGUMENT")).toBe(true);
    expect((await readInferenceLog(ws, { model: "churn" })).rows).toBe(0);
  });
});
