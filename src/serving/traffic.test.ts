// Traffic features of the server in process: inference logging (sampling, bounded buffer), canary split, shadow copies, automatic rollback, explanations.
import Fastify, { type FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { frameFromColumns } from "../learn/frame.ts";
import { gbdt } from "../learn/gbdt/index.ts";
import type { InferenceRecords } from "./inference-log.ts";
import type { Endpoint } from "./models.ts";
import type { RollbackReport } from "./canary-guard.ts";
import { loadRuntime } from "./runtimes/load.ts";
import { registerServingRoutes, type ServingHandle, type ServingOptions } from "./server.ts";
import type { Batch, ModelRuntime, PredictResult } from "./types.ts";

/** A two-input regression model that answers a constant, optionally failing or slow. */
function constant(value: number, behaviour: { fail?: boolean; delayMs?: number } = {}): ModelRuntime {
  return {
    kind: "test",
    signature: {
      inputs: [
        { name: "a", type: "double", nullable: true },
        { name: "b", type: "string", nullable: true },
      ],
      task: "regression",
      nClasses: 1,
    },
    predict(batch: Batch): PredictResult {
      if (behaviour.fail) throw new Error("canary is broken");
      if (behaviour.delayMs) {
        const until = performance.now() + behaviour.delayMs;
        while (performance.now() < until);
      }
      return { predictions: new Float64Array(batch.nRows).fill(value) };
    },
  };
}

let app: FastifyInstance;
let handle: ServingHandle;
afterEach(async () => {
  await handle.close();
  await app.close();
});

async function start(options: Partial<ServingOptions> & Pick<ServingOptions, "models">): Promise<void> {
  app = Fastify();
  handle = await registerServingRoutes(app, options);
}

async function predict(
  payload: unknown,
  headers: Record<string, string> = {},
  url = "/v1/models/churn/predict",
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await app.inject({ method: "POST", url, payload: payload as string, headers });
  return { status: res.statusCode, body: res.json<Record<string, unknown>>() };
}

const ROW = { instances: [{ a: 1.5, b: "x" }] };

async function metric(name: string): Promise<number> {
  const text = (await app.inject({ method: "GET", url: "/metrics" })).body;
  const line = text.split("\n").find((l) => l.startsWith(name));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

describe("inference logging", () => {
  it("logs every answered row as columnar batches, multi-row requests as id:i", async () => {
    const written: InferenceRecords[] = [];
    await start({
      models: [{ name: "churn", version: "4", runtime: constant(7) }],
      inferenceLog: { write: (r) => Promise.resolve(void written.push(r)) },
    });
    for (let i = 0; i < 3; i++) expect((await predict(ROW, { "x-request-id": `q${i}` })).status).toBe(200);
    await predict({ inputs: { a: [1, null], b: ["y", null] } }, { "x-request-id": "multi" });
    await handle.logger?.flush();
    expect(written).toHaveLength(1);
    const r = written[0] as InferenceRecords;
    expect(r.model).toBe("churn");
    expect(r.version).toBe(4);
    expect(r.requestIds).toEqual(["q0", "q1", "q2", "multi:0", "multi:1"]);
    expect(Array.from(r.inputs["a"] as Float64Array)).toEqual([1.5, 1.5, 1.5, 1, NaN]);
    expect(r.inputs["b"]).toEqual(["x", "x", "x", "y", null]);
    expect(Array.from(r.predictions)).toEqual([7, 7, 7, 7, 7]);
    expect(await metric('loopml_serving_inference_log_rows_total{model="churn",outcome="written"}')).toBe(5);
  });

  it("samples requests, and never blocks or fails a prediction when the buffer is full or writes fail", async () => {
    let calls = 0;
    const stuck: (() => void)[] = [];
    await start({
      models: [{ name: "churn", version: "1", runtime: constant(1), sampleRate: 0.5 }],
      // A store that never answers: the buffer fills and stays full.
      inferenceLog: {
        write: () => {
          calls++;
          return new Promise<void>((resolve) => stuck.push(resolve));
        },
        options: { maxBufferedRows: 20, flushRows: 5 },
      },
    });
    for (let i = 0; i < 200; i++) expect((await predict(ROW)).status).toBe(200);
    const dropped = await metric('loopml_serving_inference_log_rows_total{model="churn",outcome="dropped"}');
    // About half are sampled; 20 are held (waiting on the stuck store), the rest dropped.
    expect(dropped).toBeGreaterThan(40);
    expect(dropped).toBeLessThan(160);
    expect(handle.logger?.bufferedRows).toBe(20);
    expect(await metric("loopml_serving_inference_log_buffered_rows")).toBe(20);
    expect(calls).toBeGreaterThan(0);
    for (const release of stuck) release();
  });

  it("counts failed writes and keeps answering", async () => {
    const errors: string[] = [];
    await start({
      models: [{ name: "churn", version: "1", runtime: constant(1) }],
      inferenceLog: { write: () => Promise.reject(new Error("disk full")), options: { flushRows: 2 } },
      onBackgroundError: (what, e) => errors.push(`${what}: ${(e as Error).message}`),
    });
    for (let i = 0; i < 4; i++) expect((await predict(ROW)).status).toBe(200);
    await handle.logger?.flush();
    expect(await metric('loopml_serving_inference_log_rows_total{model="churn",outcome="failed"}')).toBe(4);
    expect(errors[0]).toBe("inference log write: disk full");
  });
});

describe("canary and shadow", () => {
  it("splits traffic by weight, sticky by the routing key", async () => {
    await start({
      models: [
        {
          name: "churn",
          version: "1",
          runtime: constant(1),
          canary: { version: "2", runtime: constant(2), weight: 0.3 },
        },
      ],
    });
    let canary = 0;
    for (let i = 0; i < 300; i++) {
      const { body } = await predict(ROW);
      if (body["model_version"] === "2") canary++;
      expect(body["predictions"]).toEqual([body["model_version"] === "2" ? 2 : 1]);
    }
    expect(canary).toBeGreaterThan(50);
    expect(canary).toBeLessThan(130);
    // One key: always the same side. Many keys: both sides.
    const sides = new Set<unknown>();
    for (let i = 0; i < 20; i++)
      sides.add((await predict(ROW, { "x-loopml-key": "user-42" })).body["model_version"]);
    expect(sides.size).toBe(1);
    const spread = new Set<unknown>();
    for (let i = 0; i < 60; i++)
      spread.add((await predict(ROW, { "x-loopml-key": `user-${i}` })).body["model_version"]);
    expect(spread).toEqual(new Set(["1", "2"]));
    // An explicit version reaches the canary whatever the split.
    expect((await predict(ROW, {}, "/v1/models/churn/versions/2/predict")).body["predictions"]).toEqual([2]);
  });

  it("sends a copy to the shadow, logs its answers under its own version, and never returns them", async () => {
    const written: InferenceRecords[] = [];
    await start({
      models: [
        { name: "churn", version: "1", runtime: constant(1), shadow: { version: "9", runtime: constant(9) } },
      ],
      inferenceLog: { write: (r) => Promise.resolve(void written.push(r)) },
    });
    for (let i = 0; i < 5; i++) {
      const { body } = await predict(ROW, { "x-request-id": `r${i}` });
      expect(body["predictions"]).toEqual([1]);
      expect(body["model_version"]).toBe("1");
    }
    await new Promise((r) => setImmediate(r));
    await handle.logger?.flush();
    const byVersion = new Map(written.map((w) => [w.version, w]));
    expect(byVersion.get(1)?.requestIds).toEqual(["r0", "r1", "r2", "r3", "r4"]);
    expect(byVersion.get(9)?.requestIds).toEqual(["r0", "r1", "r2", "r3", "r4"]);
    expect(Array.from(byVersion.get(9)?.predictions ?? [])).toEqual([9, 9, 9, 9, 9]);
  });

  it("rolls a failing canary back automatically and reports it", async () => {
    const rollbacks: RollbackReport[] = [];
    await start({
      models: [
        {
          name: "churn",
          version: "1",
          runtime: constant(1),
          canary: { version: "2", runtime: constant(2, { fail: true }), weight: 0.5 },
          rollback: { maxErrorRateDelta: 0.05, maxP99Ratio: 3 },
        },
      ],
      onRollback: (_e: Endpoint, report) => rollbacks.push(report),
    });
    const statuses: number[] = [];
    for (let i = 0; i < 200; i++) statuses.push((await predict(ROW)).status);
    expect(rollbacks).toHaveLength(1);
    expect(rollbacks[0]).toMatchObject({ endpoint: "churn", canaryVersion: "2", reason: "error-rate" });
    expect(rollbacks[0]?.canary.errorRate).toBe(1);
    // After the rollback every request succeeds on the primary.
    expect(statuses.slice(-100).every((s) => s === 200)).toBe(true);
    expect(handle.models.endpoint("churn").canary).toBeNull();
    expect(await metric('loopml_serving_canary_rollbacks_total{model="churn",reason="error-rate"}')).toBe(1);
  });

  it("rolls a slow canary back on p99 latency", async () => {
    const rollbacks: RollbackReport[] = [];
    await start({
      models: [
        {
          name: "churn",
          version: "1",
          runtime: constant(1),
          // Far slower than any scheduling noise of a loaded CI machine, so the p99 ratio is unambiguous.
          canary: { version: "2", runtime: constant(2, { delayMs: 25 }), weight: 0.5 },
          rollback: { maxErrorRateDelta: 0.05, maxP99Ratio: 2 },
        },
      ],
      onRollback: (_e, report) => rollbacks.push(report),
    });
    for (let i = 0; i < 150 && rollbacks.length === 0; i++) expect((await predict(ROW)).status).toBe(200);
    expect(rollbacks[0]?.reason).toBe("latency");
    expect(rollbacks[0]?.canary.p99Ms).toBeGreaterThan(24.9);
  });
});

describe("explanations", () => {
  it('returns TreeSHAP contributions with "explain": true that add up to the margin', async () => {
    const n = 300;
    const x = Array.from({ length: n }, (_, i) => Math.sin(i * 1.7) * 2);
    const city = Array.from({ length: n }, (_, i) => ["a", "b", "c"][i % 3] as string);
    const y = x.map((v, i) => 3 * v + (city[i] === "b" ? 2 : 0));
    const model = gbdt({ objective: "regression", nRounds: 10, maxDepth: 3, seed: 1 }).fit(
      frameFromColumns({ x, city, y }),
      "y",
    );
    const runtime = loadRuntime(JSON.parse(JSON.stringify(model.toJSON())));
    await start({ models: [{ name: "churn", runtime }] });
    const { status, body } = await predict({
      instances: [
        { x: 0.5, city: "b" },
        { x: -1, city: "a" },
      ],
      explain: true,
    });
    expect(status).toBe(200);
    const e = body["explanations"] as {
      feature_names: string[];
      expected_value: number;
      contributions: number[][];
    };
    expect(e.feature_names).toEqual(["x", "city"]);
    const predictions = body["predictions"] as number[];
    for (let r = 0; r < 2; r++) {
      const sum = (e.contributions[r] as number[]).reduce((a, b) => a + b, e.expected_value);
      expect(sum).toBeCloseTo(predictions[r] as number, 6);
    }
    // The city column matters for the "b" row.
    expect(Math.abs(e.contributions[0]?.[1] as number)).toBeGreaterThan(0.1);
  });

  it("refuses explain for runtimes that cannot explain, naming the runtime", async () => {
    await start({ models: [{ name: "churn", runtime: constant(1) }] });
    const { status, body } = await predict({ ...ROW, explain: true });
    expect(status).toBe(400);
    expect((body["error"] as { message: string }).message).toMatch(/The test runtime cannot explain/);
  });
});
