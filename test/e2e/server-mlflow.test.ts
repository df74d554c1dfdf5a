// MLflow 2.x REST compatibility: the requests an MLflow client sends, and the response shapes of MLflow's REST reference.
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-assignment --
   MLflow responses are deep untyped JSON; asserting their exact shapes is the point of this file. */
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/server/app.ts";
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
    actor: "local:test",
  });
  app = await createApp({ workspace: ws, auth: { allowAnonymous: true } });
});
afterAll(async () => {
  await app.close();
  await ws.close();
  tmp.remove();
});

type Json = Record<string, any>;
const BASE = "/api/2.0/mlflow";
async function post(path: string, body: Json, base = BASE): Promise<{ status: number; body: Json }> {
  const r = await app.inject({ method: "POST", url: `${base}/${path}`, payload: body });
  return { status: r.statusCode, body: r.json<Json>() };
}
async function get(
  path: string,
  query: Record<string, string>,
  method: "GET" | "DELETE" = "GET",
): Promise<{ status: number; body: Json }> {
  const r = await app.inject({ method, url: `${BASE}/${path}?${new URLSearchParams(query).toString()}` });
  return { status: r.statusCode, body: r.json<Json>() };
}

describe("MLflow tracking API", () => {
  let experimentId = "";
  let runId = "";
  it("creates and finds experiments", async () => {
    const created = await post("experiments/create", {
      name: "mlflow-exp",
      tags: [{ key: "team", value: "ml" }],
    });
    expect(created.status).toBe(200);
    experimentId = created.body["experiment_id"] as string;
    expect(typeof experimentId).toBe("string");
    const byName = await get("experiments/get-by-name", { experiment_name: "mlflow-exp" });
    expect(byName.body["experiment"]).toMatchObject({
      experiment_id: experimentId,
      name: "mlflow-exp",
      lifecycle_stage: "active",
      tags: [{ key: "team", value: "ml" }],
    });
    expect(typeof byName.body["experiment"]["artifact_location"]).toBe("string");
    expect((await get("experiments/get", { experiment_id: experimentId })).body["experiment"]["name"]).toBe(
      "mlflow-exp",
    );
    const search = await post("experiments/search", { max_results: 10, filter: "name LIKE 'mlflow%'" });
    expect(search.body["experiments"].map((e: Json) => e["name"])).toEqual(["mlflow-exp"]);
    const missing = await get("experiments/get-by-name", { experiment_name: "nope" });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error_code: "RESOURCE_DOES_NOT_EXIST" });
    expect((await post("experiments/create", { name: "mlflow-exp" })).body["error_code"]).toBe(
      "RESOURCE_ALREADY_EXISTS",
    );
  });

  it("creates a run and logs metrics, params, tags and batches", async () => {
    const created = await post("runs/create", {
      experiment_id: experimentId,
      start_time: 1_700_000_000_000,
      run_name: "mlflow-run",
      tags: [{ key: "mlflow.user", value: "ana" }],
    });
    expect(created.status).toBe(200);
    const info = created.body["run"]["info"];
    runId = info["run_id"];
    expect(info).toMatchObject({
      run_uuid: runId,
      experiment_id: experimentId,
      status: "RUNNING",
      start_time: 1_700_000_000_000,
      lifecycle_stage: "active",
      run_name: "mlflow-run",
    });
    expect(info["end_time"]).toBeUndefined();
    expect(
      (
        await post("runs/log-metric", {
          run_id: runId,
          key: "loss",
          value: 0.5,
          timestamp: 1_700_000_000_100,
          step: 1,
        })
      ).status,
    ).toBe(200);
    expect((await post("runs/log-parameter", { run_id: runId, key: "lr", value: "0.1" })).status).toBe(200);
    expect((await post("runs/set-tag", { run_id: runId, key: "stage", value: "dev" })).status).toBe(200);
    const batch = await post("runs/log-batch", {
      run_id: runId,
      metrics: [
        { key: "loss", value: 0.25, timestamp: "1700000000200", step: "2" },
        { key: "weird", value: "NaN", timestamp: 1_700_000_000_200, step: 0 },
      ],
      params: [{ key: "depth", value: "6" }],
      tags: [{ key: "stage", value: "prod" }],
    });
    expect(batch.status).toBe(200);
    expect(batch.body).toEqual({});
    const conflict = await post("runs/log-parameter", { run_id: runId, key: "lr", value: "0.2" });
    expect(conflict.status).toBe(409);
    expect(conflict.body["error_code"]).toBe("RESOURCE_CONFLICT");
    const bad = await post("runs/log-metric", {
      run_id: runId,
      key: "x",
      value: "high",
      timestamp: 1,
      step: 0,
    });
    expect(bad.status).toBe(400);
    expect(bad.body["error_code"]).toBe("INVALID_PARAMETER_VALUE");
  });

  it("returns runs and metric history in MLflow's shapes", async () => {
    const run = (await get("runs/get", { run_id: runId })).body["run"];
    expect(run["data"]["params"]).toEqual(
      expect.arrayContaining([
        { key: "lr", value: "0.1" },
        { key: "depth", value: "6" },
      ]),
    );
    expect(run["data"]["tags"]).toEqual(
      expect.arrayContaining([
        { key: "stage", value: "prod" },
        { key: "mlflow.runName", value: "mlflow-run" },
      ]),
    );
    expect(run["data"]["metrics"]).toEqual(
      expect.arrayContaining([
        { key: "loss", value: 0.25, timestamp: 1_700_000_000_200, step: 2 },
        { key: "weird", value: "NaN", timestamp: 1_700_000_000_200, step: 0 },
      ]),
    );
    const history = await get("metrics/get-history", { run_id: runId, metric_key: "loss" });
    expect(history.body["metrics"]).toEqual([
      { key: "loss", value: 0.5, timestamp: 1_700_000_000_100, step: 1 },
      { key: "loss", value: 0.25, timestamp: 1_700_000_000_200, step: 2 },
    ]);
    const search = await post("runs/search", {
      experiment_ids: [experimentId],
      filter: "metrics.loss < 0.3 and params.depth = '6'",
      order_by: ["metrics.loss ASC"],
      max_results: 10,
    });
    expect(search.body["runs"].map((r: Json) => r["info"]["run_id"])).toEqual([runId]);
    const none = await post("runs/search", { experiment_ids: [experimentId], filter: "tags.stage = 'dev'" });
    expect(none.body["runs"] ?? []).toEqual([]);
    const updated = await post("runs/update", {
      run_id: runId,
      status: "FINISHED",
      end_time: 1_700_000_001_000,
    });
    expect(updated.body["run_info"]).toMatchObject({ status: "FINISHED", end_time: 1_700_000_001_000 });
    const ajax = await app.inject({ method: "GET", url: `/ajax-api/2.0/mlflow/runs/get?run_id=${runId}` });
    expect(ajax.json<Json>()["run"]["info"]["status"]).toBe("FINISHED");
    expect((await post("runs/delete", { run_id: runId })).status).toBe(200);
    expect((await post("runs/search", { experiment_ids: [experimentId] })).body["runs"] ?? []).toEqual([]);
  });
});

describe("MLflow experiment and run lifecycle", () => {
  it("renames, tags, deletes and restores experiments", async () => {
    const id = (await post("experiments/create", { name: "lifecycle" })).body["experiment_id"];
    expect((await post("experiments/update", { experiment_id: id, new_name: "lifecycle-2" })).body).toEqual(
      {},
    );
    expect(
      (await post("experiments/set-experiment-tag", { experiment_id: id, key: "team", value: "ml" })).body,
    ).toEqual({});
    const got = await get("experiments/get-by-name", { experiment_name: "lifecycle-2" });
    expect(got.body["experiment"]).toMatchObject({
      experiment_id: id,
      name: "lifecycle-2",
      lifecycle_stage: "active",
      tags: [{ key: "team", value: "ml" }],
    });
    expect((await post("experiments/delete", { experiment_id: id })).status).toBe(200);
    expect((await get("experiments/get", { experiment_id: id })).body["experiment"]["lifecycle_stage"]).toBe(
      "deleted",
    );
    const refused = await post("runs/create", { experiment_id: id });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    const deleted = await post("experiments/search", { view_type: "DELETED_ONLY" });
    expect(deleted.body["experiments"].map((e: Json) => e["experiment_id"])).toContain(id);
    expect((await post("experiments/restore", { experiment_id: id })).status).toBe(200);
    expect((await post("runs/create", { experiment_id: id })).status).toBe(200);
    const clash = await post("experiments/update", { experiment_id: id, new_name: "Default" });
    expect(clash.body["error_code"]).toBe("RESOURCE_ALREADY_EXISTS");
    expect((await post("experiments/delete", { experiment_id: "nope" })).body["error_code"]).toBe(
      "RESOURCE_DOES_NOT_EXIST",
    );
  });

  it("restores runs, deletes tags, logs dataset inputs and models, lists artifacts", async () => {
    const run = (await post("runs/create", { experiment_id: "0" })).body["run"]["info"]["run_id"];
    await post("runs/set-tag", { run_id: run, key: "stage", value: "dev" });
    expect((await post("runs/delete-tag", { run_id: run, key: "stage" })).status).toBe(200);
    const missingTag = await post("runs/delete-tag", { run_id: run, key: "stage" });
    expect(missingTag.body["error_code"]).toBe("RESOURCE_DOES_NOT_EXIST");
    await post("runs/delete", { run_id: run });
    expect((await get("runs/get", { run_id: run })).body["run"]["info"]["lifecycle_stage"]).toBe("deleted");
    await post("runs/restore", { run_id: run });
    const restored = await get("runs/get", { run_id: run });
    expect(restored.body["run"]["info"]["lifecycle_stage"]).toBe("active");
    expect(restored.body["run"]["data"]["tags"].map((t: Json) => t["key"])).not.toContain("stage");

    const inputs = await post("runs/log-inputs", {
      run_id: run,
      datasets: [
        {
          tags: [{ key: "mlflow.data.context", value: "evaluation" }],
          dataset: { name: "flights", digest: "a1b2c3", source_type: "local", source: "{}" },
        },
      ],
    });
    expect(inputs.status).toBe(200);
    const withInputs = await get("runs/get", { run_id: run });
    expect(withInputs.body["run"]["inputs"]["dataset_inputs"]).toEqual([
      {
        tags: [{ key: "mlflow.data.context", value: "evaluation" }],
        dataset: { name: "flights", digest: "a1b2c3", source_type: "loopml", source: "flights@a1b2c3" },
      },
    ]);
    const model = { artifact_path: "model", flavors: { python_function: {} }, run_id: run };
    expect((await post("runs/log-model", { run_id: run, model_json: JSON.stringify(model) })).status).toBe(
      200,
    );
    const tags = (await get("runs/get", { run_id: run })).body["run"]["data"]["tags"];
    const history = tags.find((t: Json) => t["key"] === "mlflow.log-model.history");
    expect(JSON.parse(String(history["value"]))).toEqual([model]);
    expect((await post("runs/log-model", { run_id: run, model_json: "{" })).body["error_code"]).toBe(
      "INVALID_PARAMETER_VALUE",
    );

    const exp = withInputs.body["run"]["info"]["experiment_id"];
    const base = `/api/2.0/mlflow-artifacts/artifacts/${exp}/${run}/artifacts`;
    for (const [path, body] of [
      ["model/MLmodel", "flavors: {}"],
      ["model/data/w.bin", "0123"],
      ["metrics.csv", "a,b"],
    ] as const) {
      const put = await app.inject({
        method: "PUT",
        url: `${base}/${path}`,
        payload: Buffer.from(body),
        headers: { "content-type": "application/octet-stream" },
      });
      expect(put.statusCode).toBe(200);
    }
    const top = await get("artifacts/list", { run_id: run });
    expect(top.body).toEqual({
      root_uri: `mlflow-artifacts:/${exp}/${run}/artifacts`,
      files: [
        { path: "metrics.csv", is_dir: false, file_size: 3 },
        { path: "model", is_dir: true },
      ],
    });
    const inner = await get("artifacts/list", { run_id: run, path: "model" });
    expect(inner.body["files"]).toEqual([
      { path: "model/MLmodel", is_dir: false, file_size: 11 },
      { path: "model/data", is_dir: true },
    ]);
    const ajax = await app.inject({
      method: "GET",
      url: `/ajax-api/2.0/mlflow/artifacts/list?run_id=${run}`,
    });
    expect(ajax.json<Json>()["files"]).toHaveLength(2);
  });
});

describe("MLflow artifact proxy", () => {
  it("uploads, lists and downloads through mlflow-artifacts:/ URIs and rejects escaping paths", async () => {
    const created = await post("runs/create", { experiment_id: "0" });
    const info = created.body["run"]["info"];
    expect(info["artifact_uri"]).toBe(`mlflow-artifacts:/0/${info["run_id"]}/artifacts`);
    const base = `/api/2.0/mlflow-artifacts/artifacts/0/${info["run_id"]}/artifacts`;
    const put = await app.inject({
      method: "PUT",
      url: `${base}/model/MLmodel`,
      payload: Buffer.from("flavors: {}"),
      headers: { "content-type": "application/octet-stream" },
    });
    expect(put.statusCode).toBe(200);
    const list = await app.inject({
      method: "GET",
      url: `/api/2.0/mlflow-artifacts/artifacts?path=0/${info["run_id"]}/artifacts`,
    });
    expect(list.json<Json>()["files"]).toEqual([{ path: "model", is_dir: true }]);
    const inner = await app.inject({
      method: "GET",
      url: `/api/2.0/mlflow-artifacts/artifacts?path=0/${info["run_id"]}/artifacts/model`,
    });
    expect(inner.json<Json>()["files"]).toEqual([{ path: "MLmodel", is_dir: false, file_size: 11 }]);
    expect((await app.inject({ method: "GET", url: `${base}/model/MLmodel` })).body).toBe("flavors: {}");
    const bad = await app.inject({
      method: "PUT",
      url: `${base}/..%2F..%2Fx`,
      payload: Buffer.from("x"),
      headers: { "content-type": "application/octet-stream" },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<Json>()["error_code"]).toBe("INVALID_PARAMETER_VALUE");
  });
});

describe("MLflow model registry API", () => {
  it("creates registered models and versions, and sets, reads and deletes aliases", async () => {
    const created = await post("registered-models/create", {
      name: "mlflow-model",
      description: "d",
      tags: [{ key: "k", value: "v" }],
    });
    expect(created.body["registered_model"]).toMatchObject({
      name: "mlflow-model",
      description: "d",
      tags: [{ key: "k", value: "v" }],
      latest_versions: [],
      aliases: [],
    });
    const v = await post("model-versions/create", {
      name: "mlflow-model",
      source: "s3://bucket/model",
      run_id: "",
    });
    expect(v.body["model_version"]).toMatchObject({
      name: "mlflow-model",
      version: "1",
      source: "s3://bucket/model",
      status: "READY",
      current_stage: "None",
      aliases: [],
    });
    expect(
      (await post("registered-models/alias", { name: "mlflow-model", alias: "champion", version: "1" }))
        .status,
    ).toBe(200);
    const byAlias = await get("registered-models/alias", { name: "mlflow-model", alias: "champion" });
    expect(byAlias.body["model_version"]).toMatchObject({ version: "1", aliases: ["champion"] });
    const model = await get("registered-models/get", { name: "mlflow-model" });
    expect(model.body["registered_model"]["aliases"]).toEqual([{ alias: "champion", version: "1" }]);
    expect(model.body["registered_model"]["latest_versions"][0]["version"]).toBe("1");
    expect(
      (await get("model-versions/get", { name: "mlflow-model", version: "1" })).body["model_version"][
        "source"
      ],
    ).toBe("s3://bucket/model");
    const search = await get("registered-models/search", { filter: "name = 'mlflow-model'" });
    expect(search.body["registered_models"].map((m: Json) => m["name"])).toEqual(["mlflow-model"]);
    expect(
      (await get("registered-models/alias", { name: "mlflow-model", alias: "champion" }, "DELETE")).status,
    ).toBe(200);
    const gone = await get("registered-models/alias", { name: "mlflow-model", alias: "champion" });
    expect(gone.status).toBe(404);
    expect(gone.body["error_code"]).toBe("RESOURCE_DOES_NOT_EXIST");
  });
});

describe("MLflow model registry edits", () => {
  const del = async (path: string, body: Json): Promise<{ status: number; body: Json }> => {
    const r = await app.inject({ method: "DELETE", url: `${BASE}/${path}`, payload: body });
    return { status: r.statusCode, body: r.json<Json>() };
  };
  const patch = async (path: string, body: Json): Promise<{ status: number; body: Json }> => {
    const r = await app.inject({ method: "PATCH", url: `${BASE}/${path}`, payload: body });
    return { status: r.statusCode, body: r.json<Json>() };
  };

  it("updates, tags, renames and deletes registered models and versions", async () => {
    await post("registered-models/create", { name: "edits" });
    for (const source of ["runs:/a/model", "runs:/b/model", "runs:/c/model"])
      await post("model-versions/create", { name: "edits", source });
    const updated = await patch("registered-models/update", { name: "edits", description: "churn model" });
    expect(updated.body["registered_model"]).toMatchObject({ name: "edits", description: "churn model" });
    await post("registered-models/set-tag", { name: "edits", key: "team", value: "ml" });
    expect((await get("registered-models/get", { name: "edits" })).body["registered_model"]["tags"]).toEqual([
      { key: "team", value: "ml" },
    ]);
    expect((await del("registered-models/delete-tag", { name: "edits", key: "team" })).status).toBe(200);
    expect(
      (await del("registered-models/delete-tag", { name: "edits", key: "team" })).body["error_code"],
    ).toBe("RESOURCE_DOES_NOT_EXIST");

    const v2 = await patch("model-versions/update", {
      name: "edits",
      version: "2",
      description: "retrained",
    });
    expect(v2.body["model_version"]).toMatchObject({ version: "2", description: "retrained" });
    await post("model-versions/set-tag", { name: "edits", version: "2", key: "validated", value: "yes" });
    expect(
      (await get("model-versions/get", { name: "edits", version: "2" })).body["model_version"]["tags"],
    ).toEqual([{ key: "validated", value: "yes" }]);
    expect(
      (await del("model-versions/delete-tag", { name: "edits", version: "2", key: "validated" })).status,
    ).toBe(200);
    expect((await get("model-versions/get-download-uri", { name: "edits", version: "2" })).body).toEqual({
      artifact_uri: "runs:/b/model",
    });

    const latest = await post("registered-models/get-latest-versions", { name: "edits", stages: ["None"] });
    expect(latest.body["model_versions"].map((v: Json) => v["version"])).toEqual(["3"]);
    expect(
      (await post("registered-models/get-latest-versions", { name: "edits", stages: ["Production"] })).body[
        "model_versions"
      ],
    ).toEqual([]);
    const search = await get("model-versions/search", { filter: "name = 'edits' and source LIKE 'runs:/%'" });
    expect(search.body["model_versions"].map((v: Json) => v["version"])).toEqual(["3", "2", "1"]);

    await post("registered-models/alias", { name: "edits", alias: "champion", version: "3" });
    expect((await del("model-versions/delete", { name: "edits", version: "3" })).status).toBe(200);
    expect((await get("model-versions/get", { name: "edits", version: "3" })).body["error_code"]).toBe(
      "RESOURCE_DOES_NOT_EXIST",
    );
    const after = await get("registered-models/get", { name: "edits" });
    expect(after.body["registered_model"]["aliases"]).toEqual([]);
    expect(after.body["registered_model"]["latest_versions"][0]["version"]).toBe("2");
    // Version numbers are never reused.
    expect(
      (await post("model-versions/create", { name: "edits", source: "runs:/d/model" })).body["model_version"][
        "version"
      ],
    ).toBe("4");

    const renamed = await post("registered-models/rename", { name: "edits", new_name: "edits-2" });
    expect(renamed.body["registered_model"]["name"]).toBe("edits-2");
    expect(
      (await get("model-versions/get", { name: "edits-2", version: "2" })).body["model_version"][
        "description"
      ],
    ).toBe("retrained");
    expect((await get("registered-models/get", { name: "edits" })).body["error_code"]).toBe(
      "RESOURCE_DOES_NOT_EXIST",
    );
    expect((await del("registered-models/delete", { name: "edits-2" })).status).toBe(200);
    expect((await get("registered-models/get", { name: "edits-2" })).status).toBe(404);
    expect(
      (await get("model-versions/search", { filter: "name = 'edits-2'" })).body["model_versions"],
    ).toEqual([]);
    const ajax = await app.inject({
      method: "GET",
      url: "/ajax-api/2.0/mlflow/model-versions/search?filter=name%20%3D%20%27mlflow-model%27",
    });
    expect(ajax.statusCode).toBe(200);
  });
});
