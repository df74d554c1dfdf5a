// The set of models a server answers for: lookup by name, alias or version, each with its batcher and instruments.
import { LoopmlError } from "../errors.ts";
import { createBatcher, DEFAULT_BATCHING, type Batcher, type BatchingOptions } from "./batcher.ts";
import { instrumentsFor, type ModelInstruments, type ServingMetrics } from "./metrics.ts";
import type { ModelRuntime } from "./types.ts";

/** What the caller hands the server for one model. */
export interface ServedModelSpec {
  readonly name: string;
  /** "1" by default. */
  readonly version?: string;
  /** Names such as "production" that `name@alias` resolves to this model. */
  readonly aliases?: readonly string[];
  readonly runtime: ModelRuntime;
  /** How long loading took, reported in /metrics. */
  readonly loadSeconds?: number;
}

export interface ServedModel {
  readonly name: string;
  readonly version: string;
  readonly aliases: readonly string[];
  readonly runtime: ModelRuntime;
  readonly batcher: Batcher;
  readonly instruments: ModelInstruments;
}

export interface ModelSet {
  /** Resolves "name", "name@alias" and optionally a version; NOT_FOUND lists what is served. */
  resolve(ref: string, version?: string): ServedModel;
  list(): readonly ServedModel[];
  /** The only model, for protocols without a model name (MLflow /invocations); FAILED_PRECONDITION otherwise. */
  single(): ServedModel;
}

export function createModelSet(
  specs: readonly ServedModelSpec[],
  metrics: ServingMetrics,
  batching: BatchingOptions = DEFAULT_BATCHING,
): ModelSet {
  const models: ServedModel[] = specs.map((spec) => {
    const version = spec.version ?? "1";
    const instruments = instrumentsFor(metrics, spec.name, version);
    const batcher = createBatcher(spec.runtime, batching, {
      onBatch: (rows) => instruments.batchRows.observe(rows),
    });
    metrics.queueRows.labels(spec.name).set(0);
    if (spec.loadSeconds !== undefined) metrics.loadSeconds.labels(spec.name, version).set(spec.loadSeconds);
    return {
      name: spec.name,
      version,
      aliases: spec.aliases ?? [],
      runtime: spec.runtime,
      batcher,
      instruments,
    };
  });
  const names = new Set<string>();
  for (const m of models) {
    if (names.has(m.name)) {
      throw new LoopmlError("INVALID_ARGUMENT", `Model "${m.name}" is listed twice; serve each name once.`);
    }
    names.add(m.name);
  }
  const byName = new Map(models.map((m) => [m.name, m] as const));
  const describe = (): string =>
    models
      .map(
        (m) =>
          `${m.name} (version ${m.version}${m.aliases.length ? `, aliases ${m.aliases.join(", ")}` : ""})`,
      )
      .join("; ") || "none";
  return {
    list: () => models,
    resolve(ref, version) {
      const at = ref.indexOf("@");
      const name = at < 0 ? ref : ref.slice(0, at);
      const model = byName.get(name);
      if (!model)
        throw new LoopmlError("NOT_FOUND", `Model "${name}" is not served here; served: ${describe()}.`);
      if (at >= 0 && !model.aliases.includes(ref.slice(at + 1))) {
        throw new LoopmlError(
          "NOT_FOUND",
          `Model "${name}" has no alias "${ref.slice(at + 1)}" here; served: ${describe()}.`,
        );
      }
      if (version !== undefined && version !== model.version) {
        throw new LoopmlError(
          "NOT_FOUND",
          `Model "${name}" has no version "${version}" here (serving version ${model.version}).`,
        );
      }
      return model;
    },
    single() {
      const only = models[0];
      if (models.length !== 1 || !only) {
        throw new LoopmlError(
          "FAILED_PRECONDITION",
          `/invocations needs exactly one served model but ${models.length} are served (${describe()}); use /v1/models/NAME/predict.`,
        );
      }
      return only;
    },
  };
}
