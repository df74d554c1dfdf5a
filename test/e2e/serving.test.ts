// loopml serve and loopml predict as a user runs them: a real socket, a real file, XGBoost's own numbers.
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "../setup/ports.ts";
import { makeTempDir } from "../setup/tmp.ts";
import { frameFromColumns } from "../../src/learn/frame.ts";
import { gbdt } from "../../src/learn/gbdt/index.ts";
import { createRegistryEvents } from "../../src/registry/events.ts";
import { createRegistryService } from "../../src/registry/service.ts";
import { readInferenceLog } from "../../src/serving/inference-log.ts";
import { openWorkspace } from "../../src/workspace.ts";
import { loopml } from "./cli.ts";

const FIXTURE = join(import.meta.dirname, "..", "..", "src", "serving", "fixtures", "xgb-binary");
const BIN = join(import.meta.dirname, "..", "..", "bin", "loopml.js");
const expected = JSON.parse(readFileSync(join(FIXTURE, "expected.json"), "utf8")) as {
  inputs: (number | null)[][];
  predictions: number[];
};

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = makeTempDir("loopml-serving-e2e-");
  cleanups.push(() => dir.remove());
  return dir.path;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill("SIGTERM");
  for (let i = 0; i < 100 && child.exitCode === null; i++) await sleep(50);
  if (child.exitCode === null) child.kill("SIGKILL");
}

describe("serving end to end", () => {
  it("loopml predict scores a CSV file equal to XGBoost", () => {
    const dir = tempDir();
    copyFileSync(join(FIXTURE, "m.json"), join(dir, "m.json"));
    const csv = [
      "f_0,f_1,f_2,f_3,f_4",
      ...expected.inputs.map((r) => r.map((v) => (v === null ? "" : String(v))).join(",")),
    ].join("\n");
    writeFileSync(join(dir, "in.csv"), csv);
    const r = loopml(
      ["predict", "m.json", "--input", "in.csv", "--output", "out.csv", "--probabilities", "--json"],
      { cwd: dir },
    );
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ rows: expected.inputs.length, runtime: "xgboost-json" });
    const lines = readFileSync(join(dir, "out.csv"), "utf8").trim().split("\n").slice(1);
    lines.forEach((line, i) => {
      const p1 = Number(line.split(",")[2]);
      expect(Math.abs(p1 - (expected.predictions[i] as number))).toBeLessThanOrEqual(1e-6);
    });
    const bad = loopml(["predict", "missing.json", "--input", "in.csv", "--output", "o.csv"], { cwd: dir });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/Cannot read model file "missing.json"/);
  });

  it("loopml serve answers all three protocols on a real port and stops on SIGTERM", async () => {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        BIN,
        "serve",
        `churn=${join(FIXTURE, "m.json")}`,
        "--port",
        String(port),
        "--alias",
        "production",
        "--no-access-log",
      ],
      {
        stdio: ["ignore", "ignore", "pipe"],
        env: { ...process.env, LOOPML_STORE: undefined, LOOPML_ARTIFACTS: undefined },
      },
    );
    cleanups.push(() => stop(child));
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 600 && !stderr.includes("serving churn"); i++) {
      if (child.exitCode !== null) throw new Error(`loopml serve exited: ${stderr}`);
      await sleep(50);
    }
    expect(stderr).toMatch(/serving churn \(xgboost-json, version 1\) on http:\/\/127\.0\.0\.1/);
    const post = async (path: string, body: unknown) => {
      const res = await fetch(base + path, {
        method: "POST",
        body: JSON.stringify(body),
        headers: { "content-type": "application/json" },
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const rows = expected.inputs.slice(0, 3);
    const v1 = await post("/v1/models/churn@production/predict", { instances: rows, probabilities: true });
    expect(v1.status).toBe(200);
    const mlflow = await post("/invocations", {
      dataframe_split: { columns: ["f_0", "f_1", "f_2", "f_3", "f_4"], data: rows },
    });
    (mlflow.body.predictions as number[]).forEach((p, i) =>
      expect(Math.abs(p - (expected.predictions[i] as number))).toBeLessThanOrEqual(1e-6),
    );
    const v2 = await post("/v2/models/churn/infer", {
      inputs: [{ name: "x", shape: [3, 5], datatype: "FP64", data: rows }],
    });
    expect(v2.status).toBe(200);
    const unknown = await post("/v1/models/other/predict", { instances: rows });
    expect(unknown.status).toBe(404);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/loopml_serving_requests_total\{model="churn",version="1",protocol="mlflow"\} 1/);
    await stop(child);
    expect(child.exitCode).toBe(0);
  });

  it("loopml serve NAME@ALIAS follows a promotion made by another process and logs predictions", async () => {
    const dir = tempDir();
    const ws = await openWorkspace({ dir, actor: "ci" });
    cleanups.push(() => ws.close());
    const registry = createRegistryService({ ...ws, events: createRegistryEvents() });
    await registry.createModel("churn");
    const x = Array.from({ length: 200 }, (_, i) => i / 50);
    for (const scale of [1, 5]) {
      const model = gbdt({ objective: "regression", nRounds: 5, maxDepth: 2, seed: 1 }).fit(
        frameFromColumns({ x, y: x.map((v) => scale * (v + 10)) }),
        "y",
      );
      const { id } = await ws.blobs.put(Buffer.from(JSON.stringify(model.toJSON())));
      await registry.createVersion("churn", { blobId: id, flavor: "native" });
    }
    await registry.setAlias("churn", "production", 1);
    await registry.setAlias("churn", "challenger", 2);
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        BIN,
        "serve",
        "churn@production",
        "--canary",
        "churn@challenger:50%",
        "--port",
        String(port),
        "--poll-ms",
        "100",
        "--no-access-log",
      ],
      {
        cwd: dir,
        stdio: ["ignore", "ignore", "pipe"],
        env: { ...process.env, LOOPML_STORE: undefined, LOOPML_ARTIFACTS: undefined },
      },
    );
    cleanups.push(() => stop(child));
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    for (let i = 0; i < 600 && !stderr.includes("serving churn"); i++) {
      if (child.exitCode !== null) throw new Error(`loopml serve exited: ${stderr}`);
      await sleep(50);
    }
    expect(stderr).toMatch(/serving churn \(native, version 1\), churn \(native, version 2, canary\)/);
    const predict = async (key: string) => {
      const res = await fetch(`http://127.0.0.1:${port}/v1/models/churn@production/predict`, {
        method: "POST",
        body: JSON.stringify({ instances: [[1]] }),
        headers: { "content-type": "application/json", "x-loopml-key": key, "x-request-id": `req-${key}` },
      });
      return (await res.json()) as { model_version: string };
    };
    const versions = new Set<string>();
    for (let i = 0; i < 30; i++) versions.add((await predict(`u${i}`)).model_version);
    expect(versions).toEqual(new Set(["1", "2"]));
    // Another process (this test) moves the alias; the server sees it in the audit log.
    await registry.setAlias("churn", "production", 2);
    for (let i = 0; i < 200 && !stderr.includes("primary churn@production is now version 2"); i++)
      await sleep(50);
    expect(stderr).toMatch(/churn: primary churn@production is now version 2 \(was 1\)/);
    expect((await predict("u0")).model_version).toBe("2");
    await stop(child);
    expect(child.exitCode).toBe(0);
    // Stopping flushed the inference log; every answered request is there with its version.
    const log = await readInferenceLog(ws, { model: "churn" });
    expect(log.rows).toBe(31);
    expect(log.requestIds).toContain("req-u7");
    expect(Array.from(new Set(log.versions)).sort()).toEqual([1, 2]);
    const swaps = await ws.audit.list({ action: "serving.swap" });
    expect(swaps.at(-1)?.target).toBe("serving:churn");
    // Batch scoring goes through the same registry loading as the server.
    writeFileSync(join(dir, "in.csv"), "x\n1\n2\n");
    const scored = loopml(["predict", "churn:1", "--input", "in.csv", "--output", "out.csv", "--json"], {
      cwd: dir,
    });
    expect(scored.stderr).toBe("");
    expect(JSON.parse(scored.stdout)).toMatchObject({ rows: 2, runtime: "native" });
    const missing = loopml(["predict", "churn@nope", "--input", "in.csv", "--output", "o.csv"], { cwd: dir });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/nope/);
  });
});
