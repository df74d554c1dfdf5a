// Authentication for `loopml serve` beyond 127.0.0.1: the same API tokens as the control plane, so a
// prediction endpoint on a public address is never open to anyone who can reach it.
import { createHash } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { LoopmlError } from "../../../errors.ts";
import { createFailureLimiter, createTokenService, type Principal } from "../../../server/auth.ts";
import { isLoopback } from "../../../server/listen.ts";
import type { Workspace } from "../../../workspace.ts";

/** Probes (Kubernetes readiness/liveness, KServe health) stay open: they reveal nothing and must not need secrets. */
const OPEN_PATHS = new Set(["/healthz", "/readyz", "/v2/health/live", "/v2/health/ready"]);
/** A verified token is trusted this long before the store is asked again (revocation takes effect within it). */
const CACHE_MS = 30_000;

export interface RequestGuard {
  verify(token: string): Promise<Principal | undefined>;
}

/**
 * Null on a loopback address (anonymous local use, like `mlflow models serve`); otherwise a guard over the
 * workspace's tokens, or an error when there is none to check against.
 */
export async function servingGuard(ws: Workspace, host: string): Promise<RequestGuard | null> {
  if (isLoopback(host)) return null;
  const tokens = createTokenService(ws);
  if (!(await tokens.any())) {
    throw new LoopmlError(
      "FAILED_PRECONDITION",
      `Refusing to serve on ${host} without authentication: create a token first (loopml server token create NAME --role viewer), bind to 127.0.0.1, or pass --allow-anonymous when a gateway in front authenticates callers.`,
      { host },
    );
  }
  const cache = new Map<string, { principal: Principal; until: number }>();
  return {
    async verify(token) {
      const key = createHash("sha256").update(token).digest("hex");
      const hit = cache.get(key);
      if (hit && hit.until > Date.now()) return hit.principal;
      const principal = await tokens.verify(token);
      if (principal) {
        if (cache.size > 1000) cache.clear();
        cache.set(key, { principal, until: Date.now() + CACHE_MS });
      } else cache.delete(key);
      return principal;
    },
  };
}

/** Every request but the probes needs `Authorization: Bearer TOKEN` of any role; failures are rate limited. */
export function requireToken(app: FastifyInstance, guard: RequestGuard): void {
  const limiter = createFailureLimiter();
  app.addHook("onRequest", async (request, reply) => {
    if (OPEN_PATHS.has(request.url.split("?")[0] ?? "")) return;
    const client = request.ip;
    if (limiter.blocked(client)) {
      return reply
        .code(429)
        .send({ code: "RESOURCE_EXHAUSTED", message: "Too many failed authentications; try again later." });
    }
    const header = request.headers.authorization ?? "";
    const token = header.startsWith("Bearer ") ? header.slice("Bearer ".length).trim() : "";
    const principal = token === "" ? undefined : await guard.verify(token);
    if (!principal) {
      limiter.fail(client);
      return reply.code(401).header("www-authenticate", "Bearer").send({
        code: "UNAUTHENTICATED",
        message: "Send Authorization: Bearer TOKEN (loopml server token create).",
      });
    }
  });
}
