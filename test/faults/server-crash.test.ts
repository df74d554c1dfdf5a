// kill -9 of a `loopml server` while clients register model versions and log metric batches: after a restart the
// store is consistent, the audit chain verifies, no write is torn, and a client that looks before it retries
// gets every write in exactly once; loopml's HTTP client gets that by itself (Idempotency-Key on its retries).
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttpTracking } from "../../src/tracking/http-client.ts";
import type { RunHandle } from "../../src/tracking/run-handle.ts";
import { openWorkspace } from "../../src/workspace.ts";
import { freePort } from "../setup/ports.ts";
import { makeTempDir } from "../setup/tmp.ts";
import { loopmlOk, runLoopml, startLoopml, until, type LoopmlChild } from "../scale/procs.ts";
import { call, ok } from "./http.ts";

const tmp = makeTempDir("loopml-fault-server-");
let port: number;
let base: string;
let server: LoopmlChild;

async function startServer(): Promise<void> {
  server = startLoopml(["server", "--port", String(port)], { cwd: tmp.path });
  await server.waitFor(/listening on/);
}

beforeAll(async () => {
  port = await freePort();
  base = `http://127.0.0.1:${port}`;
  await startServer();
});
afterAll(async () => {
  await server.stop();
  tmp.remove();
});

/**
 * Sends `total` writes through `clients` loops; once `killAfter` are answered the server is killed with SIGKILL
 * while the others are in flight. Returns which writes got an answer and how many were in flight at the kill.
 */
async function writeThroughCrash(
  total: number,
  killAfter: number,
  send: (i: number) => Promise<number>,
): Promise<{ acked: Set<number>; inFlightAtKill: number }> {
  const acked = new Set<number>();
  const inFlight = new Set<number>();
  let next = 0;
  let inFlightAtKill = -1;
  const loop = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      inFlight.add(i);
      const status = await send(i);
      inFlight.delete(i);
      if (status >= 200 && status < 300) acked.add(i);
      else if (status !== 0) throw new Error(`write ${i} answered ${status}`);
      if (acked.size >= killAfter && inFlightAtKill < 0) {
        inFlightAtKill = inFlight.size;
        process.kill(server.pid, "SIGKILL");
      }
    }
  };
  await Promise.all(Array.from({ length: 6 }, loop));
  await server.exited;
  return { acked, inFlightAtKill };
}

async function auditVerifies(): Promise<boolean> {
  return (JSON.parse(await loopmlOk(["audit", "verify", "--json"], { cwd: tmp.path })) as { ok: boolean }).ok;
}

describe("kill -9 of loopml server mid-write", () => {
  it("model registrations: no torn version, each request registered exactly once after retries", async () => {
    await ok(base, "POST", "/api/v1/models", { name: "m" });
    const total = 60;
    const register = (i: number): Promise<number> =>
      call(base, "POST", "/api/v1/models/m/versions", {
        source: `s3://models/r${i}/model.json`,
        tags: { request: `r${i}` },
      }).then((r) => r.status);
    const { acked, inFlightAtKill } = await writeThroughCrash(total, 20, register);
    expect(inFlightAtKill).toBeGreaterThan(0);
    expect(acked.size).toBeLessThan(total);

    await startServer();
    // The careful client: for each write without an answer, look whether it landed before sending it again.
    const landed = async (): Promise<Map<string, number>> => {
      const { versions } = (await ok(base, "GET", "/api/v1/models/m/versions")) as {
        versions: { version: number; tags: Record<string, string> }[];
      };
      const byRequest = new Map<string, number>();
      for (const v of versions)
        byRequest.set(v.tags["request"] ?? "", (byRequest.get(v.tags["request"] ?? "") ?? 0) + 1);
      return byRequest;
    };
    const before = await landed();
    for (let i = 0; i < total; i++) {
      if (acked.has(i)) expect(before.get(`r${i}`)).toBe(1);
      else if (!before.has(`r${i}`)) expect(await register(i)).toBe(201);
    }
    const after = await landed();
    expect([...after.values()].every((n) => n === 1)).toBe(true);
    expect(after.size).toBe(total);
    const { versions } = (await ok(base, "GET", "/api/v1/models/m/versions")) as {
      versions: { version: number }[];
    };
    // Numbers stay dense: a crashed transaction used no number.
    expect(versions.map((v) => v.version).sort((a, b) => a - b)).toEqual(
      Array.from({ length: total }, (_, i) => i + 1),
    );
    await server.stop();
    expect(await auditVerifies()).toBe(true);
    const ws = await openWorkspace({ dir: tmp.path, env: {} });
    try {
      expect((await ws.audit.list({ action: "model.version.create", limit: 1000 })).length).toBe(total);
    } finally {
      await ws.close();
    }
    await startServer();
  });

  it("metric batches: each batch is stored whole or not at all, and the retried series has every step once", async () => {
    const run = (await ok(base, "POST", "/api/v1/runs", { experiment: "crash" })) as { id: string };
    const batches = 80;
    const size = 500;
    const send = (b: number): Promise<number> =>
      call(base, "POST", `/api/v1/runs/${run.id}/batch`, {
        metrics: Array.from({ length: size }, (_, j) => ({
          key: "loss",
          value: 1 / (1 + b * size + j),
          step: b * size + j,
          timestamp: 1_700_000_000_000 + b,
        })),
      }).then((r) => r.status);
    const { acked, inFlightAtKill } = await writeThroughCrash(batches, 25, send);
    expect(inFlightAtKill).toBeGreaterThan(0);

    await startServer();
    const stepsPerBatch = async (): Promise<number[]> => {
      const { points } = (await ok(base, "GET", `/api/v1/runs/${run.id}/metrics/loss`)) as {
        points: { step: number }[];
      };
      const counts = new Array<number>(batches).fill(0);
      for (const p of points) counts[Math.floor(p.step / size)]! += 1;
      return counts;
    };
    const before = await stepsPerBatch();
    // Whole or nothing: a batch the crash interrupted left no points behind.
    expect(before.every((n) => n === 0 || n === size)).toBe(true);
    for (const b of acked) expect(before[b]).toBe(size);
    for (let b = 0; b < batches; b++) if (before[b] === 0) expect(await send(b)).toBe(200);
    expect(await stepsPerBatch()).toEqual(new Array<number>(batches).fill(size));
    const summary = (await ok(base, "GET", `/api/v1/runs/${run.id}`)) as {
      metrics: Record<string, { count?: number; last: number }>;
    };
    // The per-key summary was updated in the batch's transaction: it counts what the series holds.
    expect(summary.metrics["loss"]?.count ?? batches * size).toBe(batches * size);
    await server.stop();
    expect(await auditVerifies()).toBe(true);
    await startServer();
  });

  it("dataset versions: `loopml data add` killed mid-write leaves no version, and adding again makes exactly one", async () => {
    const csv = join(tmp.path, "big.csv");
    // ~12 MB of distinct rows: long enough to be killed while chunks are being written.
    const rows: string[] = ["id,x,y"];
    for (let i = 0; i < 600_000; i++) rows.push(`${i},${(i * 7919) % 1000003},${(i * 104729) % 999983}`);
    writeFileSync(csv, `${rows.join("\n")}\n`);
    const add = startLoopml(["data", "add", csv, "--name", "big"], { cwd: tmp.path });
    const objects = join(tmp.path, ".loopml", "objects");
    const started = (): boolean => {
      try {
        return readdirSync(objects).length > 2;
      } catch {
        return false;
      }
    };
    await until("data add writing chunks", started, 60_000);
    process.kill(add.pid, "SIGKILL");
    await add.exited;

    // Either the dataset was never created or it has no version: nothing half-written is visible.
    const listed = await runLoopml(["data", "versions", "big", "--json"], { cwd: tmp.path });
    if (listed.status === 0) expect(JSON.parse(listed.stdout)).toEqual([]);
    else expect(listed.stderr).toContain('"NOT_FOUND"');
    await server.stop();
    expect(await auditVerifies()).toBe(true);
    const first = JSON.parse(
      await loopmlOk(["data", "add", csv, "--name", "big", "--json"], { cwd: tmp.path }),
    ) as {
      created: boolean;
      version: { seq: number };
    };
    expect(first).toMatchObject({ created: true, version: { seq: 1 } });
    const again = JSON.parse(
      await loopmlOk(["data", "add", csv, "--name", "big", "--json"], { cwd: tmp.path }),
    ) as {
      created: boolean;
      version: { seq: number };
    };
    expect(again).toMatchObject({ created: false, version: { seq: 1 } });
    expect(await auditVerifies()).toBe(true);
    await startServer();
  });

  const CLIENTS = 6;
  const BATCHES = 15;
  const BATCH = 200;

  it("HTTP client: batches in flight at a kill -9 are retried by the client and stored exactly once", async () => {
    const client = createHttpTracking({ url: base });
    const runs: RunHandle[] = [];
    for (let c = 0; c < CLIENTS; c++)
      runs.push(await client.startRun({ experiment: "crash-retry", batchSize: BATCH }));

    let flushed = 0;
    let inFlight = 0;
    let inFlightAtKill = -1;
    const restarted = (async () => {
      while (flushed < (CLIENTS * BATCHES) / 3) await new Promise((r) => setTimeout(r, 5));
      inFlightAtKill = inFlight;
      process.kill(server.pid, "SIGKILL");
      await server.exited;
      await new Promise((r) => setTimeout(r, 500));
      await startServer();
    })();
    await Promise.all(
      runs.map(async (run) => {
        for (let step = 0; step < BATCHES * BATCH; step++) {
          // the last point of a batch makes logMetric send it
          const sends = step % BATCH === BATCH - 1;
          if (sends) inFlight++;
          await run.logMetric("loss", 1 / (step + 1), step);
          if (sends) {
            inFlight--;
            flushed++;
          }
        }
        await run.end();
      }),
    );
    await restarted;
    expect(inFlightAtKill).toBeGreaterThan(0);

    for (const run of runs) {
      const { points } = (await ok(base, "GET", `/api/v1/runs/${run.id}/metrics/loss`)) as {
        points: { step: number }[];
      };
      expect(points).toHaveLength(BATCHES * BATCH);
      expect(new Set(points.map((p) => p.step)).size).toBe(BATCHES * BATCH);
      const got = (await ok(base, "GET", `/api/v1/runs/${run.id}`)) as { info: { status: string } };
      expect(got.info.status).toBe("FINISHED");
    }
    await server.stop();
    expect(await auditVerifies()).toBe(true);
    await startServer();
  }, 90_000);
});
