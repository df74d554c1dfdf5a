// The endpoints a server answers for: each a primary model plus optional canary and shadow, swapped atomically, looked up by name, alias or version.
import { LoopmlError } from "../errors.ts";
import { createBatcher, DEFAULT_BATCHING, type Batcher, type BatchingOptions } from "./batcher.ts";
import { instrumentsFor, type ModelInstruments, type ServingMetrics } from "./metrics.ts";
import type { LoggedModel } from "./inference-logger.ts";
import type { ModelRuntime } from "./types.ts";

/** A loaded model version, as the caller hands it over. */
export interface LoadedModel {
  /** The registered model this version belongs to, as the inference log names it (default: the endpoint's name). */
  readonly model?: string;
  /** "1" by default. */
  readonly version?: string;
  readonly runtime: ModelRuntime;
  /** How long loading took, reported in /metrics. */
  readonly loadSeconds?: number;
}

export interface RollbackPolicy {
  /** Roll back when canary error rate − primary error rate exceeds this (0.02 = two points). */
  readonly maxErrorRateDelta: number;
  /** Roll back when canary p99 latency exceeds this × the primary's. */
  readonly maxP99Ratio: number;
}

/** What the caller hands the server for one endpoint. */
export interface ServedModelSpec extends LoadedModel {
  /** The model name requests use. */
  readonly name: string;
  /** Names such as "production" that `name@alias` resolves to this endpoint. */
  readonly aliases?: readonly string[];
  /** Other names the endpoint answers to (e.g. its deployment's). */
  readonly otherNames?: readonly string[];
  /** A second version answering `weight` (0–1) of the requests. */
  readonly canary?: LoadedModel & { readonly weight: number };
  /** A version that gets a copy of every request; logged, never returned. */
  readonly shadow?: LoadedModel;
  readonly rollback?: RollbackPolicy;
  /** Share of requests written to the inference log (default: the logger's). */
  readonly sampleRate?: number;
}

export type Role = "primary" | "canary" | "shadow";

export interface ServedModel {
  readonly name: string;
  readonly version: string;
  readonly aliases: readonly string[];
  readonly runtime: ModelRuntime;
  readonly batcher: Batcher;
  readonly instruments: ModelInstruments;
  readonly role: Role;
  readonly endpoint: Endpoint;
  /** How the inference log names it; null when the version is not a registry version number. */
  readonly logAs: LoggedModel | null;
}

/** Mutable on purpose: a swap is one assignment, so a request sees the old model or the new one, never a mix. */
export interface Endpoint {
  readonly name: string;
  readonly aliases: readonly string[];
  primary: ServedModel;
  canary: ServedModel | null;
  canaryWeight: number;
  shadow: ServedModel | null;
  rollback: RollbackPolicy | null;
  sampleRate: number | undefined;
}

export interface ModelSet {
  /** Resolves "name", "name@alias" and optionally a loaded version (primary, canary or shadow); NOT_FOUND lists what is served. */
  resolve(ref: string, version?: string): ServedModel;
  /**
   * Like resolve, but without an explicit version the canary answers its share of requests: by a hash
   * of `key` when given (the same key always lands on the same side), at random otherwise.
   */
  route(ref: string, version?: string, key?: string): ServedModel;
  /** Every loaded model: primaries, canaries and shadows. */
  list(): readonly ServedModel[];
  endpoints(): readonly Endpoint[];
  endpoint(name: string): Endpoint;
  /** The only endpoint, for protocols without a model name (MLflow /invocations); FAILED_PRECONDITION otherwise. */
  single(key?: string): ServedModel;
  /** Installs a loaded version in a role of an endpoint (null removes a canary or shadow); returns the one replaced. */
  install(endpoint: string, role: Role, model: LoadedModel | null, weight?: number): ServedModel | null;
  addEndpoint(spec: ServedModelSpec): Endpoint;
}

export function createModelSet(
  specs: readonly ServedModelSpec[],
  metrics: ServingMetrics,
  batching: BatchingOptions = DEFAULT_BATCHING,
): ModelSet {
  const endpoints: Endpoint[] = [];
  const byName = new Map<string, Endpoint>();

  const serve = (endpoint: Endpoint, role: Role, loaded: LoadedModel): ServedModel => {
    const version = loaded.version ?? "1";
    const instruments = instrumentsFor(metrics, endpoint.name, version);
    const batcher = createBatcher(loaded.runtime, batching, {
      onBatch: (rows) => instruments.batchRows.observe(rows),
    });
    metrics.queueRows.labels(endpoint.name).set(0);
    metrics.served.labels(endpoint.name, version, role).set(1);
    if (loaded.loadSeconds !== undefined)
      metrics.loadSeconds.labels(endpoint.name, version).set(loaded.loadSeconds);
    const registryVersion = /^[1-9]\d{0,8}$/.test(version) ? Number(version) : null;
    return {
      name: endpoint.name,
      version,
      aliases: endpoint.aliases,
      runtime: loaded.runtime,
      batcher,
      instruments,
      role,
      endpoint,
      logAs:
        registryVersion === null
          ? null
          : {
              name: loaded.model ?? endpoint.name,
              version: registryVersion,
              signature: loaded.runtime.signature,
            },
    };
  };

  const loadedOf = (e: Endpoint): ServedModel[] =>
    [e.primary, e.canary, e.shadow].filter((m): m is ServedModel => m !== null);

  const describe = (): string =>
    endpoints
      .map(
        (e) =>
          `${e.name} (version ${loadedOf(e)
            .map((m) => m.version)
            .join("/")}${e.aliases.length ? `, aliases ${e.aliases.join(", ")}` : ""})`,
      )
      .join("; ") || "none";

  const find = (ref: string): Endpoint => {
    const at = ref.indexOf("@");
    const name = at < 0 ? ref : ref.slice(0, at);
    const e = byName.get(name);
    if (!e) throw new LoopmlError("NOT_FOUND", `Model "${name}" is not served here; served: ${describe()}.`);
    if (at >= 0 && !e.aliases.includes(ref.slice(at + 1))) {
      throw new LoopmlError(
        "NOT_FOUND",
        `Model "${name}" has no alias "${ref.slice(at + 1)}" here; served: ${describe()}.`,
      );
    }
    return e;
  };

  const byVersion = (e: Endpoint, version: string): ServedModel => {
    const m = loadedOf(e).find((x) => x.version === version);
    if (!m) {
      throw new LoopmlError(
        "NOT_FOUND",
        `Model "${e.name}" has no version "${version}" here (serving version ${loadedOf(e)
          .map((x) => x.version)
          .join(", ")}).`,
      );
    }
    return m;
  };

  const pick = (e: Endpoint, key?: string): ServedModel => {
    const canary = e.canary;
    if (!canary || e.canaryWeight <= 0) return e.primary;
    const u = key === undefined ? Math.random() : hashUnit(key);
    return u < e.canaryWeight ? canary : e.primary;
  };

  const set: ModelSet = {
    resolve: (ref, version) => {
      const e = find(ref);
      return version === undefined ? e.primary : byVersion(e, version);
    },
    route: (ref, version, key) => {
      const e = find(ref);
      return version === undefined ? pick(e, key) : byVersion(e, version);
    },
    list: () => endpoints.flatMap(loadedOf),
    endpoints: () => endpoints,
    endpoint: (name) => find(name),
    single(key) {
      const only = endpoints[0];
      if (endpoints.length !== 1 || !only) {
        throw new LoopmlError(
          "FAILED_PRECONDITION",
          `/invocations needs exactly one served model but ${endpoints.length} are served (${describe()}); use /v1/models/NAME/predict.`,
        );
      }
      return pick(only, key);
    },
    install(name, role, loaded, weight) {
      const e = find(name);
      const before = role === "primary" ? e.primary : role === "canary" ? e.canary : e.shadow;
      if (role === "primary") {
        if (!loaded) throw new LoopmlError("INVALID_ARGUMENT", "An endpoint always has a primary model.");
        e.primary = serve(e, role, loaded);
      } else if (role === "canary") {
        e.canary = loaded ? serve(e, role, loaded) : null;
        if (weight !== undefined) e.canaryWeight = checkWeight(weight);
      } else {
        e.shadow = loaded ? serve(e, role, loaded) : null;
      }
      if (before) metrics.served.remove(before.name, before.version, before.role);
      const now = role === "primary" ? e.primary : role === "canary" ? e.canary : e.shadow;
      if (now) metrics.served.labels(now.name, now.version, now.role).set(1);
      return before;
    },
    addEndpoint(spec) {
      for (const n of [spec.name, ...(spec.otherNames ?? [])]) {
        if (byName.has(n)) {
          throw new LoopmlError("INVALID_ARGUMENT", `Model "${n}" is listed twice; serve each name once.`);
        }
      }
      // The primary is set right below; the placeholder never escapes this function.
      const e: Endpoint = {
        name: spec.name,
        aliases: spec.aliases ?? [],
        primary: null as unknown as ServedModel,
        canary: null,
        canaryWeight: spec.canary ? checkWeight(spec.canary.weight) : 0,
        shadow: null,
        rollback: spec.rollback ?? null,
        sampleRate: spec.sampleRate,
      };
      e.primary = serve(e, "primary", spec);
      if (spec.canary) e.canary = serve(e, "canary", spec.canary);
      if (spec.shadow) e.shadow = serve(e, "shadow", spec.shadow);
      endpoints.push(e);
      for (const n of [spec.name, ...(spec.otherNames ?? [])]) byName.set(n, e);
      return e;
    },
  };
  for (const spec of specs) set.addEndpoint(spec);
  return set;
}

function checkWeight(weight: number): number {
  if (!(weight >= 0 && weight <= 1)) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `A canary weight is a share of traffic between 0 and 1 (0.1 = 10%), not ${weight}.`,
    );
  }
  return weight;
}

/** FNV-1a of the key mapped to [0, 1): the same request key always lands on the same side of the split. */
export function hashUnit(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) / 4294967296;
}
