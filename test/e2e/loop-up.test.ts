// loopml up as a user runs it: one process from loopml.yaml serving over a real socket, stopped by SIGTERM
// after finishing its requests and flushing the inference log.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, expect, it } from "vitest";
import { freePort } from "../setup/ports.ts";
import { makeTempDir } from "../setup/tmp.ts";
import { frameFromColumns } from "../../src/learn/frame.ts";
import { gbdt } from "../../src/learn/gbdt/index.ts";
import { createRegistryEvents } from "../../src/registry/events.ts";
import { createRegistryService } from "../../src/registry/service.ts";
import { readInferenceLog } from "../../src/serving/inference-log.ts";
import { openWorkspace } from "../../src/workspace.ts";

const BIN = join(import.meta.dirname, "..", "..", "bin", "loopml.js");
const tmp = makeTempDir("loopml-up-e2e-");
afterAll(() => tmp.remove());

const YAML = `project: up-test
models:
  m: { description: toy }
deployments:
  web: { model: m@production }
`;

async function seedModel(dir: string): Promise<void> {
  const ws = await openWorkspace({ dir, env: {} });
  try {
    const registry = createRegistryService({ ...ws, events: createRegistryEvents() });
    const x = Float64Array.from({ length: 400 }, (_, i) => (i % 100) / 100);
    const frame = frameFromColumns({ x, y: x.map((v) => (v > 0.5 ? 1 : 0)) });
    const model = gbdt({ objective: "binary", nRounds: 10, maxDepth: 2, nThreads: 1 }).fit(frame, "y");
    const blob = await ws.blobs.put(Buffer.from(JSON.stringify(model.toJSON())));
    await registry.createModel("m", { description: "toy" });
    await registry.createVersion("m", {
      blobId: blob.id,
      flavor: "native",
      signature: { inputs: [{ name: "x", type: "double" }], outputs: [{ name: "y", type: "double" }] },
    });
    await registry.setAlias("m", "production", 1);
  } finally {
    await ws.close();
  }
}

it("serves from loopml.yaml, answers /healthz and predictions, and exits 0 on SIGTERM with the log flushed", async () => {
  const dir = tmp.path;
  writeFileSync(join(dir, "loopml.yaml"), YAML);
  await seedModel(dir);
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, "up", "--port", String(port), "--tick", "1s"], {
    cwd: dir,
    env: { ...process.env, LOOPML_STORE: undefined, LOOPML_ARTIFACTS: undefined },
  });
  let stderr = "";
  child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  try {
    for (let i = 0; i < 300 && !stderr.includes("loopml up:"); i++) await sleep(100);
    expect(stderr).toMatch(/applied loopml\.yaml: 1 created, 1 changed/);
    expect(stderr).toMatch(/serving m \(version 1\)/);
    const base = `http://127.0.0.1:${port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const answers = await Promise.all(
      [0.1, 0.9, 0.2, 0.8].map(async (x) => {
        const res = await fetch(`${base}/v1/models/web/predict`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ instances: [{ x }] }),
        });
        expect(res.status).toBe(200);
        return ((await res.json()) as { predictions: number[] }).predictions[0];
      }),
    );
    expect(answers).toEqual([0, 1, 0, 1]);
    // The control plane API answers on the same port.
    expect((await fetch(`${base}/api/v1/models/m`)).status).toBe(200);
  } finally {
    child.kill("SIGTERM");
  }
  expect(await exited).toBe(0);
  expect(stderr).toMatch(/stopping/);
  const ws = await openWorkspace({ dir, env: {} });
  try {
    expect((await readInferenceLog(ws, { model: "m" })).rows).toBe(4);
  } finally {
    await ws.close();
  }
}, 60_000);
