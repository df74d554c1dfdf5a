// The server commits a write and its answer is lost on the way back (a proxy cuts the connection after the server
// answered): loopml's HTTP client retries under the same Idempotency-Key and the write lands exactly once. A
// load balancer's 502 page is retried as well.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createApp } from "../../src/server/app.ts";
import { createHttpTracking } from "../../src/tracking/http-client.ts";
import { createTrackingService } from "../../src/tracking/service.ts";
import { openWorkspace, type Workspace } from "../../src/workspace.ts";
import { makeTempDir } from "../setup/tmp.ts";

const tmp = makeTempDir("loopml-fault-lost-");
let ws: Workspace;
let app: FastifyInstance;
let proxy: Server;
let proxyUrl = "";
/** Idempotency keys the proxy saw, per "METHOD path" (path without the run id). */
const seen = new Map<string, (string | undefined)[]>();
/** Requests whose first answer the proxy throws away. */
const LOSE_FIRST = new Set(["POST /api/v1/runs", "POST /api/v1/runs/:id/batch"]);

function routeOf(req: IncomingMessage): string {
  return `${req.method} ${(req.url ?? "").replace(/\/runs\/[0-9a-f]{32}/, "/runs/:id")}`;
}

beforeAll(async () => {
  ws = await openWorkspace({ dir: tmp.path, env: {} });
  app = await createApp({ workspace: ws, auth: { allowAnonymous: true } });
  const upstream = await app.listen({ host: "127.0.0.1", port: 0 });
  proxy = createServer((req, res) => {
    const route = routeOf(req);
    const keys = seen.get(route) ?? [];
    seen.set(route, keys);
    const key = req.headers["idempotency-key"];
    keys.push(typeof key === "string" ? key : undefined);
    if (route === "PATCH /api/v1/runs/:id" && keys.length === 1) {
      // a load balancer's error page, not JSON, for the first attempt to end the run
      res.writeHead(502, { "content-type": "text/html" }).end("<html><body>502 Bad Gateway</body></html>");
      return;
    }
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(([k]) => !["host", "connection", "content-length"].includes(k)),
      ) as Record<string, string>;
      void fetch(`${upstream}${req.url ?? ""}`, {
        method: req.method ?? "GET",
        headers,
        ...(parts.length > 0 && { body: Buffer.concat(parts) }),
      }).then(async (answer) => {
        const body = Buffer.from(await answer.arrayBuffer());
        // The server has committed and answered; the client never hears it.
        if (LOSE_FIRST.has(route) && keys.length === 1) {
          req.socket.destroy();
          return;
        }
        res.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "" }).end(body);
      });
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => proxy.close(resolve));
  await app.close();
  await ws.close();
  tmp.remove();
});

it("[slow] a run start and a metric batch whose answers were lost are retried under one key and land once", async () => {
  const client = createHttpTracking({ url: proxyUrl });
  const run = await client.startRun({ experiment: "lossy", batchSize: 500 });
  for (let step = 0; step < 500; step++) await run.logMetric("loss", 1 / (step + 1), step);
  await run.end();

  // each lost answer was retried once, with the key of its first attempt
  for (const route of LOSE_FIRST) {
    const keys = seen.get(route) ?? [];
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
  }
  // a 502 page is retried too (PATCH needs no key: setting a status twice is the same)
  expect(seen.get("PATCH /api/v1/runs/:id")).toHaveLength(2);
  const tracking = createTrackingService(ws);
  const runs = await tracking.searchRuns({ experiments: ["lossy"] });
  expect(runs.runs.map((r) => r.info.id)).toEqual([run.id]);
  const loss = await tracking.metricHistory(run.id, "loss");
  expect(loss).toHaveLength(500);
  expect(new Set(loss.map((p) => p.step)).size).toBe(500);
  expect((await tracking.getRun(run.id)).info.status).toBe("FINISHED");
}, 60_000);
