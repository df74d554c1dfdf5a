// Fuzzing every control-plane route (native, MLflow REST, artifacts, monitors) through app.inject: no 5xx, no stack,
// a named 4xx for bad input, and a rejected request leaves the audit chain as it was.
import { join } from "node:path";
import fc from "fast-check";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createManualClock, createSequentialIds } from "../../src/_internal/clock.ts";
import { createApp } from "../../src/server/app.ts";
import { openWorkspace, type Workspace } from "../../src/workspace.ts";
import { makeTempDir } from "../setup/tmp.ts";

const SEED = 20261127;
const tmp = makeTempDir();
let ws: Workspace;
let app: FastifyInstance;
let routes: { method: string; path: string }[] = [];
const ids: string[] = [];

beforeAll(async () => {
  ws = await openWorkspace({
    dir: tmp.path,
    store: "sqlite:.loopml/loopml.db",
    artifacts: `file:${join(tmp.path, "objects")}`,
    clock: createManualClock(),
    ids: createSequentialIds(),
    actor: "local:fuzz",
  });
  app = await createApp({ workspace: ws, auth: { allowAnonymous: true }, bodyLimit: 256 * 1024 });
  // Some state for the fuzzer to aim at: an experiment, a run, a registered model.
  const post = async <T>(url: string, payload: Record<string, unknown>) =>
    (await app.inject({ method: "POST", url, payload })).json<T>();
  const exp = await post<{ experiment_id: string }>("/api/2.0/mlflow/experiments/create", { name: "e" });
  ids.push(exp.experiment_id);
  const run = await post<{ run: { info: { run_id: string } } }>("/api/2.0/mlflow/runs/create", {
    experiment_id: exp.experiment_id,
  });
  ids.push(run.run.info.run_id);
  await post("/api/2.0/mlflow/registered-models/create", { name: "m" });
  const doc = (await app.inject("/openapi.json")).json<{ paths: Record<string, Record<string, unknown>> }>();
  routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((method) => ({ method: method.toUpperCase(), path })),
  );
});
afterAll(async () => {
  await app.close();
  await ws.close();
  tmp.remove();
});

async function auditHead(): Promise<string> {
  const rows = await ws.store.db
    .selectFrom("audit_events")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirstOrThrow();
  const last = await ws.store.db
    .selectFrom("audit_events")
    .selectAll()
    .orderBy("seq", "desc")
    .limit(1)
    .executeTakeFirst();
  return `${String(rows.n)}:${JSON.stringify(last ?? null)}`;
}

const KEYS = [
  "experiment_id",
  "experiment_ids",
  "run_id",
  "run_uuid",
  "name",
  "new_name",
  "key",
  "value",
  "timestamp",
  "step",
  "filter",
  "filter_string",
  "max_results",
  "page_token",
  "order_by",
  "metrics",
  "params",
  "tags",
  "version",
  "alias",
  "stage",
  "source",
  "description",
  "run_name",
  "view_type",
  "status",
  "end_time",
  "path",
  "experiment",
  "limit",
  "datasets",
  "model_json",
  "spec",
] as const;
const value = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom("e", "m", "1", "../../etc/passwd", "/etc/passwd", "metrics.auc > 'x'", "NaN", -1, 1e308),
  fc.constant(null).map(() => ids[0] ?? "0"),
  fc.constant(null).map(() => ids[1] ?? "0"),
  fc.array(
    fc.record(
      { key: fc.string({ maxLength: 5 }), value: fc.jsonValue({ maxDepth: 1 }), step: fc.jsonValue() },
      { requiredKeys: [] },
    ),
    { maxLength: 3 },
  ),
);
const body = fc.oneof(
  fc.dictionary(fc.constantFrom(...KEYS), value, { maxKeys: 6 }),
  fc.jsonValue({ maxDepth: 2 }),
);
const segment = fc.oneof(
  fc.constantFrom("e", "m", "1", "..", "%2e%2e", "%2e%2e%2f%2e%2e%2fetc", "a%00b", "con", "x".repeat(300)),
  fc.string({ maxLength: 8 }).map(encodeURIComponent),
  fc.constant(null).map(() => ids[1] ?? "0"),
);

describe("control-plane routes under fuzzing", () => {
  it("every route answers 2xx/3xx or a named 4xx, and a rejected request leaves the audit head unchanged", async () => {
    expect(routes.length).toBeGreaterThan(40);
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        body,
        fc.dictionary(fc.constantFrom(...KEYS), value, { maxKeys: 4 }),
        fc.array(segment, { minLength: 3, maxLength: 3 }),
        fc.constantFrom("application/json", "text/plain", "application/octet-stream"),
        async (pick, payload, query, segs, type) => {
          const route = routes[pick % routes.length]!;
          seen.add(`${route.method} ${route.path}`);
          let k = 0;
          const url =
            route.path.replace(/\{[^}]+\}/g, () => segs[k++ % segs.length] ?? "x") +
            "?" +
            new URLSearchParams(
              Object.entries(query).map(([q, v]) => [q, typeof v === "string" ? v : JSON.stringify(v)]),
            ).toString();
          const before = await auditHead();
          const hasBody = !["GET", "HEAD"].includes(route.method);
          const res = await app.inject({
            method: route.method as "GET",
            url,
            ...(hasBody && {
              payload:
                type === "application/json" ? JSON.stringify(payload) : String(JSON.stringify(payload)),
              headers: { "content-type": type },
            }),
          });
          const where = `${route.method} ${url} → ${res.statusCode}: ${res.body.slice(0, 300)}`;
          expect(res.statusCode, where).toBeLessThan(500);
          expect(res.body, where).not.toMatch(/\n\s+at /);
          if (res.statusCode >= 400) {
            const json = res.json<Record<string, unknown>>();
            const named =
              (typeof json["code"] === "string" || typeof json["error_code"] === "string") &&
              typeof json["message"] === "string";
            expect(named, where).toBe(true);
            expect(await auditHead(), `${where} changed the audit log`).toBe(before);
          }
        },
      ),
      { seed: SEED, numRuns: 1500 },
    );
    expect(seen.size).toBeGreaterThan(routes.length / 2);
    // Whatever the fuzzer did get through, it was chained properly.
    expect((await ws.audit.verify()).ok).toBe(true);
  });
});
