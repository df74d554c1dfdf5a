// Continuous delivery over a real socket: alias moves (in process and from another process) swap versions under concurrent load with zero failed requests; broken versions never replace a working one; deployments are followed.
import { join } from "node:path";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir } from "../../test/setup/tmp.ts";
import { frameFromColumns } from "../learn/frame.ts";
import { gbdt } from "../learn/gbdt/index.ts";
import { createRegistryEvents, type RegistryEvents } from "../registry/events.ts";
import { createRegistryService, type RegistryService } from "../registry/service.ts";
import { openWorkspace, type Workspace } from "../workspace.ts";
import { createDeploymentService } from "./deployments.ts";
import { createFollower, headSeq, loadEndpointSpec, type Follower, type ServingEvent } from "./follow.ts";
import { registerServingRoutes, type ServingHandle } from "./server.ts";

/** A small regression model whose predictions are about `scale` × x. */
function modelBytes(scale: number): Buffer {
  const x = Array.from({ length: 200 }, (_, i) => (i / 200) * 4 - 2);
  const model = gbdt({ objective: "regression", nRounds: 8, maxDepth: 2, seed: 1 }).fit(
    frameFromColumns({ x, y: x.map((v) => scale * v + scale * 10) }),
    "y",
  );
  return Buffer.from(JSON.stringify(model.toJSON()));
}

describe("following the registry", () => {
  const tmp = makeTempDir();
  const store = `sqlite:${join(tmp.path, "loopml.db")}`;
  const artifacts = `file:${join(tmp.path, "objects")}`;
  let ws: Workspace;
  let other: Workspace;
  let events: RegistryEvents;
  let registry: RegistryService;
  let otherProcess: RegistryService;
  let app: FastifyInstance;
  let handle: ServingHandle;
  let follower: Follower;
  let base = "";
  const seen: ServingEvent[] = [];

  beforeAll(async () => {
    ws = await openWorkspace({ dir: tmp.path, store, artifacts, actor: "server", logLevel: "silent" });
    // A second workspace on the same store stands for another process: no in-process events reach the server.
    other = await openWorkspace({ dir: tmp.path, store, artifacts, actor: "ci" });
    events = createRegistryEvents();
    registry = createRegistryService({ ...ws, events });
    otherProcess = createRegistryService({ ...other, events: createRegistryEvents() });
    await registry.createModel("churn");
    for (const scale of [1, 2]) {
      const { id } = await ws.blobs.put(modelBytes(scale));
      await registry.createVersion("churn", { blobId: id, flavor: "native" });
    }
    // Version 3 is broken: its artifact is not a model.
    const broken = await ws.blobs.put(Buffer.from("{ not a model"));
    await registry.createVersion("churn", { blobId: broken.id, flavor: "native" });
    await registry.setAlias("churn", "production", 1);

    const source = { registry, blobs: ws.blobs };
    const afterSeq = await headSeq(ws);
    const { spec, bindings } = await loadEndpointSpec(source, { name: "churn", primary: "churn@production" });
    app = Fastify();
    handle = await registerServingRoutes(app, {
      models: [spec],
      onRollback: (e, r) => follower.rolledBack(e, r),
    });
    follower = createFollower(
      { ws, source, events, models: handle.models, metrics: handle.metrics },
      { bindings, afterSeq },
      { pollMs: 50, onEvent: (e) => seen.push(e) },
    );
    follower.start();
    base = await app.listen({ port: 0, host: "127.0.0.1" });
  });
  afterAll(async () => {
    follower.stop();
    await app.close();
    await handle.close();
    await other.close();
    await ws.close();
    tmp.remove();
  });

  const predictOnce = async (): Promise<{ status: number; version: string }> => {
    const res = await fetch(`${base}/v1/models/churn@production/predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"instances": [[1.0]]}',
    });
    const body = (await res.json()) as { model_version: string };
    return { status: res.status, version: body.model_version };
  };

  /** Concurrent clients until `until` holds, then a little more; returns every status and version seen. */
  const underLoad = async (change: () => Promise<unknown>, until: () => boolean) => {
    const statuses: number[] = [];
    const versions: string[] = [];
    let stop = false;
    const clients = Array.from({ length: 8 }, async () => {
      while (!stop) {
        const r = await predictOnce().catch(() => ({ status: 0, version: "" }));
        statuses.push(r.status);
        versions.push(r.version);
      }
    });
    await new Promise((r) => setTimeout(r, 400));
    await change();
    const deadline = Date.now() + 10_000;
    while (!until() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 400));
    stop = true;
    await Promise.all(clients);
    return { statuses, versions };
  };

  it("swaps to the new version when the alias moves in process, without a failed request", async () => {
    const { statuses, versions } = await underLoad(
      () => registry.setAlias("churn", "production", 2),
      () => handle.models.resolve("churn").version === "2",
    );
    expect(statuses.length).toBeGreaterThan(20);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(versions[0]).toBe("1");
    expect(versions[versions.length - 1]).toBe("2");
    const swaps = await ws.audit.list({ action: "serving.swap" });
    expect(swaps.at(-1)?.details).toMatchObject({ role: "primary", from: "1", to: "2", alias: "production" });
  });

  it("follows a move made by another process through the audit log", async () => {
    const { statuses } = await underLoad(
      () => otherProcess.setAlias("churn", "production", 1),
      () => handle.models.resolve("churn").version === "1",
    );
    expect(handle.models.resolve("churn").version).toBe("1");
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
  });

  it("keeps serving the previous version when the new one fails to load, and reports it", async () => {
    await otherProcess.setAlias("churn", "production", 3);
    await follower.poll();
    await follower.idle();
    expect(handle.models.resolve("churn").version).toBe("1");
    expect((await predictOnce()).status).toBe(200);
    expect(seen.at(-1)).toMatchObject({ kind: "load-failed", model: "churn", alias: "production" });
    const failures = await ws.audit.list({ action: "serving.load.fail" });
    expect(failures.at(-1)?.details).toMatchObject({ serving: "1", role: "primary" });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/loopml_serving_model_load_failures_total\{model="churn",role="primary"\} 1/);
  });
});

describe("following a deployment", () => {
  it("applies canary, shadow and removal changes made to the stored deployment", async () => {
    const tmp = makeTempDir();
    const ws = await openWorkspace({
      dir: tmp.path,
      store: `sqlite:${join(tmp.path, "loopml.db")}`,
      artifacts: `file:${join(tmp.path, "objects")}`,
    });
    try {
      const registry = createRegistryService({ ...ws, events: createRegistryEvents() });
      await registry.createModel("churn");
      for (const scale of [1, 2]) {
        const { id } = await ws.blobs.put(modelBytes(scale));
        await registry.createVersion("churn", { blobId: id, flavor: "native" });
      }
      await registry.setAlias("churn", "production", 1);
      await registry.setAlias("churn", "challenger", 2);
      const deployments = createDeploymentService(ws);
      await deployments.upsert({ name: "web", model: "churn@production" });
      const source = { registry, blobs: ws.blobs };
      const afterSeq = await headSeq(ws);
      const spec = await deployments.get("web");
      const { spec: endpoint, bindings } = await loadEndpointSpec(source, {
        name: "churn",
        primary: spec.model,
        otherNames: ["web"],
      });
      const app = Fastify();
      const handle = await registerServingRoutes(app, { models: [endpoint] });
      const follower = createFollower(
        { ws, source, models: handle.models, metrics: handle.metrics },
        { bindings, deployments: new Map([["web", "churn"]]), afterSeq },
      );
      await deployments.upsert({
        name: "web",
        model: "churn@production",
        canary: { model: "churn@challenger", weight: 1 },
        logging: { sampleRate: 0.25 },
      });
      await follower.poll();
      await follower.idle();
      const e = handle.models.endpoint("web");
      expect(e.canary?.version).toBe("2");
      expect(e.canaryWeight).toBe(1);
      expect(e.sampleRate).toBe(0.25);
      const res = await app.inject({
        method: "POST",
        url: "/v1/models/web/predict",
        payload: { instances: [[1]] },
      });
      expect(res.json<{ model_version: string }>().model_version).toBe("2");
      await deployments.upsert({
        name: "web",
        model: "churn@production",
        shadow: { model: "churn@challenger" },
      });
      await follower.poll();
      await follower.idle();
      expect(e.canary).toBeNull();
      expect(e.shadow?.version).toBe("2");
      await handle.close();
      await app.close();
    } finally {
      await ws.close();
      tmp.remove();
    }
  });
});
