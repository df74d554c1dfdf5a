// Idempotency-Key on every create route: the same key twice makes one object and answers the same; another body
// under the key is a 422; the states a crash can leave (in flight, applied without answer, abandoned) answer safely.
import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createManualClock } from "../_internal/clock.ts";
import { usePostgres } from "../../test/setup/postgres.ts";
import { makeTempDir } from "../../test/setup/tmp.ts";
import { openWorkspace, type Workspace } from "../workspace.ts";
import { createApp } from "./app.ts";
import { isLoopmlError } from "../errors.ts";
import { beforeCommit } from "../store/transaction.ts";
import { createTrackingService } from "../tracking/service.ts";
import { KEY_TTL_MS, LEASE_MS, markApplied, REPLAYED_HEADER } from "./idempotency.ts";

const pg = usePostgres("idempotency");
suite("sqlite", () => undefined);
suite("postgres", () => pg.freshDatabaseUrl());

/** The same cases on each metadata backend: the key table, its upserts and the fenced update are SQL. */
function suite(backend: string, storeUrl: () => string | undefined): void {
  describe(backend, () => {
    const tmp = makeTempDir();
    const clock = createManualClock(Date.UTC(2026, 10, 27));
    let ws: Workspace;
    let app: FastifyInstance;
    let runId = "";

    beforeAll(async () => {
      const store = storeUrl();
      ws = await openWorkspace({
        dir: tmp.path,
        env: {},
        clock,
        actor: "local:test",
        ...(store !== undefined && { store }),
      });
      app = await createApp({ workspace: ws, auth: { allowAnonymous: true } });
      await post("/api/v1/experiments", { name: "idem" });
      runId = (await post("/api/v1/runs", { experiment: "idem" })).json<{ id: string }>().id;
      await post("/api/v1/models", { name: "m" });
      await post("/api/v1/models/m/versions", { source: "s3://models/base/model.json" });
    });
    afterAll(async () => {
      await app.close();
      await ws.close();
      tmp.remove();
    });

    function post(url: string, payload: object, key?: string) {
      return app.inject({
        method: "POST",
        url,
        payload,
        headers: key === undefined ? {} : { "idempotency-key": key },
      });
    }

    async function count(query: string): Promise<number> {
      const { rows } = await sql.raw<{ n: number }>(query).execute(ws.store.db);
      return Number(rows[0]?.n ?? 0);
    }

    /** Every route that creates something, with the body to send and how to count what it created. */
    const CREATE_ROUTES: readonly {
      readonly name: string;
      readonly url: () => string;
      readonly body: (i: number) => object;
      readonly count: () => Promise<number>;
    }[] = [
      {
        name: "experiment",
        url: () => "/api/v1/experiments",
        body: (i) => ({ name: `exp-${i}` }),
        count: () => count("select count(*) as n from experiments"),
      },
      {
        name: "run",
        url: () => "/api/v1/runs",
        body: () => ({ experiment: "idem", name: "again" }),
        count: () => count("select count(*) as n from runs"),
      },
      {
        name: "metric batch",
        url: () => `/api/v1/runs/${runId}/batch`,
        body: () => ({ metrics: [{ key: "loss", value: 0.5, step: 1, timestamp: 1 }] }),
        count: () => count("select count(*) as n from run_metrics"),
      },
      {
        name: "model",
        url: () => "/api/v1/models",
        body: (i) => ({ name: `model-${i}` }),
        count: () => count("select count(*) as n from registered_models"),
      },
      {
        name: "model version",
        url: () => "/api/v1/models/m/versions",
        body: () => ({ source: "s3://models/r1/model.json", tags: { request: "r1" } }),
        count: () => count("select count(*) as n from model_versions"),
      },
      {
        // no gate: the alias moves at once, one history row per move
        name: "promotion",
        url: () => "/api/v1/models/m/promotions",
        body: () => ({ version: 1, to: "staging" }),
        count: () => count("select count(*) as n from model_alias_history"),
      },
    ];

    describe("Idempotency-Key on create routes", () => {
      for (const [i, route] of CREATE_ROUTES.entries()) {
        it(`${route.name}: the same key twice makes one object and replays the first answer`, async () => {
          const before = await route.count();
          const key = `key-${route.name.replaceAll(" ", "-")}-${i}`;
          const first = await post(route.url(), route.body(i), key);
          expect(first.statusCode).toBeLessThan(300);
          expect(first.headers[REPLAYED_HEADER]).toBeUndefined();
          const again = await post(route.url(), route.body(i), key);
          expect(again.statusCode).toBe(first.statusCode);
          expect(again.body).toBe(first.body);
          expect(again.headers[REPLAYED_HEADER]).toBe("true");
          expect(await route.count()).toBe(before + 1);

          // another body under the same key is refused and writes nothing
          const other = await post(route.url(), route.body(i + 100), key);
          if (JSON.stringify(route.body(i + 100)) !== JSON.stringify(route.body(i))) {
            expect(other.statusCode).toBe(422);
            expect(other.json()).toMatchObject({ code: "INVALID_ARGUMENT" });
            expect(other.json<{ message: string }>().message).toMatch(/already used for a different request/);
            expect(await route.count()).toBe(before + 1);
          }
        });
      }

      it("without a key a retried POST is a second object (what the key prevents)", async () => {
        const before = await count("select count(*) as n from runs");
        await post("/api/v1/runs", { experiment: "idem" });
        await post("/api/v1/runs", { experiment: "idem" });
        expect(await count("select count(*) as n from runs")).toBe(before + 2);
      });

      it("the same key on another path is another request: 422", async () => {
        const key = "cross-path";
        expect((await post("/api/v1/runs", { experiment: "idem" }, key)).statusCode).toBe(201);
        const res = await post("/api/v1/experiments", { experiment: "idem" }, key);
        expect(res.statusCode).toBe(422);
      });

      it("a refused request keeps no key: fixed and sent again under it, it runs", async () => {
        const key = "after-404";
        const missing = await post("/api/v1/models/later/versions", { source: "s3://x/y" }, key);
        expect(missing.statusCode).toBe(404);
        await post("/api/v1/models", { name: "later" });
        const retried = await post("/api/v1/models/later/versions", { source: "s3://x/y" }, key);
        expect(retried.statusCode).toBe(201);
        expect(retried.headers[REPLAYED_HEADER]).toBeUndefined();
      });

      it("rejects a malformed key with 400", async () => {
        const res = await post("/api/v1/runs", { experiment: "idem" }, "x".repeat(300));
        expect(res.statusCode).toBe(400);
        expect(res.json()).toMatchObject({ code: "INVALID_ARGUMENT" });
      });
    });

    describe("what a crash can leave behind", () => {
      const fingerprintOf = async (url: string, body: object): Promise<string> => {
        // the fingerprint a real request stores, read back from a throwaway key
        const key = `probe-${Math.random()}`;
        await post(url, body, key);
        const row = await ws.store.db
          .selectFrom("idempotency_keys")
          .select("fingerprint")
          .where("key", "=", key)
          .executeTakeFirstOrThrow();
        return row.fingerprint;
      };
      const plant = async (
        key: string,
        fingerprint: string,
        fields: { applied: number; startedAgo: number },
      ) => {
        await ws.store.db
          .insertInto("idempotency_keys")
          .values({
            actor: "local:test",
            key,
            fingerprint,
            owner: "dead-owner",
            started_at: clock.now() - fields.startedAgo,
            applied: fields.applied,
            status: null,
            response: null,
            content_type: null,
            created_at: clock.now() - fields.startedAgo,
          })
          .execute();
      };
      const versionBody = { source: "s3://models/crash/model.json" };
      const url = "/api/v1/models/m/versions";

      it("a key still in flight answers 409 with Retry-After, and nothing runs twice", async () => {
        const fp = await fingerprintOf(url, versionBody);
        await plant("in-flight", fp, { applied: 0, startedAgo: 1_000 });
        const before = await count("select count(*) as n from model_versions");
        const res = await post(url, versionBody, "in-flight");
        expect(res.statusCode).toBe(409);
        expect(res.headers["retry-after"]).toBe("1");
        expect(res.json()).toMatchObject({ code: "CONFLICT", details: { inProgress: true } });
        expect(await count("select count(*) as n from model_versions")).toBe(before);
      });

      it("a key applied by a server that died before answering is never run again: 409 saying so", async () => {
        const fp = await fingerprintOf(url, versionBody);
        await plant("applied-no-answer", fp, { applied: 1, startedAgo: LEASE_MS * 10 });
        const before = await count("select count(*) as n from model_versions");
        const res = await post(url, versionBody, "applied-no-answer");
        expect(res.statusCode).toBe(409);
        expect(res.json<{ message: string }>().message).toMatch(/carried out, but the server stopped/);
        expect(await count("select count(*) as n from model_versions")).toBe(before);
      });

      it("a key abandoned before anything was written is taken over after the lease, once", async () => {
        const fp = await fingerprintOf(url, versionBody);
        await plant("abandoned", fp, { applied: 0, startedAgo: LEASE_MS + 1 });
        const before = await count("select count(*) as n from model_versions");
        const res = await post(url, versionBody, "abandoned");
        expect(res.statusCode).toBe(201);
        const again = await post(url, versionBody, "abandoned");
        expect(again.body).toBe(res.body);
        expect(await count("select count(*) as n from model_versions")).toBe(before + 1);
      });

      it("an attempt whose key was taken over cannot commit: its write rolls back", async () => {
        await plant("fenced", "f".repeat(64), { applied: 0, startedAgo: 0 });
        const before = await count("select count(*) as n from experiments");
        const stale = { actor: "local:test", key: "fenced", owner: "not-the-owner", applied: false };
        const err = await beforeCommit
          .run(
            (tx) => markApplied(tx, stale),
            () => createTrackingService(ws).createExperiment("fenced-out"),
          )
          .catch((e: unknown) => e);
        expect(isLoopmlError(err, "CONFLICT")).toBe(true);
        expect(stale.applied).toBe(false);
        expect(await count("select count(*) as n from experiments")).toBe(before);
      });

      it("a key is kept for 24 hours, then forgotten", async () => {
        const body = { experiment: "idem", name: "ttl" };
        const first = await post("/api/v1/runs", body, "ttl");
        clock.advance(KEY_TTL_MS - 60_000);
        expect((await post("/api/v1/runs", body, "ttl")).body).toBe(first.body);
        clock.advance(120_000);
        const later = await post("/api/v1/runs", body, "ttl");
        expect(later.statusCode).toBe(201);
        expect(later.body).not.toBe(first.body);
      });
    });
  });
}
