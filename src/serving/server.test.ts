// The serving plugin in process (app.inject): the three protocols, bad input, micro-batching, queue bound, metrics.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Fastify, { type FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import type { BatchingOptions } from "./batcher.ts";
import { loadRuntime } from "./runtimes/load.ts";
import { registerServingRoutes } from "./server.ts";
import type { ModelRuntime } from "./types.ts";

const FIXTURES = join(import.meta.dirname, "fixtures");
const load = (kind: string): ModelRuntime =>
  loadRuntime(JSON.parse(readFileSync(join(FIXTURES, `xgb-${kind}`, "m.json"), "utf8")));
const expected = JSON.parse(readFileSync(join(FIXTURES, "xgb-binary", "expected.json"), "utf8")) as {
  inputs: (number | null)[][];
  predictions: number[];
};
const ROWS = expected.inputs.slice(0, 6);
const P = expected.predictions.slice(0, 6);
const NAMES = ["f_0", "f_1", "f_2", "f_3", "f_4"];

let app: FastifyInstance;
afterEach(async () => app.close());

async function start(batching?: BatchingOptions, models = ["binary"]): Promise<void> {
  app = Fastify();
  await registerServingRoutes(app, {
    models: models.map((kind) => ({
      name: kind === "binary" ? "churn" : kind,
      version: "3",
      aliases: ["production"],
      runtime: load(kind),
    })),
    limits: { maxRows: 100 },
    ...(batching && { batching }),
  });
}

/** The union of the fields the three protocols answer with. */
interface Answer {
  predictions: number[];
  probabilities?: number[][];
  model_version?: string;
  request_id?: string;
  error: { code: string; message: string };
  error_code?: string;
  message?: string;
  outputs: { name: string; shape: number[]; data: number[] }[];
  id?: string;
}

async function post(url: string, payload: unknown, headers: Record<string, string> = {}) {
  const res = await app.inject({ method: "POST", url, payload: payload as string, headers });
  return { status: res.statusCode, body: res.json<Answer>(), headers: res.headers };
}

function p1(rows: number[][] | undefined): number[] {
  return (rows ?? []).map((p) => p[1] as number);
}

function close(a: number[], b: number[]): void {
  expect(a).toHaveLength(b.length);
  a.forEach((v, i) => expect(Math.abs(v - (b[i] as number))).toBeLessThanOrEqual(1e-6));
}

describe("serving routes", () => {
  it("answers loopml's protocol with rows, objects and columns alike", async () => {
    await start();
    const objects = ROWS.map((r) => Object.fromEntries(NAMES.map((n, i) => [n, r[i]])));
    const columns = Object.fromEntries(NAMES.map((n, i) => [n, ROWS.map((r) => r[i])]));
    for (const body of [{ instances: ROWS }, { instances: objects }, { inputs: columns }]) {
      const res = await post(
        "/v1/models/churn@production/predict",
        { ...body, probabilities: true },
        { "x-request-id": "abc" },
      );
      expect(res.status).toBe(200);
      expect(res.body.model_version).toBe("3");
      expect(res.body.request_id).toBe("abc");
      close(p1(res.body.probabilities), P);
      expect(res.body.predictions).toEqual(P.map((p) => (p >= 0.5 ? 1 : 0)));
    }
    const byVersion = await post("/v1/models/churn/versions/3/predict", { instances: ROWS.slice(0, 1) });
    expect(byVersion.body.probabilities).toBeUndefined();
    expect(byVersion.body.request_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each([
    {
      name: "unknown model",
      url: "/v1/models/nope/predict",
      body: { instances: [[1, 2, 3, 4, 5]] },
      status: 404,
      code: "NOT_FOUND",
      text: /Model "nope" is not served here; served: churn \(version 3, aliases production\)/,
    },
    {
      name: "unknown alias",
      url: "/v1/models/churn@staging/predict",
      body: { instances: [[1, 2, 3, 4, 5]] },
      status: 404,
      code: "NOT_FOUND",
      text: /no alias "staging"/,
    },
    {
      name: "unknown version",
      url: "/v1/models/churn/versions/9/predict",
      body: { instances: [[1, 2, 3, 4, 5]] },
      status: 404,
      code: "NOT_FOUND",
      text: /no version "9"/,
    },
    {
      name: "string in a numeric column",
      url: "/v1/models/churn/predict",
      body: { instances: [{ f_0: 1, f_2: "high" }] },
      status: 400,
      code: "INVALID_ARGUMENT",
      text: /Column "f_2" \(double\), row 0: "high" is not a number/,
    },
    {
      name: "wrong column name",
      url: "/v1/models/churn/predict",
      body: { inputs: { f_0: [1], age: [2] } },
      status: 400,
      code: "INVALID_ARGUMENT",
      text: /Unknown column "age"/,
    },
    {
      name: "empty batch",
      url: "/v1/models/churn/predict",
      body: { instances: [] },
      status: 400,
      code: "INVALID_ARGUMENT",
      text: /empty/,
    },
    {
      name: "batch over the limit",
      url: "/v1/models/churn/predict",
      body: { instances: Array.from({ length: 101 }, () => [1, 2, 3, 4, 5]) },
      status: 413,
      code: "RESOURCE_EXHAUSTED",
      text: /101 rows but this server accepts at most 100/,
    },
    {
      name: "malformed JSON",
      url: "/v1/models/churn/predict",
      body: '{"instances": [[1, 2',
      status: 400,
      code: "INVALID_ARGUMENT",
      text: /JSON/,
    },
    {
      name: "an empty JSON body",
      url: "/v1/models/churn/predict",
      body: "",
      status: 400,
      code: "INVALID_ARGUMENT",
      text: /empty/,
    },
    {
      name: "no instances or inputs",
      url: "/v1/models/churn/predict",
      body: { rows: [] },
      status: 400,
      code: "INVALID_ARGUMENT",
      text: /neither "instances"/,
    },
  ])("answers $name with $status and a named problem", async ({ url, body, status, code, text }) => {
    await start();
    const res = await post(url, body, { "content-type": "application/json" });
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect(res.body.error.message).toMatch(text);
  });

  it("speaks MLflow's scoring protocol: split, records, instances, inputs and CSV", async () => {
    await start();
    const records = ROWS.map((r) => Object.fromEntries(NAMES.map((n, i) => [n, r[i]])));
    const reversed = [...NAMES].reverse();
    const bodies: unknown[] = [
      { dataframe_split: { columns: reversed, data: ROWS.map((r) => [...r].reverse()) } },
      { dataframe_records: records },
      { instances: ROWS },
      { inputs: Object.fromEntries(NAMES.map((n, i) => [n, ROWS.map((r) => r[i])])) },
    ];
    for (const body of bodies) {
      const res = await post("/invocations", body);
      expect(res.status).toBe(200);
      close(res.body.predictions, P);
    }
    const csv = [
      NAMES.join(","),
      ...ROWS.map((r) => r.map((v) => (v === null ? "" : String(v))).join(",")),
    ].join("\n");
    const res = await post("/invocations", csv, { "content-type": "text/csv" });
    expect(res.status).toBe(200);
    close(res.body.predictions, P);
    const bad = await post("/invocations", "f_0,f_1,f_2,f_3,f_4\n1,2,x,4,5\n", {
      "content-type": "text/csv",
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error_code).toBe("BAD_REQUEST");
    expect(bad.body.message).toMatch(/Column "f_2"/);
  });

  it("speaks Open Inference Protocol V2: health, metadata, column and matrix tensors", async () => {
    await start();
    expect((await app.inject("/v2/health/live")).json()).toEqual({ live: true });
    expect((await app.inject("/v2/health/ready")).statusCode).toBe(200);
    expect((await app.inject("/v2/models/churn/ready")).json()).toEqual({ name: "churn", ready: true });
    const meta = (await app.inject("/v2/models/churn")).json<{ inputs: unknown[] }>();
    expect(meta).toMatchObject({ name: "churn", versions: ["3"], platform: "loopml_xgboost_json" });
    expect(meta.inputs[0]).toEqual({ name: "f_0", datatype: "FP64", shape: [-1] });
    const matrix = {
      id: "r1",
      inputs: [{ name: "input-0", shape: [ROWS.length, 5], datatype: "FP32", data: ROWS }],
    };
    const columns = {
      inputs: NAMES.map((n, i) => ({
        name: n,
        shape: [ROWS.length],
        datatype: "FP64",
        data: ROWS.map((r) => r[i]),
      })),
      outputs: [{ name: "probabilities" }],
    };
    for (const body of [matrix, columns]) {
      const res = await post("/v2/models/churn/infer", body);
      expect(res.status).toBe(200);
      const probs = res.body.outputs.find((o) => o.name === "probabilities");
      expect(probs?.shape).toEqual([ROWS.length, 2]);
      close(
        (probs?.data ?? []).filter((_, i) => i % 2 === 1),
        P,
      );
    }
    expect((await post("/v2/models/churn/infer", matrix)).body.id).toBe("r1");
    const bad = await post("/v2/models/churn/infer", {
      inputs: [{ name: "f_0", shape: [2], datatype: "BYTES", data: ["a", "b"] }],
    });
    expect(bad.status).toBe(400);
    expect((bad.body as unknown as { error: string }).error).toMatch(/Tensor "f_0" has datatype BYTES/);
    expect((await post("/v2/models/nope/infer", matrix)).status).toBe(404);
  });

  it("merges concurrent single-row requests into fewer predict calls, each answered with its own row", async () => {
    await start({ maxBatchRows: 64, maxWaitMs: 20, maxQueueRows: 1000 });
    const answers = await Promise.all(
      ROWS.map((row) => post("/v1/models/churn/predict", { instances: [row], probabilities: true })),
    );
    answers.forEach((a, i) => close(p1(a.body.probabilities), [P[i] as number]));
    const text = (await app.inject("/metrics")).body;
    const count = Number(/loopml_serving_batch_rows_count\{model="churn"\} (\d+)/.exec(text)?.[1]);
    const sum = Number(/loopml_serving_batch_rows_sum\{model="churn"\} (\d+)/.exec(text)?.[1]);
    expect(sum).toBe(ROWS.length);
    expect(count).toBeLessThan(ROWS.length);
    expect(text).toMatch(/loopml_serving_requests_total\{model="churn",version="3",protocol="loopml"\} 6/);
    expect(text).toMatch(/loopml_serving_request_duration_seconds_count\{model="churn",version="3"\} 6/);
    expect(text).toMatch(/loopml_serving_queue_rows\{model="churn"\} 0/);
  });

  it("refuses work beyond the queue bound with 503 and Retry-After, and counts errors by code", async () => {
    await start({ maxBatchRows: 64, maxWaitMs: 30, maxQueueRows: 3 });
    const answers = await Promise.all(
      ROWS.map((row) => post("/v1/models/churn/predict", { instances: [row] })),
    );
    const refused = answers.filter((a) => a.status === 503);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(3);
    expect(refused).toHaveLength(3);
    expect(refused[0]?.headers["retry-after"]).toBe("1");
    expect(refused[0]?.body.error.code).toBe("UNAVAILABLE");
    const text = (await app.inject("/metrics")).body;
    expect(text).toMatch(/loopml_serving_errors_total\{model="churn",code="UNAVAILABLE"\} 3/);
  });

  it("reports health and readiness, and asks for a model name on /invocations when several are served", async () => {
    await start(undefined, ["binary", "multiclass"]);
    expect((await app.inject("/healthz")).statusCode).toBe(200);
    expect((await app.inject("/readyz")).json()).toEqual({
      ready: true,
      models: ["churn:3", "multiclass:3"],
    });
    const res = await post("/invocations", { instances: ROWS });
    expect(res.status).toBe(412);
    expect(res.body.message).toMatch(/exactly one served model/);
    const multi = await post("/v1/models/multiclass/predict", { instances: ROWS, probabilities: true });
    expect(multi.body.probabilities?.[0]).toHaveLength(4);
  });
});
