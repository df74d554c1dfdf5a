// The HTTP composition root: createApp({ workspace, auth }) builds the Fastify app (no listen) with auth, errors and routes.
import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import { LoopmlError } from "../errors.ts";
import { createRegistryEvents, type RegistryEvents } from "../registry/events.ts";
import { createRegistryService, type RegistryService } from "../registry/service.ts";
import type { Role } from "../registry/types.ts";
import { createTrackingService, type TrackingService } from "../tracking/service.ts";
import type { Workspace } from "../workspace.ts";
import {
  createFailureLimiter,
  createTokenService,
  roleAllows,
  type Principal,
  type TokenService,
} from "./auth.ts";
import { errorHandler } from "./error-handler.ts";
import { registerIdempotency } from "./idempotency.ts";
import { createOpenApiCollector } from "./openapi.ts";
import { registerMlflowArtifactRoutes } from "./routes/mlflow-artifacts.ts";
import { registerMlflowRegistryRoutes } from "./routes/mlflow-registry.ts";
import { registerMlflowTrackingRoutes } from "./routes/mlflow-tracking.ts";
import { registerRegistryRoutes } from "./routes/registry.ts";
import { registerTrackingRoutes } from "./routes/tracking.ts";

declare module "fastify" {
  interface FastifyContextConfig {
    /** The least role a caller needs; "public" routes need no token. */
    role?: Role | "public";
    summary?: string;
  }
  interface FastifyRequest {
    principal: Principal;
  }
}

export interface AuthOptions {
  /** Requests without a token act as `anonymousPrincipal` (local use only). */
  readonly allowAnonymous: boolean;
  readonly anonymousPrincipal?: Principal;
  /** Failed authentications per client address per minute before it is refused. */
  readonly maxFailuresPerMinute?: number;
}

export interface CreateAppOptions {
  readonly workspace: Workspace;
  readonly auth: AuthOptions;
  /** Largest JSON body accepted (413 above it). Default 8 MiB. */
  readonly bodyLimit?: number;
  /** Largest artifact upload. Default 512 MiB. */
  readonly artifactBodyLimit?: number;
  readonly events?: RegistryEvents;
  readonly logger?: boolean;
}

/** What every route handler gets: the services acting as the caller. */
export interface RouteContext {
  readonly workspace: Workspace;
  tracking(req: FastifyRequest): TrackingService;
  registry(req: FastifyRequest): RegistryService;
  readonly artifactBodyLimit: number;
}

export const API_VERSION = "0.1.0";

/**
 * @example
 * const app = await createApp({ workspace: ws, auth: { allowAnonymous: true } });
 * const res = await app.inject({ method: "GET", url: "/api/v1/experiments" });
 */
export async function createApp(options: CreateAppOptions): Promise<FastifyInstance> {
  const ws = options.workspace;
  const app = Fastify({ logger: options.logger ?? false, bodyLimit: options.bodyLimit ?? 8 * 1024 * 1024 });
  const tokens: TokenService = createTokenService(ws);
  const limiter = createFailureLimiter({
    max: options.auth.maxFailuresPerMinute ?? 10,
    now: () => ws.clock.now(),
  });
  const anonymous = options.auth.anonymousPrincipal ?? { actor: ws.config.actor, role: "admin" as const };
  const events = options.events ?? createRegistryEvents();
  const openapi = createOpenApiCollector();

  app.decorateRequest("principal", null as unknown as Principal);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) =>
    errorHandler(
      new LoopmlError(
        "NOT_FOUND",
        `No route ${req.method} ${req.url.split("?")[0] ?? ""}. The API is listed at /openapi.json.`,
      ),
      req,
      reply,
    ),
  );
  app.addHook("onRoute", (route) => {
    const role = route.config?.role;
    // A route without a declared role would be reachable by anyone: refuse to start instead.
    if (role === undefined) throw new Error(`route ${String(route.method)} ${route.url} declares no role`);
    openapi.onRoute(route);
  });
  app.addHook("onRequest", async (req) => {
    const need = req.routeOptions.config.role;
    const header = req.headers.authorization;
    if (need === "public" || need === undefined) return;
    if (limiter.blocked(req.ip)) {
      throw new LoopmlError(
        "RESOURCE_EXHAUSTED",
        "Too many failed authentications from this address; wait a minute and check the token.",
      );
    }
    let principal: Principal | undefined;
    if (header === undefined || header === "") {
      if (!options.auth.allowAnonymous) {
        limiter.fail(req.ip);
        throw new LoopmlError(
          "UNAUTHENTICATED",
          "This server needs an API token: send Authorization: Bearer <token> (create one with loopml server token create).",
        );
      }
      principal = anonymous;
    } else {
      const m = /^Bearer\s+(\S+)$/i.exec(header);
      principal = m?.[1] ? await tokens.verify(m[1]) : undefined;
      if (!principal) {
        limiter.fail(req.ip);
        throw new LoopmlError("UNAUTHENTICATED", "The API token is unknown or revoked.");
      }
    }
    if (!roleAllows(principal.role, need)) {
      throw new LoopmlError(
        "PERMISSION_DENIED",
        `${req.method} ${req.routeOptions.url ?? ""} needs the ${need} role; ${principal.actor} is ${principal.role}.`,
        {
          need,
          have: principal.role,
        },
      );
    }
    req.principal = principal;
  });
  registerIdempotency(app, ws);

  const ctx: RouteContext = {
    workspace: ws,
    tracking: (req) => createTrackingService(ws, { actor: req.principal.actor }),
    registry: (req) =>
      createRegistryService({ ...ws, events }, { actor: req.principal.actor, role: req.principal.role }),
    artifactBodyLimit: options.artifactBodyLimit ?? 512 * 1024 * 1024,
  };

  app.get("/health", { config: { role: "public", summary: "liveness" } }, () =>
    Promise.resolve({ ok: true }),
  );
  app.get("/openapi.json", { config: { role: "public", summary: "this document" } }, () =>
    Promise.resolve(openapi.document(API_VERSION)),
  );
  await app.register(
    (api) => {
      registerTrackingRoutes(api, ctx);
      registerRegistryRoutes(api, ctx);
      return Promise.resolve();
    },
    { prefix: "/api/v1" },
  );
  for (const prefix of ["/api/2.0/mlflow", "/ajax-api/2.0/mlflow"]) {
    await app.register(
      (mlflow) => {
        registerMlflowTrackingRoutes(mlflow, ctx);
        registerMlflowRegistryRoutes(mlflow, ctx);
        return Promise.resolve();
      },
      { prefix },
    );
  }
  await app.register(
    (artifacts) => {
      registerMlflowArtifactRoutes(artifacts, ctx);
      return Promise.resolve();
    },
    { prefix: "/api/2.0/mlflow-artifacts" },
  );
  (await import("../monitoring/routes.ts")).registerMonitoringRoutes(app, ctx);
  (await import("./routes/ui.ts")).registerUiRoutes(app, ctx);
  (await import("./routes/ui-pipelines.ts")).registerUiPipelineRoutes(app, ctx);
  (await import("./routes/ui-deployments.ts")).registerUiDeploymentRoutes(app, ctx);
  (await import("./routes/ui-monitoring.ts")).registerUiMonitoringRoutes(app, ctx);
  (await import("./routes/ui-data.ts")).registerUiDataRoutes(app, ctx);
  (await import("./routes/ui-overview.ts")).registerUiOverviewRoutes(app, ctx);
  (await import("./routes/ui-live.ts")).registerUiLiveRoutes(app, ctx);
  await app.ready();
  return app;
}
