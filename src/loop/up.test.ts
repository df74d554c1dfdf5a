// loopml up in process: a deployment whose alias appears only after up started (the first promotion), or that
// is created while up runs, is served as soon as it can load; the inference log carries the workspace clock's time.
import { afterEach, beforeEach, expect, it } from "vitest";
import { makeTempDir } from "../../test/setup/tmp.ts";
import { createManualClock } from "../_internal/clock.ts";
import { silentLogger } from "../_internal/logger.ts";
import { frameFromColumns } from "../learn/frame.ts";
import { gbdt } from "../learn/gbdt/index.ts";
import { createRegistryEvents } from "../registry/events.ts";
import { createRegistryService } from "../registry/service.ts";
import { createDeploymentService } from "../serving/deployments.ts";
import { readInferenceLog } from "../serving/inference-log.ts";
import { openWorkspace, type Workspace } from "../workspace.ts";
import { parseDesiredState } from "./desired-state.ts";
import { startUp, type UpHandle } from "./up.ts";

const YAML = `models:
  m: { description: toy }
deployments:
  web: { model: m@production }
`;

let tmp: { path: string; remove(): void };
let ws: Workspace;
let up: UpHandle | undefined;
const clock = createManualClock(Date.UTC(2001, 1, 3));

beforeEach(async () => {
  tmp = makeTempDir();
  ws = await openWorkspace({ dir: tmp.path, clock, logger: silentLogger, env: {} });
});
afterEach(async () => {
  await up?.stop();
  await ws.close();
  tmp.remove();
});

/** Registers version 1 of "m" and, unless `promote` is false, points @production at it. */
async function register(promote: boolean): Promise<void> {
  const registry = createRegistryService({ ...ws, events: createRegistryEvents() });
  const x = Float64Array.from({ length: 400 }, (_, i) => (i % 100) / 100);
  const model = gbdt({ objective: "binary", nRounds: 10, maxDepth: 2, nThreads: 1 }).fit(
    frameFromColumns({ x, y: x.map((v) => (v > 0.5 ? 1 : 0)) }),
    "y",
  );
  const blob = await ws.blobs.put(Buffer.from(JSON.stringify(model.toJSON())));
  await registry.createVersion("m", {
    blobId: blob.id,
    flavor: "native",
    signature: { inputs: [{ name: "x", type: "double" }], outputs: [{ name: "y", type: "double" }] },
  });
  if (promote) await registry.setAlias("m", "production", 1);
}

async function predict(url: string, name: string): Promise<Response> {
  return fetch(`${url}/v1/models/${name}/predict`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-request-id": "r1" },
    body: JSON.stringify({ instances: [[0.9], [0.1]] }),
  });
}

it("serves a deployment once its alias is set by another process after up started", async () => {
  const lines: string[] = [];
  up = await startUp({
    ws,
    desired: parseDesiredState(YAML),
    roles: ["serving"],
    port: 0,
    log: (l) => lines.push(l),
  });
  const url = up.url ?? "";
  expect((await predict(url, "web")).status).toBe(404);
  expect(lines.join("\n")).toMatch(/deployment web: not served yet/);

  // A separate registry (no shared in-process events): up finds it by looking at the stored deployments.
  await register(true);
  let status = 0;
  for (let i = 0; i < 100 && status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 100));
    status = (await predict(url, "web")).status;
  }
  expect(status).toBe(200);
  const answer = (await (await predict(url, "m")).json()) as { model_version: string };
  expect(answer.model_version).toBe("1");
  expect(lines).toContain("serving m (version 1)");

  await up.flushInferenceLog();
  const log = await readInferenceLog(ws, { model: "m" });
  expect(log.rows).toBeGreaterThanOrEqual(2);
  expect([...log.ts].every((t) => t === clock.now())).toBe(true);
}, 30_000);

it("serves a deployment created while up runs", async () => {
  up = await startUp({
    ws,
    desired: parseDesiredState("models:\n  m: { description: toy }\n"),
    roles: ["serving"],
    port: 0,
    log: () => undefined,
  });
  await register(true);
  expect((await predict(up.url ?? "", "web")).status).toBe(404);
  await createDeploymentService(ws).upsert({ name: "web", model: "m@production" });
  let status = 0;
  for (let i = 0; i < 100 && status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 100));
    status = (await predict(up.url ?? "", "web")).status;
  }
  expect(status).toBe(200);
}, 30_000);
