// Security review of the HTTP control plane, one test per finding: authentication on every route, roles,
// tokens at rest and in logs, path traversal, size limits, SSRF in webhooks, an audit chain the API cannot rewrite.
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { mkdirSync, rmSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createManualClock, createSequentialIds } from "../../src/_internal/clock.ts";
import { createDataService } from "../../src/data/service.ts";
import { isLoopmlError } from "../../src/errors.ts";
import { postWebhook } from "../../src/monitoring/webhook.ts";
import { createApp } from "../../src/server/app.ts";
import { createTokenService } from "../../src/server/auth.ts";
import { openWorkspace, type Workspace } from "../../src/workspace.ts";
import { makeTempDir } from "../setup/tmp.ts";

type Json = Record<string, unknown>;
const ROLES = ["viewer", "editor", "approver", "admin"] as const;
/** The only routes anyone may call without a token: liveness and the API description. */
const PUBLIC = new Set(["GET /health", "GET /openapi.json"]);
/** The dashboard's static shell is public (it holds no data and asks for a token); its data routes are not. */
const isStaticUi = (method: string, path: string) =>
  method === "GET" && (path === "/" || path.startsWith("/ui/"));

const tmp = makeTempDir();
const outside = makeTempDir("loopml-outside-");
let ws: Workspace;
let app: FastifyInstance;
const tokens: Record<string, string> = {};
let routes: { method: string; path: string; role: string }[] = [];

beforeAll(async () => {
  ws = await openWorkspace({
    dir: tmp.path,
    store: "sqlite:.loopml/loopml.db",
    artifacts: `file:${join(tmp.path, "objects")}`,
    clock: createManualClock(),
    ids: createSequentialIds(),
    actor: "local:security",
  });
  const svc = createTokenService(ws);
  for (const role of ROLES) tokens[role] = (await svc.create(`t-${role}`, role)).token;
  tokens["approver2"] = (await svc.create("t-approver2", "approver")).token;
  app = await createApp({
    workspace: ws,
    auth: { allowAnonymous: false, maxFailuresPerMinute: 1_000_000 },
    bodyLimit: 64 * 1024,
    artifactBodyLimit: 128 * 1024,
  });
  const doc = (await app.inject("/openapi.json")).json<{
    paths: Record<string, Record<string, { "x-role"?: string }>>;
  }>();
  routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      role: op["x-role"] ?? "?",
    })),
  );
});
afterAll(async () => {
  await app.close();
  await ws.close();
  tmp.remove();
  outside.remove();
});

function as(who: string | undefined, method: string, url: string, payload?: unknown, type?: string) {
  return app.inject({
    method: method as "GET",
    url,
    ...(payload !== undefined && { payload: payload as Json }),
    headers: {
      ...(who !== undefined && { authorization: `Bearer ${tokens[who] ?? who}` }),
      ...(type !== undefined && { "content-type": type }),
    },
  });
}

const concrete = (path: string) => path.replace(/\{[^}]+\}/g, "x");

describe("authentication", () => {
  it("every route but liveness and the API description answers 401 without a token, and with a wrong one", async () => {
    expect(routes.length).toBeGreaterThan(40);
    const open: string[] = [];
    for (const r of routes) {
      const key = `${r.method} ${r.path}`;
      const url = concrete(r.path);
      const bare = await as(undefined, r.method, url, r.method === "GET" ? undefined : {});
      const wrong = await as("lml_not-a-token", r.method, url, r.method === "GET" ? undefined : {});
      if (PUBLIC.has(key) || isStaticUi(r.method, r.path)) {
        expect(bare.statusCode, key).toBe(200);
        continue;
      }
      if (bare.statusCode !== 401 || wrong.statusCode !== 401) open.push(`${key} → ${bare.statusCode}`);
      expect(bare.json<Json>()["message"], key).toBeDefined();
      expect(bare.body).not.toMatch(/\n\s+at /);
    }
    expect(open).toEqual([]);
  });

  it("401 bodies never echo the token that was sent", async () => {
    const secret = "lml_thisIsASecretThatMustNotBeEchoed";
    const res = await as(secret, "GET", "/api/v1/experiments");
    expect(res.statusCode).toBe(401);
    expect(res.body).not.toContain(secret);
  });
});

describe("roles", () => {
  let pending = "";
  beforeAll(async () => {
    const blob = await ws.blobs.put(Buffer.from("model"));
    expect(
      (
        await as("admin", "POST", "/api/v1/models", {
          name: "churn",
          policy: { approvalFor: ["production"], protectedAliases: ["production"] },
        })
      ).statusCode,
    ).toBe(201);
    const v = await as("editor", "POST", "/api/v1/models/churn/versions", {
      blobId: blob.id,
      flavor: "native",
    });
    expect(v.statusCode, v.body).toBe(201);
  });

  it("a viewer can read but cannot promote, move an alias or approve", async () => {
    expect((await as("viewer", "GET", "/api/v1/models/churn")).statusCode).toBe(200);
    const before = (await ws.audit.verify()).events;
    for (const [method, url, body] of [
      ["POST", "/api/v1/models/churn/promotions", { version: 1, to: "production" }],
      ["PUT", "/api/v1/models/churn/aliases/staging", { version: 1 }],
      ["POST", "/api/2.0/mlflow/registered-models/alias", { name: "churn", alias: "staging", version: "1" }],
      ["PUT", "/api/v1/models/churn/policy", {}],
    ] as const) {
      const res = await as("viewer", method, url, body);
      expect(res.statusCode, `${method} ${url}`).toBe(403);
    }
    expect((await ws.audit.verify()).events).toBe(before);
  });

  it("a gated promotion waits for an approver other than its requester; an editor cannot approve", async () => {
    const req = await as("approver", "POST", "/api/v1/models/churn/promotions", {
      version: 1,
      to: "production",
    });
    expect(req.statusCode, req.body).toBe(202);
    pending = (await ws.store.db.selectFrom("model_promotions").select("id").executeTakeFirstOrThrow()).id;
    const byEditor = await as("editor", "POST", `/api/v1/promotions/${pending}/approve`);
    expect(byEditor.statusCode).toBe(403);
    const bySelf = await as("approver", "POST", `/api/v1/promotions/${pending}/approve`);
    expect(bySelf.statusCode).toBe(403);
    expect(bySelf.json<Json>()["message"]).toMatch(/requested by you/);
    const byOther = await as("approver2", "POST", `/api/v1/promotions/${pending}/approve`);
    expect(byOther.statusCode, byOther.body).toBe(200);
    expect(byOther.json<Json>()["status"]).toBe("approved");
  });
});

describe("tokens at rest and in logs", () => {
  it("api_tokens holds only sha256 hashes, never a token", async () => {
    const rows = await ws.store.db.selectFrom("api_tokens").selectAll().execute();
    expect(rows.length).toBe(5);
    const dump = JSON.stringify(rows);
    for (const t of Object.values(tokens)) {
      expect(dump).not.toContain(t);
      expect(rows.map((r) => r.hash)).toContain(createHash("sha256").update(t).digest("hex"));
    }
    const audit = JSON.stringify(await ws.audit.list());
    for (const t of Object.values(tokens)) expect(audit).not.toContain(t);
  });

  it("the request log (pino) of a server with logging on never contains a token", async () => {
    // pino writes to fd 1 through sonic-boom, which calls fs.write/fs.writeSync: capture both.
    const fs = createRequire(import.meta.url)("node:fs") as {
      writeSync: (...a: unknown[]) => number;
      write: (...a: unknown[]) => void;
    };
    const captured: string[] = [];
    const origSync = fs.writeSync;
    const origWrite = fs.write;
    const grab = (fd: unknown, data: unknown) => {
      if (fd === 1 || fd === 2) captured.push(String(data));
    };
    fs.writeSync = (...a: unknown[]) => {
      grab(a[0], a[1]);
      return origSync.apply(fs, a as never);
    };
    fs.write = (...a: unknown[]) => {
      grab(a[0], a[1]);
      origWrite.apply(fs, a as never);
    };
    const logged = await createApp({
      workspace: ws,
      auth: { allowAnonymous: false, maxFailuresPerMinute: 1_000_000 },
      logger: true,
    });
    try {
      await logged.inject({
        method: "GET",
        url: "/api/v1/experiments",
        headers: { authorization: `Bearer ${tokens["admin"]}` },
      });
      await logged.inject({
        method: "GET",
        url: "/api/v1/experiments",
        headers: { authorization: "Bearer lml_wrongButSecretLooking" },
      });
      await logged.inject({
        method: "POST",
        url: "/api/v1/runs/nope/batch",
        payload: { params: [{ key: "k", value: "v" }] },
        headers: { authorization: `Bearer ${tokens["editor"]}` },
      });
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      await logged.close();
      fs.writeSync = origSync;
      fs.write = origWrite;
    }
    const out = captured.join("");
    expect(out).toContain("incoming request"); // the capture works
    for (const t of [...Object.values(tokens), "lml_wrongButSecretLooking"]) expect(out).not.toContain(t);
    expect(out.toLowerCase()).not.toContain("bearer");
  });
});

describe("path traversal", () => {
  let runId = "";
  beforeAll(async () => {
    await as("editor", "POST", "/api/v1/experiments", { name: "sec" });
    runId = (await as("editor", "POST", "/api/v1/runs", { experiment: "sec" })).json<Json>()["id"] as string;
  });

  it("artifact paths with .., absolute paths, NUL or encoded separators are refused on upload and download", async () => {
    const bad = [
      "..%2F..%2Fetc%2Fpasswd",
      "a%2F..%2F..%2Fb",
      "%2Fabs",
      "..",
      "a%00b",
      "%2e%2e%2f%2e%2e%2fx",
      "a%5C..%5C..%5Cb",
    ];
    for (const p of bad) {
      const put = await as(
        "editor",
        "PUT",
        `/api/v1/runs/${runId}/artifacts/${p}`,
        Buffer.from("x"),
        "application/octet-stream",
      );
      expect(put.statusCode, `PUT ${p}: ${put.body}`).toBeGreaterThanOrEqual(400);
      expect(put.statusCode, `PUT ${p}`).toBeLessThan(500);
      const get = await as("viewer", "GET", `/api/v1/runs/${runId}/artifacts/${p}`);
      expect(get.statusCode, `GET ${p}`).toBeGreaterThanOrEqual(400);
      expect(get.statusCode, `GET ${p}`).toBeLessThan(500);
    }
    // MLflow's artifact proxy as well.
    for (const p of ["..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "x%2F..%2F..%2F..%2Fy"]) {
      const get = await as("viewer", "GET", `/api/2.0/mlflow-artifacts/artifacts/${p}`);
      expect(get.statusCode, `mlflow GET ${p}: ${get.body}`).toBeGreaterThanOrEqual(400);
      expect(get.statusCode).toBeLessThan(500);
      expect(get.body).not.toContain("root:");
    }
    expect(existsSync("/etc/passwd.loopml")).toBe(false);
  });

  it("data add refuses .., absolute paths and symlinks that point outside the project", async () => {
    const data = createDataService(ws);
    writeFileSync(join(outside.path, "secret.csv"), "a\n1\n");
    mkdirSync(join(tmp.path, "data"), { recursive: true });
    symlinkSync(join(outside.path, "secret.csv"), join(tmp.path, "data", "link.csv"));
    symlinkSync(outside.path, join(tmp.path, "data", "linkdir"));
    for (const p of ["../x.csv", join(outside.path, "secret.csv"), "data/link.csv", "data/linkdir", "a\0b"]) {
      const err = await data.add(p).catch((e: unknown) => e);
      expect(
        isLoopmlError(err, "INVALID_ARGUMENT") || isLoopmlError(err, "PERMISSION_DENIED"),
        `${p}: ${String(err)}`,
      ).toBe(true);
    }
  });

  it("checkout does not write through a symlink that now points outside the project", async () => {
    const data = createDataService(ws);
    mkdirSync(join(tmp.path, "set"), { recursive: true });
    writeFileSync(join(tmp.path, "set", "a.csv"), "a\n1\n");
    await data.add("set");
    // Replace the dataset's folder with a symlink to a folder outside the project, then check out.
    rmSync(join(tmp.path, "set"), { recursive: true });
    mkdirSync(join(outside.path, "target"));
    symlinkSync(join(outside.path, "target"), join(tmp.path, "set"));
    const err = await data.checkout("set").catch((e: unknown) => e);
    expect(isLoopmlError(err, "INVALID_ARGUMENT"), String(err)).toBe(true);
    expect(existsSync(join(outside.path, "target", "a.csv"))).toBe(false);
  });
});

describe("limits", () => {
  it("a JSON body over the limit is answered 413 with a named problem and changes nothing", async () => {
    const before = (await ws.audit.verify()).events;
    const res = await as("editor", "POST", "/api/v1/experiments", { name: "x".repeat(100_000) });
    expect(res.statusCode).toBe(413);
    expect(res.json<Json>()["code"]).toBe("RESOURCE_EXHAUSTED");
    const mlflow = await as("editor", "POST", "/api/2.0/mlflow/experiments/create", {
      name: "y".repeat(100_000),
    });
    expect(mlflow.statusCode).toBe(413);
    expect(mlflow.json<Json>()["error_code"]).toBe("REQUEST_LIMIT_EXCEEDED");
    expect((await ws.audit.verify()).events).toBe(before);
  });
});

describe("limits on uploads and headers", () => {
  it("an artifact upload over the artifact limit is answered 413 and stores nothing", async () => {
    await as("editor", "POST", "/api/v1/experiments", { name: "big" });
    const run = (await as("editor", "POST", "/api/v1/runs", { experiment: "big" })).json<Json>()[
      "id"
    ] as string;
    const res = await as(
      "editor",
      "PUT",
      `/api/v1/runs/${run}/artifacts/big.bin`,
      Buffer.alloc(256 * 1024),
      "application/octet-stream",
    );
    expect(res.statusCode, res.body).toBe(413);
    expect((await as("viewer", "GET", `/api/v1/runs/${run}/artifacts`)).json<Json>()["artifacts"]).toEqual(
      [],
    );
  });

  it("arbitrary Authorization headers are 401, never 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 80 }),
          fc.string({ maxLength: 60 }).map((t) => `Bearer ${t}`),
          fc.constantFrom("Bearer", "Bearer  ", "Basic YWRtaW46YWRtaW4=", `bearer ${"x".repeat(4096)}`),
        ),
        async (header) => {
          const res = await app.inject({
            method: "GET",
            url: "/api/v1/experiments",
            headers: { authorization: header.replace(/[\r\n\0]/g, "") },
          });
          expect(res.statusCode, JSON.stringify(header)).toBe(401);
        },
      ),
      { seed: 20261127, numRuns: 300 },
    );
  });
});

describe("SSRF in webhooks", () => {
  it("loopback, private, link-local and metadata addresses are refused unless allowed", async () => {
    for (const target of [
      "http://127.0.0.1:9/hook",
      "http://[::1]:9/",
      "http://10.0.0.5/",
      "http://192.168.1.1/",
      "http://172.16.0.1/",
      "http://169.254.169.254/latest/meta-data/",
      "http://0.0.0.0/",
      "http://localhost:9/",
      "http://[::ffff:127.0.0.1]:9/",
    ]) {
      const err = await postWebhook(target, { x: 1 }, { attempts: 1, timeoutMs: 500 }).catch(
        (e: unknown) => e,
      );
      expect(isLoopmlError(err), `${target}: ${String(err)}`).toBe(true);
      expect((err as Error).message, target).toMatch(/private|loopback/);
    }
    for (const target of ["file:///etc/passwd", "gopher://127.0.0.1/"]) {
      const err = await postWebhook(target, {}, { attempts: 1 }).catch((e: unknown) => e);
      expect(isLoopmlError(err, "INVALID_ARGUMENT"), target).toBe(true);
    }
    // Allowed explicitly: it is attempted (and fails to connect on the discard port) rather than refused.
    const allowed = await postWebhook(
      "http://127.0.0.1:9/",
      {},
      { attempts: 1, timeoutMs: 500, allowPrivate: true },
    ).catch((e: unknown) => e);
    expect(String((allowed as Error).message ?? "")).not.toMatch(/private|loopback/);
  });
});

describe("the audit chain through the API", () => {
  it("no route can change audit events, and the chain still verifies after everything above", async () => {
    const mutating = routes.filter((r) => /audit/i.test(r.path) && r.method !== "GET");
    expect(mutating).toEqual([]);
    for (const method of ["PUT", "PATCH", "DELETE", "POST"]) {
      for (const url of [
        "/api/v1/audit",
        "/api/v1/audit/1",
        "/api/v1/audit/events",
        "/api/v1/audit-events/1",
      ]) {
        const res = await as("admin", method, url, {});
        expect(res.statusCode, `${method} ${url}`).toBe(404);
      }
    }
    const v = await ws.audit.verify();
    expect(v.ok).toBe(true);
    expect(v.events).toBeGreaterThan(5);
  });
});
