// The HTTP control plane in process (app.inject): native routes, errors, auth and roles, limits, OpenAPI.
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createManualClock, createSequentialIds } from "../../src/_internal/clock.ts";
import { isLoopmlError } from "../../src/errors.ts";
import { createApp } from "../../src/server/app.ts";
import { createTokenService } from "../../src/server/auth.ts";
import { startServer } from "../../src/server/listen.ts";
import { createHttpTracking } from "../../src/tracking/http-client.ts";
import { createTrackingService } from "../../src/tracking/service.ts";
import { openWorkspace, type Workspace } from "../../src/workspace.ts";
import { makeTempDir } from "../setup/tmp.ts";

const tmp = makeTempDir();
let ws: Workspace;
let app: FastifyInstance;
beforeAll(async () => {
  ws = await openWorkspace({
    dir: tmp.path,
    store: "sqlite:.loopml/loopml.db",
    artifacts: `file:${join(tmp.path, "objects")}`,
    clock: createManualClock(),
    ids: createSequentialIds(),
    actor: "local:test",
  });
  app = await createApp({ workspace: ws, auth: { allowAnonymous: true }, bodyLimit: 64 * 1024 });
});
afterAll(async () => {
  await app.close();
  await ws.close();
  tmp.remove();
});

type Json = Record<string, unknown>;
async function call(
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
  url: string,
  payload?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await app.inject({
    method,
    url,
    ...(payload !== undefined && { payload: payload as Json }),
    headers,
  });
  return {
    status: res.statusCode,
    body: String(res.headers["content-type"] ?? "").includes("json") ? res.json<Json>() : { raw: res.body },
  };
}

describe("REST API", () => {
  let runId = "";
  it("creates an experiment and a run, logs a batch with NaN and Infinity, and reads it back", async () => {
    expect((await call("POST", "/api/v1/experiments", { name: "churn" })).status).toBe(201);
    const run = await call("POST", "/api/v1/runs", { experiment: "churn", name: "r1" });
    expect(run.status).toBe(201);
    runId = run.body["id"] as string;
    const batch = await call("POST", `/api/v1/runs/${runId}/batch`, {
      params: [{ key: "model", value: "gbdt" }],
      metrics: [
        { key: "auc", value: 0.9, step: 0 },
        { key: "auc", value: 0.95, step: 1 },
        { key: "odd", value: "NaN" },
        { key: "big", value: "Infinity" },
      ],
    });
    expect(batch.status).toBe(200);
    const got = await call("GET", `/api/v1/runs/${runId}`);
    const metrics = got.body["metrics"] as Record<string, Json>;
    expect(metrics["auc"]).toMatchObject({ last: 0.95, min: 0.9, max: 0.95, count: 2 });
    expect(metrics["odd"]?.["last"]).toBe("NaN");
    expect(metrics["big"]?.["last"]).toBe("Infinity");
    const history = await call("GET", `/api/v1/runs/${runId}/metrics/auc`);
    expect((history.body["points"] as Json[]).map((p) => p["value"])).toEqual([0.9, 0.95]);
    const found = await call("POST", "/api/v1/runs/search", {
      experiments: ["churn"],
      filter: "metrics.auc > 0.9",
      orderBy: ["metrics.auc DESC"],
    });
    expect((found.body["runs"] as Json[]).length).toBe(1);
  });

  it("answers bad input with { code, message, details } and the right status, never a stack", async () => {
    const missing = await call("GET", "/api/v1/runs/nope");
    expect(missing.status).toBe(404);
    expect(missing.body["code"]).toBe("NOT_FOUND");
    expect(JSON.stringify(missing.body)).not.toContain("at ");
    const invalid = await call("POST", `/api/v1/runs/${runId}/batch`, {
      metrics: [{ key: "m", value: "high" }],
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body["code"]).toBe("INVALID_ARGUMENT");
    expect((invalid.body["details"] as Json)["issues"]).toBeDefined();
    const conflict = await call("POST", `/api/v1/runs/${runId}/batch`, {
      params: [{ key: "model", value: "linear" }],
    });
    expect(conflict.status).toBe(409);
    expect(conflict.body["code"]).toBe("CONFLICT");
    const big = await call("POST", `/api/v1/runs/${runId}/batch`, {
      tags: [{ key: "blob", value: "x".repeat(100_000) }],
    });
    expect(big.status).toBe(413);
    expect(big.body["code"]).toBe("RESOURCE_EXHAUSTED");
    const noRoute = await call("GET", "/api/v1/nothing-here");
    expect(noRoute.status).toBe(404);
    expect(noRoute.body["message"]).toContain("/openapi.json");
  });

  it("uploads and downloads artifacts and refuses paths that leave the run", async () => {
    const put = await app.inject({
      method: "PUT",
      url: `/api/v1/runs/${runId}/artifacts/model/weights.bin`,
      payload: Buffer.from("weights"),
      headers: { "content-type": "application/octet-stream" },
    });
    expect(put.statusCode).toBe(200);
    const get = await app.inject({ method: "GET", url: `/api/v1/runs/${runId}/artifacts/model/weights.bin` });
    expect(get.body).toBe("weights");
    const list = await call("GET", `/api/v1/runs/${runId}/artifacts`);
    expect((list.body["artifacts"] as Json[]).map((a) => a["path"])).toEqual(["model/weights.bin"]);
    for (const bad of ["..%2F..%2Fetc%2Fpasswd", "a%2F..%2F..%2Fb", "%2Fabs"]) {
      const r = await app.inject({
        method: "PUT",
        url: `/api/v1/runs/${runId}/artifacts/${bad}`,
        payload: Buffer.from("x"),
        headers: { "content-type": "application/octet-stream" },
      });
      expect(r.statusCode).toBe(400);
    }
  });

  it("promotes through the gate over HTTP and answers 202 when approval is pending", async () => {
    const blob = await ws.blobs.put(Buffer.from("model"));
    await call("POST", "/api/v1/models", {
      name: "churn",
      policy: { approvalFor: ["production"], protectedAliases: ["production"] },
    });
    const v = await call("POST", "/api/v1/models/churn/versions", {
      blobId: blob.id,
      runId,
      flavor: "native",
    });
    expect(v.status).toBe(201);
    expect(v.body["metrics"]).toMatchObject({ auc: 0.95 });
    const protectedMove = await call("PUT", "/api/v1/models/churn/aliases/production", { version: 1 });
    expect(protectedMove.status).toBe(412);
    const p = await call("POST", "/api/v1/models/churn/promotions", { version: 1, to: "production" });
    expect(p.status).toBe(202);
    const lineage = await call("GET", "/api/v1/models/churn/versions/1/lineage");
    expect((lineage.body["artifact"] as Json)["blobId"]).toBe(blob.id);
  });

  it("the batching client sends compact columnar batches over a socket, NaN and ±Infinity included", async () => {
    const url = await app.listen({ host: "127.0.0.1", port: 0 });
    const client = createHttpTracking({ url });
    const run = await client.startRun({ experiment: "columnar", batchSize: 1000 });
    const special = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
    for (let i = 0; i < 2500; i++) {
      await run.logMetric(i % 2 === 0 ? "loss" : "acc", i < 3 ? (special[i] as number) : i / 1000, i);
    }
    await run.end();
    const tracking = createTrackingService(ws);
    const loss = await tracking.metricHistory(run.id, "loss");
    expect(loss).toHaveLength(1250);
    expect(loss[0]?.value).toBeNaN();
    expect(loss[1]?.value).toBe(Number.NEGATIVE_INFINITY);
    expect(loss[2]?.value).toBe(0.004);
    const acc = await tracking.metricHistory(run.id, "acc");
    expect(acc[0]?.value).toBe(Number.POSITIVE_INFINITY);
    const got = await tracking.getRun(run.id);
    expect(got.info.status).toBe("FINISHED");
    expect(got.metrics["loss"]).toMatchObject({ last: 2.498, min: Number.NEGATIVE_INFINITY, count: 1250 });
    expect(got.metrics["acc"]).toMatchObject({ last: 2.499, max: Number.POSITIVE_INFINITY, count: 1250 });
  });

  it("rejects malformed columnar points without writing any", async () => {
    const run = await call("POST", "/api/v1/runs", { experiment: "columnar" });
    const id = run.body["id"] as string;
    const cases: Json[] = [
      { keys: ["a"], key: [0, 0], value: [1], step: [0, 1], timestamp: [1, 2] },
      { keys: ["a"], key: [1], value: [1], step: [0], timestamp: [1] },
      { keys: ["a"], key: [0], value: ["high"], step: [0], timestamp: [1] },
      { keys: ["a"], key: [0], value: [1], step: [0.5], timestamp: [1] },
      { keys: [3], key: [0], value: [1], step: [0], timestamp: [1] },
    ];
    for (const points of cases) {
      const res = await call("POST", `/api/v1/runs/${id}/batch`, { points });
      expect(res.status).toBe(400);
      expect(res.body["code"]).toBe("INVALID_ARGUMENT");
    }
    expect((await createTrackingService(ws).getRun(id)).metrics).toEqual({});
  });

  it("serves an OpenAPI document listing every route with its role", async () => {
    const doc = await call("GET", "/openapi.json");
    const paths = doc.body["paths"] as Record<string, Record<string, Json>>;
    expect(paths["/api/v1/runs/search"]?.["post"]?.["x-role"]).toBe("viewer");
    expect(paths["/api/v1/promotions/{id}/approve"]?.["post"]?.["x-role"]).toBe("approver");
    expect(paths["/api/2.0/mlflow/runs/log-batch"]?.["post"]).toBeDefined();
  });
});

describe("auth", () => {
  let secured: FastifyInstance;
  const tokens: Record<string, string> = {};
  beforeAll(async () => {
    const svc = createTokenService(ws);
    for (const role of ["viewer", "editor", "approver", "admin"] as const)
      tokens[role] = (await svc.create(`t-${role}`, role)).token;
    secured = await createApp({ workspace: ws, auth: { allowAnonymous: false, maxFailuresPerMinute: 5 } });
  });
  afterAll(() => secured.close());
  const as = (role: string | undefined, method: "GET" | "POST", url: string, payload?: Json) =>
    secured.inject({
      method,
      url,
      ...(payload && { payload }),
      headers: role ? { authorization: `Bearer ${tokens[role] ?? role}` } : {},
    });

  it("stores only hashes of tokens", async () => {
    const rows = await ws.store.db.selectFrom("api_tokens").select("hash").execute();
    expect(rows.map((r) => r.hash)).not.toContain(tokens["admin"]);
    expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.hash))).toBe(true);
  });

  it("checks the role of every route and audits with the token's principal", async () => {
    expect((await as(undefined, "GET", "/api/v1/experiments")).statusCode).toBe(401);
    expect((await as("viewer", "GET", "/api/v1/experiments")).statusCode).toBe(200);
    const denied = await as("viewer", "POST", "/api/v1/experiments", { name: "v" });
    expect(denied.statusCode).toBe(403);
    expect(denied.json<Json>()["code"]).toBe("PERMISSION_DENIED");
    expect((await as("editor", "POST", "/api/v1/experiments", { name: "by-editor" })).statusCode).toBe(201);
    const ev = (await ws.audit.list({ action: "experiment.create" })).at(-1);
    expect(ev?.actor).toBe("token:t-editor");
    const pending = (await ws.store.db.selectFrom("model_promotions").select("id").executeTakeFirstOrThrow())
      .id;
    expect((await as("editor", "POST", `/api/v1/promotions/${pending}/approve`)).statusCode).toBe(403);
    const ok = await as("approver", "POST", `/api/v1/promotions/${pending}/approve`);
    expect(ok.statusCode).toBe(200);
    expect(ok.json<Json>()["status"]).toBe("approved");
    expect((await as(undefined, "GET", "/health")).statusCode).toBe(200);
  });

  it("rate-limits repeated authentication failures", async () => {
    const fresh = await createApp({
      workspace: ws,
      auth: { allowAnonymous: false, maxFailuresPerMinute: 5 },
    });
    const codes: number[] = [];
    for (let i = 0; i < 7; i++) {
      const r = await fresh.inject({
        method: "GET",
        url: "/api/v1/experiments",
        headers: { authorization: "Bearer lml_wrong" },
      });
      codes.push(r.statusCode);
    }
    await fresh.close();
    expect(codes.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(codes.slice(5)).toEqual([429, 429]);
  });

  it("refuses to listen beyond loopback without tokens", async () => {
    const bare = await openWorkspace({
      dir: tmp.path,
      store: "sqlite:.loopml/other.db",
      artifacts: `file:${join(tmp.path, "objects")}`,
    });
    try {
      const err = await startServer({ workspace: bare, host: "0.0.0.0", port: 0 }).catch((e: unknown) => e);
      expect(isLoopmlError(err, "FAILED_PRECONDITION")).toBe(true);
    } finally {
      await bare.close();
    }
  });
});
