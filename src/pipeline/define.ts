// Typed pipeline definitions in TypeScript: the same PipelineSpec as loopml.yaml stages, with function steps.
import { LoopmlError } from "../errors.ts";
import { normalizeRelPath, parseDatasetDep, parseDuration } from "./parse.ts";
import type { AutomlWith } from "./builtins/automl.ts";
import type { DriftCheckWith } from "./builtins/drift-check.ts";
import type { EvaluateWith } from "./builtins/evaluate.ts";
import { builtinSpec } from "./builtins/index.ts";
import type { PromoteWith, RegisterWith } from "./builtins/registry.ts";
import type { DepRef, ParamValue, PipelineSpec, StepFunction, StepSpec } from "./types.ts";

export interface StepOptions {
  /** A shell command; give either `run` or `fn`. */
  readonly run?: string | StepFunction;
  /** Paths, "dataset:NAME@VERSION|latest", or other steps' outs. */
  readonly deps?: readonly string[];
  readonly params?: Readonly<Record<string, ParamValue>>;
  readonly outs?: readonly string[];
  readonly metrics?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Milliseconds, or a duration such as "10m". */
  readonly timeout?: number | string;
  readonly retries?: number;
  /** Bump to invalidate cached results of a function step whose behaviour changed outside its own text. */
  readonly version?: string;
}

export type StepDefinition = Omit<StepSpec, "name">;

/** A built-in step waiting for its name, which its default output paths include. */
export interface BuiltinDefinition {
  readonly builtin: (name: string) => StepSpec;
}

export interface BuiltinOptions {
  /** Extra deps to wait for (paths or "dataset:…"), besides those the built-in's inputs imply. */
  readonly deps?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly timeout?: number | string;
  readonly retries?: number;
}

function builtin(uses: string, values: object, options: BuiltinOptions = {}): BuiltinDefinition {
  // JSON round trip: drops undefined members, so that `{ seed: undefined }` and `{}` key the same.
  const withValues = JSON.parse(JSON.stringify(values)) as Record<string, ParamValue>;
  return {
    builtin: (name) => {
      const where = (m: string): never => {
        throw new LoopmlError("INVALID_ARGUMENT", `step "${name}": ${m}`);
      };
      const timeoutMs =
        options.timeout === undefined
          ? undefined
          : typeof options.timeout === "number"
            ? options.timeout
            : (parseDuration(options.timeout) ?? where(`timeout "${options.timeout}" is not a duration.`));
      return builtinSpec(name, uses, withValues, {
        ...(options.env && { env: options.env }),
        ...(timeoutMs !== undefined && { timeoutMs }),
        ...(options.retries !== undefined && { retries: options.retries }),
        deps: (options.deps ?? []).map((d) =>
          d.startsWith("dataset:") ? parseDatasetDep(d, where) : { kind: "path" as const, path: d },
        ),
      });
    },
  };
}

/**
 * Built-in steps with typed inputs; their outputs default to build/STEP/….
 * @example
 * definePipeline({ name: "retrain", steps: {
 *   train: builtins.automl({ data: "dataset:flights@latest", target: "late", budget: "60s" }),
 *   score: builtins.evaluate({ model: "build/train/model.json", data: "dataset:flights-holdout@latest" }),
 *   register: builtins.register({ model: "build/train/model.json", name: "flights", metrics: "build/score/metrics.json" }),
 *   promote: builtins.promote({ registered: "build/register/registered.json", to: "production" }),
 * } });
 */
export const builtins = {
  automl: (w: AutomlWith, o?: BuiltinOptions): BuiltinDefinition => builtin("automl", w, o),
  evaluate: (w: EvaluateWith, o?: BuiltinOptions): BuiltinDefinition => builtin("evaluate", w, o),
  register: (w: RegisterWith, o?: BuiltinOptions): BuiltinDefinition => builtin("register", w, o),
  promote: (w: PromoteWith, o?: BuiltinOptions): BuiltinDefinition => builtin("promote", w, o),
  driftCheck: (w: DriftCheckWith, o?: BuiltinOptions): BuiltinDefinition => builtin("drift-check", w, o),
};

/**
 * @example
 * const prepare = step({ deps: ["data/raw.csv"], outs: ["build/clean.csv"], run: async (ctx) => clean(ctx.cwd) });
 */
export function step(options: StepOptions): StepDefinition {
  const where = (m: string): never => {
    throw new LoopmlError("INVALID_ARGUMENT", `step(): ${m}`);
  };
  const rel = (p: string): string =>
    normalizeRelPath(p) ?? where(`"${p}" must be a relative path inside the project.`);
  const deps = (options.deps ?? []).map((d): DepRef =>
    d.startsWith("dataset:") ? parseDatasetDep(d, where) : { kind: "path", path: rel(d) },
  );
  const timeoutMs =
    options.timeout === undefined
      ? undefined
      : typeof options.timeout === "number"
        ? options.timeout
        : (parseDuration(options.timeout) ?? where(`timeout "${options.timeout}" is not a duration.`));
  const run = options.run ?? where('needs "run": a shell command or a function.');
  const base = {
    deps,
    params: Object.entries(options.params ?? {}).map(([key, value]) => ({
      kind: "value" as const,
      key,
      value,
    })),
    outs: (options.outs ?? []).map(rel),
    ...(options.metrics !== undefined && { metrics: rel(options.metrics) }),
    env: { ...options.env },
    ...(timeoutMs !== undefined && { timeoutMs }),
    retries: options.retries ?? 0,
  };
  return typeof run === "string"
    ? { ...base, run }
    : { ...base, fn: run, code: `${options.version ?? ""}\n${run.toString()}` };
}

/**
 * @example
 * export default definePipeline({ name: "train", steps: { prepare, fit: step({ run: "python fit.py", deps: ["build/clean.csv"] }) } });
 */
export function definePipeline(options: {
  readonly name: string;
  readonly steps: Readonly<Record<string, StepDefinition | BuiltinDefinition>>;
}): PipelineSpec {
  return {
    name: options.name,
    steps: Object.entries(options.steps).map(([name, s]) =>
      "builtin" in s ? s.builtin(name) : { ...s, name },
    ),
  };
}
