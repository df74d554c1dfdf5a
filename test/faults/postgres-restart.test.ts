// PostgreSQL restarted under a serving replica and the control plane: predictions keep coming from the models in
// memory, writes fail with 503 while it is down and succeed when retried, the inference log loses no row, and
// the replica follows an alias move made after the restart.
import { spawn } from "node:child_process";
import { dirname } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { sql } from "kysely";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createRegistryEvents } from "../../src/registry/events.ts";
import { createRegistryService } from "../../src/registry/service.ts";
import { readInferenceLog } from "../../src/serving/inference-log.ts";
import { openWorkspace, type Workspace } from "../../src/workspace.ts";
import { freePort } from "../setup/ports.ts";
import { startPostgres, type PostgresServer } from "../setup/postgres.ts";
import { makeTempDir } from "../setup/tmp.ts";
import { startLoopml, until } from "../scale/procs.ts";
import { sendTraffic } from "../scale/traffic.ts";
import { call, ok } from "./http.ts";
import { seedToyModel } from "./toy-model.ts";

const PG_BIN = "/usr/lib/postgresql/15/bin";
let pg: PostgresServer;
const tmp = makeTempDir("loopml-fault-pg-");
beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(() => {
  pg?.stop();
  tmp.remove();
});

function asPostgres(cmd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn("su", ["postgres", "-c", cmd], { stdio: "ignore" });
    c.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}`))));
  });
}

/** Stops the server, waits `downMs`, starts it again with the options it had: without blocking this process. */
async function restartPostgres(ws: Workspace, downMs: number): Promise<void> {
  const { rows } = await sql<{ data_directory: string }>`show data_directory`.execute(ws.store.db);
  const data = rows[0]?.data_directory as string;
  const port = new URL(pg.url()).port;
  await asPostgres(`${PG_BIN}/pg_ctl -D ${data} -m fast -w stop >/dev/null`);
  await delay(downMs);
  await asPostgres(
    `${PG_BIN}/pg_ctl -D ${data} -l ${dirname(data)}/server.log -o '-p ${port} -k ${dirname(data)} -c listen_addresses=127.0.0.1 -c fsync=off' -w start >/dev/null`,
  );
}

it("[slow] serving continues from memory and writes succeed on retry across a PostgreSQL restart", async () => {
  if (pg.external) return; // a CI service container cannot be restarted from here
  pg.createDatabase("restart");
  const env = { LOOPML_STORE: pg.url("restart") };
  const dir = tmp.path;
  const ws = await openWorkspace({ dir, env });
  const servePort = await freePort();
  const controlPort = await freePort();
  const replica = startLoopml(["serve", "m@production", "--port", String(servePort), "--poll-ms", "200"], {
    cwd: dir,
    env,
  });
  const control = startLoopml(["server", "--port", String(controlPort)], { cwd: dir, env });
  try {
    await seedToyModel(ws);
    await Promise.all([replica.waitFor(/serving m/), control.waitFor(/listening on/)]);
    const serve = `http://127.0.0.1:${servePort}`;
    const api = `http://127.0.0.1:${controlPort}`;
    const run = (await ok(api, "POST", "/api/v1/runs", { experiment: "pg-restart" })) as { id: string };

    const traffic = sendTraffic(
      [serve],
      "/v1/models/m@production/predict",
      { instances: [{ x: 0.4 }] },
      {
        clients: 2,
        pauseMs: 5,
      },
    );
    // A client logging one metric point per step, retrying each until it is stored.
    let step = 0;
    let refused = 0;
    const unexpected: string[] = [];
    let writing = true;
    const writer = (async () => {
      while (writing) {
        const body = { metrics: [{ key: "loss", value: 1 / (step + 1), step, timestamp: 1 }] };
        for (;;) {
          const r = await call(api, "POST", `/api/v1/runs/${run.id}/batch`, body);
          if (r.status === 200) break;
          // Down means "no answer" or 503 UNAVAILABLE, never a 500 that reads like a bug.
          if (r.status !== 0 && r.status !== 503) unexpected.push(`${r.status} ${JSON.stringify(r.body)}`);
          refused++;
          await delay(200);
        }
        step++;
        await delay(20);
      }
    })();
    await until("traffic before the restart", () => traffic.stats.ok > 50);
    const okBefore = traffic.stats.ok;
    await restartPostgres(ws, 3000);
    const okDuringRestart = traffic.stats.ok - okBefore;
    await until(
      "writes after the restart",
      () => step > 0 && refused > 0 && traffic.stats.ok > okBefore + 200,
    );
    // The replica still follows the registry once PostgreSQL is back.
    const registry = createRegistryService({ ...ws, events: createRegistryEvents() });
    await registry.setAlias("m", "production", 2, { expect: 1 });
    await until(
      "the replica serving version 2",
      () => traffic.stats.latestVersion.get(serve) === "2",
      30_000,
    );
    writing = false;
    await writer;
    const stats = await traffic.stop();
    expect(stats.errors).toEqual([]);
    expect(stats.failed).toBe(0);
    expect(okDuringRestart).toBeGreaterThan(20);
    expect(refused).toBeGreaterThan(0);
    expect(unexpected).toEqual([]);

    // Every point once, none lost, none doubled.
    const { points } = (await ok(api, "GET", `/api/v1/runs/${run.id}/metrics/loss`)) as {
      points: { step: number }[];
    };
    expect(points.map((p) => p.step)).toEqual(Array.from({ length: step }, (_, i) => i));
    // The replica flushes its inference log on SIGTERM: every answered prediction is in it.
    await replica.stop();
    expect(await replica.exited).toBe(0);
    expect((await readInferenceLog(ws, { model: "m" })).rows).toBe(stats.ok);
    expect((await ws.audit.verify()).ok).toBe(true);
  } finally {
    await Promise.all([replica.stop(), control.stop()]);
    await ws.close();
  }
}, 120_000);
