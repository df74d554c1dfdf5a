// Continuous delivery for a running server: follows registry aliases and stored deployments, swapping in new versions loaded and warmed in the background.
import { hostname } from "node:os";
import { LoopmlError } from "../errors.ts";
import type { RegistryEvents } from "../registry/events.ts";
import type { AliasMove } from "../registry/types.ts";
import type { Workspace } from "../workspace.ts";
import type { RollbackReport } from "./canary-guard.ts";
import { createDeploymentService, splitModelRef, type DeploymentSpec } from "./deployments.ts";
import type { ServingMetrics } from "./metrics.ts";
import type { Endpoint, ModelSet, Role, ServedModel, ServedModelSpec } from "./models.ts";
import { loadRegisteredModel, type RegistrySource } from "./registry-source.ts";

/** A role of an endpoint that serves whatever version `model@alias` points at. */
export interface Binding {
  readonly endpoint: string;
  readonly role: Role;
  readonly model: string;
  readonly alias: string;
  /** Canary share of traffic. */
  readonly weight?: number;
}

export type ServingEvent =
  | {
      kind: "swap";
      endpoint: string;
      role: Role;
      model: string;
      alias: string;
      from: string | null;
      to: string;
    }
  | { kind: "load-failed"; endpoint: string; role: Role; model: string; alias: string; error: string }
  | { kind: "rollback"; report: RollbackReport }
  | { kind: "deployment-changed"; deployment: string };

export interface FollowerOptions {
  /** How often the audit log is read for changes made by other processes (default 2000 ms). */
  readonly pollMs?: number;
  readonly onEvent?: (event: ServingEvent) => void;
}

export interface Follower {
  /** Starts polling the audit log and listening to in-process registry events. */
  start(): void;
  stop(): void;
  /** One read of the audit log (what the timer does). */
  poll(): Promise<void>;
  /** Waits until every scheduled reload finished. */
  idle(): Promise<void>;
  /** What the server calls when its canary guard rolled a canary back: audited, and the deployment updated. */
  rolledBack(endpoint: Endpoint, report: RollbackReport): void;
}

export interface FollowerDeps {
  readonly ws: Workspace;
  readonly source: RegistrySource;
  readonly events?: RegistryEvents;
  readonly models: ModelSet;
  readonly metrics: ServingMetrics;
}

const INSTANCE = `${hostname()}:${process.pid}`;

/**
 * Loads what bindings and deployments name, once, as the server's initial model specs.
 *
 * @example
 * const { spec, bindings } = await loadEndpointSpec(source, { name: "churn", primary: "churn@production",
 *   canary: { model: "churn@challenger", weight: 0.1 } });
 */
export async function loadEndpointSpec(
  source: RegistrySource,
  plan: {
    readonly name: string;
    readonly primary: string;
    readonly canary?: { readonly model: string; readonly weight: number };
    readonly shadow?: string;
    readonly rollback?: DeploymentSpec["rollback"];
    readonly sampleRate?: number;
    readonly otherNames?: readonly string[];
  },
): Promise<{ spec: ServedModelSpec; bindings: Binding[] }> {
  const p = splitModelRef(plan.primary);
  const bindings: Binding[] = [{ endpoint: plan.name, role: "primary", ...p }];
  const primary = await loadRegisteredModel(source, p.model, p.alias);
  let canary: ServedModelSpec["canary"];
  if (plan.canary) {
    const c = splitModelRef(plan.canary.model);
    bindings.push({ endpoint: plan.name, role: "canary", ...c, weight: plan.canary.weight });
    canary = { ...(await loadRegisteredModel(source, c.model, c.alias)), weight: plan.canary.weight };
  }
  let shadow: ServedModelSpec["shadow"];
  if (plan.shadow) {
    const s = splitModelRef(plan.shadow);
    bindings.push({ endpoint: plan.name, role: "shadow", ...s });
    shadow = await loadRegisteredModel(source, s.model, s.alias);
  }
  const spec: ServedModelSpec = {
    ...primary,
    name: plan.name,
    aliases: plan.name === p.model ? [p.alias] : [],
    ...(plan.otherNames && { otherNames: plan.otherNames }),
    ...(canary && { canary }),
    ...(shadow && { shadow }),
    ...(plan.rollback && { rollback: plan.rollback }),
    ...(plan.sampleRate !== undefined && { sampleRate: plan.sampleRate }),
  };
  return { spec, bindings };
}

/** A stored deployment as an endpoint named after its model (the deployment's own name answers too). */
export function loadDeploymentSpec(
  source: RegistrySource,
  d: DeploymentSpec,
): Promise<{ spec: ServedModelSpec; bindings: Binding[] }> {
  const name = splitModelRef(d.model).model;
  return loadEndpointSpec(source, {
    name,
    primary: d.model,
    ...(d.canary && { canary: d.canary }),
    ...(d.shadow && { shadow: d.shadow.model }),
    ...(d.rollback && { rollback: d.rollback }),
    ...(d.logging && { sampleRate: d.logging.sampleRate }),
    ...(d.name !== name && { otherNames: [d.name] }),
  });
}

/** Starts from what the server loaded: `bindings` per endpoint role, `deployments` mapping deployment name → endpoint. */
export function createFollower(
  deps: FollowerDeps,
  initial: {
    bindings: readonly Binding[];
    deployments?: ReadonlyMap<string, string>;
    /** The audit sequence number read before the models were loaded, so no change in between is missed. */
    afterSeq?: number;
  },
  options: FollowerOptions = {},
): Follower {
  const { ws, source, models, metrics } = deps;
  const deploymentService = createDeploymentService(ws);
  const bindings = new Map<string, Binding>();
  const keyOf = (endpoint: string, role: Role): string => `${endpoint}\u0000${role}`;
  for (const b of initial.bindings) bindings.set(keyOf(b.endpoint, b.role), b);
  const deployments = new Map(initial.deployments ?? []);
  const chains = new Map<string, Promise<void>>();
  let cursor: number | null = initial.afterSeq ?? null;
  let timer: NodeJS.Timeout | null = null;
  let polling: Promise<void> | null = null;
  const emit = (e: ServingEvent): void => options.onEvent?.(e);

  const audit = (action: string, endpoint: string, details: Record<string, unknown>): void => {
    ws.audit
      .record({
        actor: ws.config.actor,
        action,
        target: `serving:${endpoint}`,
        details: { ...details, instance: INSTANCE },
      })
      .catch((e: unknown) => ws.logger.error({ err: e, action }, "could not write the serving audit event"));
  };

  const served = (b: Binding): ServedModel | null => {
    const e = models.endpoint(b.endpoint);
    return b.role === "primary" ? e.primary : b.role === "canary" ? e.canary : e.shadow;
  };

  const reload = async (key: string): Promise<void> => {
    const b = bindings.get(key);
    if (!b) return;
    const current = served(b);
    try {
      const v = await source.registry.getVersion(b.model, b.alias);
      if (current && current.version === String(v.version) && current.logAs?.name === b.model) {
        // Only the weight may have changed.
        if (b.role === "canary" && b.weight !== undefined)
          models.endpoint(b.endpoint).canaryWeight = b.weight;
        return;
      }
      const loaded = await loadRegisteredModel(source, b.model, v.version);
      // The binding may have been removed or changed while loading.
      if (bindings.get(key) !== b) return;
      models.install(b.endpoint, b.role, loaded, b.role === "canary" ? b.weight : undefined);
      metrics.swaps.labels(b.endpoint, b.role).inc();
      const event = {
        kind: "swap" as const,
        endpoint: b.endpoint,
        role: b.role,
        model: b.model,
        alias: b.alias,
        from: current?.version ?? null,
        to: loaded.version,
      };
      ws.logger.info(event, "swapped in a new model version");
      audit("serving.swap", b.endpoint, {
        role: b.role,
        model: b.model,
        alias: b.alias,
        from: event.from,
        to: event.to,
        loadSeconds: loaded.loadSeconds ?? null,
      });
      emit(event);
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      metrics.loadFailures.labels(b.endpoint, b.role).inc();
      ws.logger.error(
        { endpoint: b.endpoint, role: b.role, model: b.model, alias: b.alias, err: e },
        "model failed to load; the previous version keeps serving",
      );
      audit("serving.load.fail", b.endpoint, {
        role: b.role,
        model: b.model,
        alias: b.alias,
        serving: current?.version ?? null,
        error,
      });
      emit({
        kind: "load-failed",
        endpoint: b.endpoint,
        role: b.role,
        model: b.model,
        alias: b.alias,
        error,
      });
    }
  };

  const schedule = (key: string): void => {
    const next = (chains.get(key) ?? Promise.resolve()).then(() => reload(key));
    chains.set(key, next);
  };

  const aliasMoved = (model: string, alias: string): void => {
    for (const [key, b] of bindings) if (b.model === model && b.alias === alias) schedule(key);
  };

  const bind = (endpoint: string, role: Role, ref: string | undefined, weight?: number): void => {
    const key = keyOf(endpoint, role);
    const before = bindings.get(key);
    if (!ref) {
      if (!before) return;
      bindings.delete(key);
      models.install(endpoint, role, null);
      audit("serving.swap", endpoint, {
        role,
        model: before.model,
        alias: before.alias,
        from: served(before)?.version ?? null,
        to: null,
      });
      return;
    }
    const { model, alias } = splitModelRef(ref);
    if (before && before.model === model && before.alias === alias && before.weight === weight) return;
    bindings.set(key, { endpoint, role, model, alias, ...(weight !== undefined && { weight }) });
    schedule(key);
  };

  const deploymentChanged = async (name: string): Promise<void> => {
    const endpoint = deployments.get(name);
    if (endpoint === undefined) return;
    let spec: DeploymentSpec;
    try {
      spec = await deploymentService.get(name);
    } catch (e) {
      if (e instanceof LoopmlError && e.code === "NOT_FOUND") {
        ws.logger.warn(
          { deployment: name },
          "the deployment was removed; serving what is loaded until stopped",
        );
        return;
      }
      throw e;
    }
    const e = models.endpoint(endpoint);
    e.rollback = spec.rollback ?? null;
    e.sampleRate = spec.logging?.sampleRate;
    bind(endpoint, "primary", spec.model);
    bind(endpoint, "canary", spec.canary?.model, spec.canary?.weight);
    if (!spec.canary) e.canaryWeight = 0;
    bind(endpoint, "shadow", spec.shadow?.model);
    emit({ kind: "deployment-changed", deployment: name });
  };

  const pollOnce = async (): Promise<void> => {
    if (cursor === null) cursor = await headSeq(ws);
    for (;;) {
      const events = await ws.audit.list({ afterSeq: cursor, limit: 1000 });
      for (const ev of events) {
        cursor = ev.seq;
        if (ev.target.startsWith("model:")) {
          const ref = ev.target.slice("model:".length);
          const at = ref.indexOf("@");
          if (at > 0) aliasMoved(ref.slice(0, at), ref.slice(at + 1));
        } else if (ev.target.startsWith("deployment:")) {
          await deploymentChanged(ev.target.slice("deployment:".length));
        }
      }
      if (events.length < 1000) return;
    }
  };

  const onAliasMoved = (m: AliasMove): void => aliasMoved(m.model, m.alias);

  return {
    start() {
      deps.events?.on("alias.moved", onAliasMoved);
      // Changes before the server started are already in what it loaded: read from the current head on.
      void pollOnce().catch((e: unknown) => ws.logger.error({ err: e }, "reading the audit log failed"));
      timer = setInterval(() => {
        if (polling) return;
        polling = pollOnce()
          .catch((e: unknown) => ws.logger.error({ err: e }, "reading the audit log failed; will retry"))
          .finally(() => {
            polling = null;
          });
      }, options.pollMs ?? 2000);
      timer.unref();
    },
    stop() {
      deps.events?.off("alias.moved", onAliasMoved);
      if (timer) clearInterval(timer);
      timer = null;
    },
    poll: async () => {
      while (polling) await polling;
      polling = pollOnce().finally(() => {
        polling = null;
      });
      await polling;
    },
    async idle() {
      for (;;) {
        const pending = [...chains.values()];
        await Promise.all(pending);
        if ([...chains.values()].every((c, i) => c === pending[i]) && chains.size === pending.length) return;
      }
    },
    rolledBack(endpoint, report) {
      const key = keyOf(endpoint.name, "canary");
      const b = bindings.get(key);
      bindings.delete(key);
      audit("serving.canary.rollback", endpoint.name, {
        ...report,
        ...(b && { model: b.model, alias: b.alias }),
      });
      emit({ kind: "rollback", report });
      // A deployment drops its canary for good, so other replicas and restarts follow the decision.
      for (const [name, ep] of deployments) {
        if (ep !== endpoint.name) continue;
        void deploymentService
          .get(name)
          .then(async (spec) => {
            if (!spec.canary) return;
            const { canary: _dropped, ...rest } = spec;
            await deploymentService.upsert(rest);
          })
          .catch((e: unknown) =>
            ws.logger.error(
              { err: e, deployment: name },
              "could not remove the rolled-back canary from the deployment",
            ),
          );
      }
    },
  };
}

/** The newest audit event's sequence number: read it before loading, pass it as `afterSeq`. */
export async function headSeq(ws: Workspace): Promise<number> {
  const head = await ws.store.db.selectFrom("audit_head").select("seq").executeTakeFirst();
  return Number(head?.seq ?? 0);
}
