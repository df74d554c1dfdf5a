// `loopml serve` beyond 127.0.0.1 refuses to start without tokens, then answers only bearers of a valid one.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Fastify from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isLoopmlError } from "../../../errors.ts";
import { createTokenService } from "../../../server/auth.ts";
import { openWorkspace, type Workspace } from "../../../workspace.ts";
import { requireToken, servingGuard } from "./auth.ts";

let dir: string;
let ws: Workspace;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "loopml-serve-auth-"));
  ws = await openWorkspace({ dir });
});
afterEach(async () => {
  await ws.close();
  await rm(dir, { recursive: true, force: true });
});

describe("serving authentication", () => {
  it("stays anonymous on loopback and refuses a public address without any token", async () => {
    expect(await servingGuard(ws, "127.0.0.1")).toBeNull();
    let code: string | undefined;
    try {
      await servingGuard(ws, "0.0.0.0");
    } catch (e) {
      code = isLoopmlError(e) ? e.code : "other";
    }
    expect(code).toBe("FAILED_PRECONDITION");
  });

  it("lets probes through, answers 401 without a valid token, 200 with one, and 429 after repeated failures", async () => {
    const tokens = createTokenService(ws);
    const { token } = await tokens.create("client", "viewer");
    const { token: revoked } = await tokens.create("old", "viewer");
    await tokens.revoke("old");
    const guard = await servingGuard(ws, "0.0.0.0");
    if (!guard) throw new Error("a public address needs a guard");
    const app = Fastify();
    requireToken(app, guard);
    app.get("/healthz", () => ({ status: "ok" }));
    app.post("/v1/models/m/predict", () => ({ predictions: [1] }));
    const predict = (headers: Record<string, string>, ip = "10.0.0.1") =>
      app.inject({ method: "POST", url: "/v1/models/m/predict", headers, payload: {}, remoteAddress: ip });
    expect((await app.inject({ url: "/healthz" })).statusCode).toBe(200);
    expect((await predict({})).statusCode).toBe(401);
    expect((await predict({ authorization: `Bearer ${revoked}` })).statusCode).toBe(401);
    const ok = await predict({ authorization: `Bearer ${token}` });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ predictions: [1] });
    const denied = await predict({ authorization: "Bearer nope" }, "10.0.0.2");
    expect(denied.body).not.toContain("nope");
    for (let i = 0; i < 10; i++) await predict({ authorization: "Bearer nope" }, "10.0.0.3");
    expect((await predict({ authorization: `Bearer ${token}` }, "10.0.0.3")).statusCode).toBe(429);
    expect((await predict({ authorization: `Bearer ${token}` }, "10.0.0.1")).statusCode).toBe(200);
    await app.close();
  });
});
