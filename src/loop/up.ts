// `loopml up`: one process running the control plane, the serving endpoints, the scheduler, the monitors and the
// retrain loop from loopml.yaml; each part can run alone (--role), and stop() drains everything gracefully.
import { createServer } from "node:http";
import Fastify, { type FastifyInstance } from "fastify";
import { LoopmlError } from "../errors.ts";
import { createMonitorService } from "../monitoring/monitors.ts";
import { createScheduler } from "../pipeline/scheduler.ts";
import { pipelineDeps } from "../pipeline/service.ts";
import { createRegistryEvents } from "../registry/events.ts";
import { createRegistryService } from "../registry/service.ts";
import { createApp } from "../server/app.ts";
import { isLoopback } from "../server/listen.ts";
import { createDeploymentService, splitModelRef } from "../serving/deployments.ts";
import {
  createFollower,
  headSeq,
  loadDeploymentSpec,
  type Binding,
  type Follower,
} from "../serving/follow.ts";
import { appendInferenceLog } from "../serving/inference-log.ts";
import type { ServedModelSpec } from "../serving/models.ts";
import { registerServingRoutes } from "../serving/server.ts";
import type { Workspace } from "../workspace.ts";
import { applyPlan } from "./apply.ts";
import type { DesiredState } from "./desired-state.ts";
import { createLoopPorts } from "./ports.ts";
import { planProject } from "./project.ts";
import { createRetrainer, type Trainer } from "./retrain.ts";
import { createLoopRunner } from "./runner.ts";
import { automlTrainer, pipelineTrainer } from "./trainers.ts";

export const ROLES = ["api", "serving", "scheduler", "monitors", "loop"] as const;
export type UpRole = (typeof ROLES)[number];

export interface UpOptions {
  readonly ws: Workspace;
  readonly desired: DesiredState;
  readonly roles?: readonly UpRole[];
  readonly host?: string;
  readonly port?: number;
  /** How often the scheduler, monitors and retrain loop look for work (default 5000 ms). */
  readonly tickMs?: number;
  /** Apply loopml.yaml (never destroying data) before starting; default true. */
  readonly apply?: boolean;
  readonly trainer?: Trainer;
  readonly log?: (line: string) => void;
}

export interface UpHandle {
  readonly url: string | null;
  readonly app: FastifyInstance | null;
  /** Writes the predictions buffered for the inference log now (it is otherwise written every second). */
  flushInferenceLog(): Promise<void>;
  /** Stops taking work, finishes in-flight requests and ticks, flushes the inference log. */
  stop(): Promise<void>;
}

/**
 * @example
 * const up = await startUp({ ws, desired: await loadDesiredState(dir), port: 8080 });
 * process.once("SIGTERM", () => void up.stop());
 */
export async function startUp(o: UpOptions): Promise<UpHandle> {
  const { ws, desired } = o;
  const roles = new Set<UpRole>(o.roles ?? ROLES);
  const log = o.log ?? ((line: string) => ws.logger.info(line));
  const events = createRegistryEvents();
  const ports = createLoopPorts(ws, events);
  if (o.apply !== false) {
    const plan = await planProject(ws, ports, desired);
    if (plan.actions.length > 0) {
      await applyPlan(ws, ports, plan);
      log(
        `applied loopml.yaml: ${plan.summary.create} created, ${plan.summary.update} changed, ${plan.summary.delete} removed`,
      );
    }
  }

  const stops: (() => Promise<void> | void)[] = [];
  let flush = (): Promise<void> => Promise.resolve();
  let app: FastifyInstance | null = null;
  let url: string | null = null;
  const host = o.host ?? "127.0.0.1";
  if (roles.has("api") || roles.has("serving")) {
    const serving = Fastify({ bodyLimit: 32 * 1024 * 1024 });
    if (roles.has("serving")) {
      const mounted = await mountServing(serving, ws, events, log);
      stops.push(...mounted.stops);
      flush = mounted.flush;
    } else serving.get("/healthz", () => ({ status: "ok" }));
    await serving.ready();
    const api = roles.has("api")
      ? await createApp({ workspace: ws, auth: { allowAnonymous: isLoopback(host) }, events })
      : null;
    app = api ?? serving;
    // Two apps on one socket: the control plane checks a role on every route, the prediction protocols are public.
    const server = createServer((req, res) => {
      (api === null || isServingPath(req.url ?? "/") ? serving : api).routing(req, res);
    });
    // Clients and proxies close idle keep-alive connections after a few seconds (undici 4 s, load balancers
    // 60 s): the server must wait longer, or a request sent on a connection it is just closing fails.
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(o.port ?? 8080, host, () => resolve());
    });
    const addr = server.address();
    url = `http://${host.includes(":") ? `[${host}]` : host}:${typeof addr === "object" && addr ? addr.port : (o.port ?? 8080)}`;
    // Stop accepting, let requests in flight finish, then close the apps; serving's close flushes the inference log.
    stops.unshift(async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await closed;
      await serving.close();
      await api?.close();
    });
  }

  const loops: { name: string; run: () => Promise<void> }[] = [];
  if (
    roles.has("scheduler") &&
    (desired.automation.schedules.length > 0 || desired.automation.triggers.length > 0)
  ) {
    const scheduler = createScheduler(pipelineDeps(ws), {
      automation: desired.automation,
      pipelines: desired.pipelines,
      onFiring: (f) => log(`pipeline ${f.pipeline}: ${f.kind} ${f.name} → ${f.action}`),
    });
    loops.push({ name: "scheduler", run: async () => void (await scheduler.tick()) });
    stops.push(() => scheduler.idle());
  }
  if (roles.has("monitors")) {
    const monitors = createMonitorService(ws);
    loops.push({
      name: "monitors",
      run: async () => {
        for (const r of await monitors.runDue())
          log(
            `monitor ${r.monitor}: window ${r.seq} ${r.status}${r.alerts.length > 0 ? `, ${r.alerts.length} alert change(s)` : ""}`,
          );
      },
    });
  }
  const policies = desired.file.retrain ?? {};
  if (roles.has("loop") && Object.keys(policies).length > 0) {
    const trainer =
      o.trainer ??
      (Object.values(policies).some((p) => p.pipeline !== undefined)
        ? pipelineTrainer(ws, desired.pipelines)
        : automlTrainer(ws));
    const runner = createLoopRunner(
      ws,
      createRetrainer({ ws, registry: ports.registry, deployments: ports.deployments, trainer }),
      policies,
    );
    loops.push({
      name: "retrain loop",
      run: async () => {
        const t = await runner.tick();
        for (const r of t.retrains) log(`retrain ${r.model}: ${r.outcome.status}`);
        for (const c of t.canaries) log(`canary of ${c.model}: ${c.status}`);
      },
    });
  }
  stops.push(...startLoops(loops, o.tickMs ?? 5000, log));

  let stopping: Promise<void> | undefined;
  return {
    url,
    app,
    flushInferenceLog: () => flush(),
    stop: () => {
      stopping ??= (async () => {
        for (const s of stops) await s();
      })();
      return stopping;
    },
  };
}

/**
 * Every stored deployment becomes an endpoint that follows its aliases. A deployment whose alias points nowhere
 * yet (nothing promoted) or that is created while up runs is picked up as soon as it can load: on an alias move
 * in this process, or by a look at the stored deployments every `pollMs`.
 */
async function mountServing(
  app: FastifyInstance,
  ws: Workspace,
  events: ReturnType<typeof createRegistryEvents>,
  log: (line: string) => void,
  pollMs = 1000,
): Promise<{ stops: (() => Promise<void> | void)[]; flush: () => Promise<void> }> {
  const registry = createRegistryService({ ...ws, events });
  const source = { registry, blobs: ws.blobs };
  const deploymentService = createDeploymentService(ws);
  /** Deployment name → endpoint (the model's name). */
  const served = new Map<string, string>();
  const followers = new Map<string, Follower>();
  const lastProblem = new Map<string, string>();
  const note = (deployment: string, problem: string): void => {
    if (lastProblem.get(deployment) === problem) return;
    lastProblem.set(deployment, problem);
    log(`deployment ${deployment}: ${problem}`);
  };

  /** The endpoints that can load now, among the stored deployments not served yet. */
  const loadable = async (): Promise<
    { deployment: string; spec: ServedModelSpec; bindings: Binding[] }[]
  > => {
    const out: { deployment: string; spec: ServedModelSpec; bindings: Binding[] }[] = [];
    for (const d of await deploymentService.list()) {
      if (served.has(d.name)) continue;
      const name = splitModelRef(d.model).model;
      if ([...served.values(), ...out.map((o) => o.spec.name)].includes(name)) {
        note(d.name, `model ${name} is already served by another deployment; skipped`);
        continue;
      }
      try {
        const loaded = await loadDeploymentSpec(source, d);
        out.push({ deployment: d.name, ...loaded });
      } catch (e) {
        // A deployment whose alias points nowhere yet (no model promoted) is not an error for the rest.
        note(d.name, `not served yet (${(e as Error).message})`);
      }
    }
    return out;
  };

  const initialSeq = await headSeq(ws);
  const initial = await loadable();
  const handle = await registerServingRoutes(app, {
    models: initial.map((l) => l.spec),
    inferenceLog: { write: (records) => appendInferenceLog(ws, records) },
    onRollback: (endpoint, report) => followers.get(endpoint.name)?.rolledBack(endpoint, report),
    onBackgroundError: (what, e) => ws.logger.warn({ err: e }, `${what} failed`),
    now: () => ws.clock.now(),
  });
  const follow = (
    loaded: readonly { deployment: string; spec: ServedModelSpec; bindings: Binding[] }[],
    afterSeq: number,
  ): void => {
    for (const l of loaded) served.set(l.deployment, l.spec.name);
    const follower = createFollower(
      { ws, source, events, models: handle.models, metrics: handle.metrics },
      {
        bindings: loaded.flatMap((l) => l.bindings),
        deployments: new Map(loaded.map((l) => [l.deployment, l.spec.name])),
        afterSeq,
      },
      {
        onEvent: (e) => {
          if (e.kind === "swap") log(`${e.endpoint}: ${e.role} ${e.model}@${e.alias} is now version ${e.to}`);
          else if (e.kind === "load-failed")
            log(`${e.endpoint}: ${e.model}@${e.alias} failed to load: ${e.error}`);
          else if (e.kind === "rollback")
            log(`${e.report.endpoint}: canary rolled back (${e.report.reason})`);
        },
      },
    );
    for (const l of loaded) followers.set(l.spec.name, follower);
    follower.start();
    for (const l of loaded) log(`serving ${l.spec.name} (version ${l.spec.version ?? "?"})`);
  };
  follow(initial, initialSeq);

  // Later arrivals: one look at a time; the audit head is read before loading so the new follower misses nothing.
  let looking: Promise<void> | null = null;
  let stopped = false;
  const look = (): void => {
    if (looking || stopped) return;
    looking = (async () => {
      const afterSeq = await headSeq(ws);
      const loaded = await loadable();
      if (stopped || loaded.length === 0) return;
      for (const l of loaded) handle.models.addEndpoint(l.spec);
      follow(loaded, afterSeq);
    })()
      .catch((e: unknown) => ws.logger.error({ err: e }, "looking for new deployments failed; will retry"))
      .finally(() => (looking = null));
  };
  const onAliasMoved = (): void => look();
  events.on("alias.moved", onAliasMoved);
  const timer = setInterval(look, pollMs);
  timer.unref();
  return {
    stops: [
      async () => {
        stopped = true;
        clearInterval(timer);
        events.off("alias.moved", onAliasMoved);
        await looking;
        for (const f of new Set(followers.values())) f.stop();
      },
      () => handle.close(),
    ],
    flush: () => handle.logger?.flush() ?? Promise.resolve(),
  };
}

/** Runs each loop every `tickMs`, never two ticks of one loop at once; stopping waits for the tick in flight. */
function startLoops(
  loops: readonly { name: string; run: () => Promise<void> }[],
  tickMs: number,
  log: (line: string) => void,
): (() => Promise<void>)[] {
  if (tickMs <= 0) throw new LoopmlError("INVALID_ARGUMENT", "The tick must be a positive duration.");
  return loops.map((l) => {
    let current: Promise<void> | undefined;
    let stopped = false;
    const tick = (): void => {
      if (current || stopped) return;
      current = l
        .run()
        .catch((e: unknown) => log(`${l.name}: ${(e as Error).message}`))
        .finally(() => (current = undefined));
    };
    const timer = setInterval(tick, tickMs);
    tick();
    return async () => {
      stopped = true;
      clearInterval(timer);
      await current;
    };
  });
}

const SERVING_PATHS =
  /^\/(v1\/models(\/|$|\?)|v2(\/|$|\?)|invocations|ping|health|healthz|readyz|metrics)(\/|$|\?)?/;

function isServingPath(url: string): boolean {
  return SERVING_PATHS.test(url);
}
