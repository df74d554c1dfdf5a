// Monitoring over HTTP, in process: late labels at POST /v1/feedback, monitors and reports under /api/v1.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../_internal/logger.ts";
import { makeTempDir } from "../../test/setup/tmp.ts";
import { createDataService } from "../data/service.ts";
import { createApp } from "../server/app.ts";
import { appendInferenceLog } from "../serving/inference-log.ts";
import { openWorkspace, type Workspace } from "../workspace.ts";

describe("monitoring routes", () => {
  const tmp = makeTempDir();
  let ws: Workspace;
  let app: Awaited<ReturnType<typeof createApp>>;
  beforeAll(async () => {
    ws = await openWorkspace({ dir: tmp.path, logger: silentLogger, env: {} });
    writeFileSync(
      join(tmp.path, "ref.csv"),
      ["x", ...Array.from({ length: 100 }, (_, i) => String(i))].join("\n"),
    );
    await createDataService(ws).add("ref.csv", { name: "ref" });
    await appendInferenceLog(ws, {
      model: "m",
      version: 1,
      requestIds: Array.from({ length: 50 }, (_, i) => `r${i}`),
      ts: Float64Array.from({ length: 50 }, (_, i) => Date.now() - 1000 + i),
      inputs: { x: Float64Array.from({ length: 50 }, (_, i) => i * 2) },
      predictions: Float64Array.from({ length: 50 }, (_, i) => i),
    });
    app = await createApp({ workspace: ws, auth: { allowAnonymous: true } });
  });
  afterAll(async () => {
    await app.close();
    await ws.close();
    tmp.remove();
  });

  it("accepts labels in batches or one at a time and counts unknown request ids", async () => {
    const batch = await app.inject({
      method: "POST",
      url: "/v1/feedback",
      payload: {
        model: "m",
        labels: [
          { request_id: "r1", label: 1 },
          { request_id: "zz", label: 2 },
        ],
      },
    });
    expect(batch.statusCode).toBe(200);
    expect(batch.json()).toMatchObject({ accepted: 2, unknown: 1, unknownIds: ["zz"] });
    const one = await app.inject({
      method: "POST",
      url: "/v1/feedback",
      payload: { model: "m", request_id: "r2", label: 3 },
    });
    expect(one.json()).toMatchObject({ accepted: 1, unknown: 0 });
    const bad = await app.inject({
      method: "POST",
      url: "/v1/feedback",
      payload: { model: "m", labels: [{ label: 1 }] },
    });
    expect(bad.statusCode).toBe(400);
  });

  it("creates, runs and reports a monitor", async () => {
    const put = await app.inject({
      method: "PUT",
      url: "/api/v1/monitors/m-mon",
      payload: { model: "m", reference: "dataset:ref@1", window: { span: "1h" }, task: "regression" },
    });
    expect(put.statusCode, put.body).toBe(200);
    const run = await app.inject({ method: "POST", url: "/api/v1/monitors/m-mon/run" });
    expect(run.statusCode, run.body).toBe(200);
    expect(run.json()).toMatchObject({ seq: 1, window: { rows: 50 }, labels: { labelled: 2, unknown: 1 } });
    const report = await app.inject({ method: "GET", url: "/api/v1/monitors/m-mon/report" });
    expect(report.headers["content-type"]).toMatch(/text\/html/);
    expect(report.body).toMatch(/Monitor m-mon — window 1/);
    const history = await app.inject({ method: "GET", url: "/api/v1/monitors/m-mon/history" });
    expect(history.json<{ runs: { seq: number }[] }>().runs.map((r) => r.seq)).toEqual([1]);
    const missing = await app.inject({ method: "GET", url: "/api/v1/monitors/nope" });
    expect(missing.statusCode).toBe(404);
  });
});
