// kill -9 of `loopml server` while loopml's HTTP client logs metric batches from several runs: the client retries
// every batch whose answer it did not get (same Idempotency-Key) until the restarted server answers, and each
// batch is stored exactly once, without the caller doing anything.
import { afterAll, beforeAll, expect, it } from "vitest";
import { createHttpTracking } from "../../src/tracking/http-client.ts";
import type { RunHandle } from "../../src/tracking/run-handle.ts";
import { freePort } from "../setup/ports.ts";
import { makeTempDir } from "../setup/tmp.ts";
import { loopmlOk, startLoopml, type LoopmlChild } from "../scale/procs.ts";
import { ok } from "./http.ts";

const tmp = makeTempDir("loopml-fault-retry-");
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

const CLIENTS = 6;
const BATCHES = 15;
const BATCH = 200;

it("[slow] batches in flight at a kill -9 are retried by the client and stored exactly once", async () => {
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
  const verify = JSON.parse(await loopmlOk(["audit", "verify", "--json"], { cwd: tmp.path })) as {
    ok: boolean;
  };
  expect(verify.ok).toBe(true);
}, 90_000);
