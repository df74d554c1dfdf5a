// Realistic dashboard data for the browser tests: an AutoML-like sweep, a dataset with two versions, a pipeline
// run (and a second, mostly cached one), a served model with versions, aliases and lineage, a canary deployment,
// an inference log with late labels, a monitor with history and a firing alert — and a server that runs the
// control plane and the serving endpoints on one socket, as `loopml up` does.
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import Fastify, { type FastifyInstance } from "fastify";
import { createDataService } from "../../src/data/service.ts";
import { frameFromColumns } from "../../src/learn/frame.ts";
import { gbdt } from "../../src/learn/gbdt/index.ts";
import { recordFeedback } from "../../src/monitoring/feedback.ts";
import { createMonitorService } from "../../src/monitoring/monitors.ts";
import { runPipeline } from "../../src/pipeline/executor.ts";
import { parsePipelinesYaml } from "../../src/pipeline/parse.ts";
import { pipelineDeps } from "../../src/pipeline/service.ts";
import { createRegistryEvents } from "../../src/registry/events.ts";
import { createRegistryService } from "../../src/registry/service.ts";
import { createApp } from "../../src/server/app.ts";
import { createTokenService } from "../../src/server/auth.ts";
import { createDeploymentService } from "../../src/serving/deployments.ts";
import { loadEndpointSpec } from "../../src/serving/follow.ts";
import { appendInferenceLog } from "../../src/serving/inference-log.ts";
import { registerServingRoutes, type ServingHandle } from "../../src/serving/server.ts";
import { createTrackingService } from "../../src/tracking/service.ts";
import type { Workspace } from "../../src/workspace.ts";

export interface Seeded {
  tokens: Record<"viewer" | "editor", string>;
  pipelineRuns: string[];
  trialRunId: string;
}

const PIPELINE = `pipelines:
  churn:
    stages:
      prepare:
        run: mkdir -p build && cp data/customers.csv build/clean.csv && echo "prepared $(wc -l < build/clean.csv) lines"
        deps: ["dataset:customers@latest"]
        outs: [build/clean.csv]
      features:
        run: echo "x,plan" > build/features.csv && tail -n +2 build/clean.csv | cut -d, -f1,2 >> build/features.csv && echo features built
        deps: [build/clean.csv]
        outs: [build/features.csv]
      train:
        run: |
          echo "training gbdt on build/features.csv" && echo model > build/model.txt
          printf '{"auc": 0.86}' > build/metrics.json
        deps: [build/features.csv]
        outs: [build/model.txt]
        metrics: build/metrics.json
      report:
        run: cat report.tpl > build/report.txt && echo "report written"
        deps: [build/clean.csv, report.tpl]
        outs: [build/report.txt]
`;

function customers(n: number, shift: number, plans: string[]): string {
  const rows = ["x,plan,churned"];
  for (let i = 0; i < n; i++) {
    const x = ((i * 37) % 100) / 100 + shift;
    rows.push(`${x.toFixed(3)},${plans[i % plans.length]!},${x > 0.5 ? 1 : 0}`);
  }
  return rows.join("\n") + "\n";
}

async function sweep(ws: Workspace): Promise<string> {
  const tracking = createTrackingService(ws, { actor: "seed" });
  await tracking.createExperiment("churn");
  let first = "";
  for (let i = 0; i < 40; i++) {
    const run = await tracking.createRun({
      experiment: "churn",
      name: `trial-${String(i).padStart(2, "0")}`,
    });
    first ||= run.id;
    const steps = i < 2 ? 5000 : 20;
    const metrics = Array.from({ length: steps }, (_, s) => ({
      key: "loss",
      value: 1 / (1 + s * (0.01 + i * 0.001)) + (s % 97 === 0 ? 0.05 : 0),
      step: s,
      timestamp: 1_700_000_000_000 + s,
    }));
    metrics.push({ key: "auc", value: 0.6 + i * 0.008, step: 0, timestamp: 1_700_000_000_000 });
    await tracking.logBatch(run.id, {
      metrics,
      params: [
        { key: "lr", value: String(0.01 * (1 + (i % 4))) },
        { key: "depth", value: String(3 + (i % 3)) },
        { key: "learner", value: i % 2 ? "gbdt" : "linear" },
      ],
    });
    await tracking.updateRun(run.id, { status: "FINISHED", endTime: 1_700_000_100_000 });
  }
  return first;
}

async function pipelineRuns(ws: Workspace): Promise<string[]> {
  const dir = ws.config.projectDir;
  writeFileSync(join(dir, "report.tpl"), "churn report v1\n");
  const spec = parsePipelinesYaml(PIPELINE).get("churn")!;
  // Without tracking: the runs table holds exactly the sweep, which the runs test counts.
  const deps = { ...pipelineDeps(ws), tracking: undefined };
  const a = await runPipeline(deps, spec, { jobs: 2 });
  writeFileSync(join(dir, "report.tpl"), "churn report v2\n");
  const b = await runPipeline(deps, spec, { jobs: 2 });
  return [a.runId, b.runId];
}

async function modelBlob(ws: Workspace, rounds: number): Promise<string> {
  const x = Float64Array.from({ length: 400 }, (_, i) => (i % 100) / 100);
  const frame = frameFromColumns({ x, y: x.map((v) => (v > 0.5 ? 1 : 0)) });
  const model = gbdt({ objective: "binary", nRounds: rounds, maxDepth: 2, nThreads: 1 }).fit(frame, "y");
  return (await ws.blobs.put(Buffer.from(JSON.stringify(model.toJSON())))).id;
}

async function inferenceHistory(ws: Workspace): Promise<void> {
  const monitors = createMonitorService(ws, { actor: "seed" });
  await monitors.upsert({
    name: "churn-drift",
    model: "churn",
    reference: "dataset:customers@1",
    target: "churned",
    task: "classification",
    window: { rows: 300 },
    alerts: [{ when: "drift_share >= 0.5", severity: "warning" }],
  });
  const now = Date.now();
  const batch = async (start: number, shift: number, plans: string[]) => {
    const n = 300;
    const x = Float64Array.from({ length: n }, (_, i) => ((i * 37) % 100) / 100 + shift);
    await appendInferenceLog(ws, {
      model: "churn",
      version: start === 0 ? 1 : 2,
      requestIds: Array.from({ length: n }, (_, i) => `req-${start + i}`),
      ts: Float64Array.from({ length: n }, (_, i) => now - 3_600_000 + (start + i) * 1000),
      inputs: { x, plan: Array.from({ length: n }, (_, i) => plans[i % plans.length]!) },
      predictions: x.map((v) => (v > 0.5 ? 1 : 0)),
      probabilities: x.map((v) => Math.min(1, Math.max(0, v))),
    });
  };
  await batch(0, 0, ["basic", "pro", "team"]);
  await monitors.run("churn-drift");
  await batch(300, 0.4, ["basic", "enterprise"]);
  await monitors.run("churn-drift");
  // Late labels for the drifted window, then the same window again: now with performance.
  await recordFeedback(ws, {
    model: "churn",
    labels: Array.from({ length: 200 }, (_, i) => ({
      requestId: `req-${300 + i}`,
      label: ((i * 37) % 100) / 100 + 0.4 > 0.7 ? 1 : 0,
    })),
  });
  await monitors.run("churn-drift");
}

export async function seedDashboard(ws: Workspace): Promise<Seeded> {
  const dir = ws.config.projectDir;
  mkdirSync(join(dir, "data"), { recursive: true });
  const data = createDataService(ws);
  writeFileSync(join(dir, "data", "customers.csv"), customers(600, 0, ["basic", "pro", "team"]));
  await data.add("data/customers.csv", { name: "customers", message: "January export" });
  const trialRunId = await sweep(ws);
  const runs = await pipelineRuns(ws);
  writeFileSync(join(dir, "data", "customers.csv"), customers(700, 0.3, ["basic", "pro", "enterprise"]));
  await data.add("data/customers.csv", { name: "customers", message: "February export" });

  const registry = createRegistryService(
    { ...ws, events: createRegistryEvents() },
    { actor: "seed", role: "admin" },
  );
  await registry.createModel("churn", { description: "Churn classifier" });
  const signature = {
    inputs: [{ name: "x", type: "double" }],
    outputs: [{ name: "y", type: "double" }],
  };
  for (const [rounds, auc] of [
    [5, 0.81],
    [10, 0.86],
  ] as const) {
    await registry.createVersion("churn", {
      blobId: await modelBlob(ws, rounds),
      flavor: "native",
      signature,
      metrics: { auc },
      runId: trialRunId,
      datasets: [{ dataset: "customers", version: "1", context: "training" }],
      pipelineRun: runs[0]!,
    });
  }
  await registry.setAlias("churn", "production", 1);
  await registry.setAlias("churn", "challenger", 2);
  await createDeploymentService(ws, { actor: "seed" }).upsert({
    name: "web",
    model: "churn@production",
    canary: { model: "churn@challenger", weight: 0.25 },
    rollback: { maxErrorRateDelta: 0.05, maxP99Ratio: 2 },
  });
  await inferenceHistory(ws);
  const t = createTokenService(ws);
  return {
    tokens: {
      viewer: (await t.create("ui-viewer", "viewer")).token,
      editor: (await t.create("ui-editor", "editor")).token,
    },
    pipelineRuns: runs,
    trialRunId,
  };
}

/** The control plane (with auth) and the serving endpoints of the "web" deployment on one socket, as `loopml up`. */
export async function startDashboardServer(
  ws: Workspace,
): Promise<{ url: string; api: FastifyInstance; close(): Promise<void> }> {
  const serving = Fastify();
  const registry = createRegistryService({ ...ws, events: createRegistryEvents() });
  const { spec } = await loadEndpointSpec(
    { registry, blobs: ws.blobs },
    {
      name: "churn",
      primary: "churn@production",
      canary: { model: "churn@challenger", weight: 0.25 },
      otherNames: ["web"],
    },
  );
  const handle: ServingHandle = await registerServingRoutes(serving, {
    models: [spec],
    inferenceLog: { write: (records) => appendInferenceLog(ws, records) },
  });
  await serving.ready();
  const api = await createApp({ workspace: ws, auth: { allowAnonymous: false } });
  const server: Server = createServer((req, res) => {
    const path = req.url ?? "/";
    (/^\/(v1\/models\/|metrics)/.test(path) ? serving : api).routing(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  const url = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
  return {
    url,
    api,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await handle.close();
      await serving.close();
      await api.close();
    },
  };
}

/** Served traffic: `ok` predictions through the deployment's name and `bad` ones the endpoint refuses. */
export async function serveTraffic(url: string, ok: number, bad: number): Promise<void> {
  const post = (body: string) =>
    fetch(`${url}/v1/models/web/predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
  for (let i = 0; i < ok; i++) {
    const res = await post(JSON.stringify({ instances: [{ x: (i % 10) / 10 }] }));
    if (res.status !== 200) throw new Error(`prediction ${i} answered ${res.status}: ${await res.text()}`);
  }
  // Refused after the endpoint was chosen (a text where the signature wants a number): counted as its errors.
  for (let i = 0; i < bad; i++) {
    const res = await post(JSON.stringify({ instances: [{ x: "not a number" }] }));
    if (res.status < 400) throw new Error(`a bad request answered ${res.status}`);
  }
}
