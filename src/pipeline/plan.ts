// Pure pipeline planning: the DAG (cycles, missing inputs, clashing outputs), cache keys and run/reuse decisions.
import { canonicalJson, sha256Hex } from "../_internal/hash.ts";
import { LoopmlError } from "../errors.ts";
import type { DepRef, OutputRef, ParamValue, PipelineSpec, StepSpec } from "./types.ts";

/** Where a dependency's content comes from. */
export type DepSource =
  | { readonly kind: "external"; readonly path: string }
  | { readonly kind: "dataset"; readonly ref: string }
  /** Exactly one output of an upstream step: its id is known once that step ran or was reused. */
  | { readonly kind: "output"; readonly step: string; readonly out: string }
  /** A path inside an upstream output, or a folder holding upstream outputs: hashed from the workspace. */
  | { readonly kind: "derived"; readonly path: string; readonly steps: readonly string[] };

export interface DagStep {
  readonly spec: StepSpec;
  readonly deps: readonly DepSource[];
  readonly upstream: readonly string[];
  readonly downstream: readonly string[];
}

export interface Dag {
  readonly pipeline: string;
  /** Pipeline version: the hash of its definition. */
  readonly version: string;
  /** Step names in a topological order (upstream first, then declaration order). */
  readonly order: readonly string[];
  readonly steps: ReadonlyMap<string, DagStep>;
}

/**
 * Builds and validates the step graph. Rejects cycles, steps reading their own outputs and outputs
 * written by two steps (or nested in another step's output), naming the steps involved.
 * @example
 * const dag = buildDag(parsePipelinesYaml(text).get("train")!);
 * dag.order; // ["prepare", "train", "evaluate"]
 */
export function buildDag(spec: PipelineSpec): Dag {
  const byName = new Map<string, StepSpec>();
  for (const s of spec.steps) {
    if (byName.has(s.name)) fail(`Pipeline "${spec.name}" defines step "${s.name}" twice.`);
    byName.set(s.name, s);
  }
  const producer = new Map<string, string>();
  for (const s of spec.steps) {
    for (const out of stepOutputs(s)) {
      const other = producer.get(out);
      if (other !== undefined && other !== s.name)
        fail(
          `Output "${out}" is written by both step "${other}" and step "${s.name}": give each its own path.`,
          {
            steps: [other, s.name],
          },
        );
      producer.set(out, s.name);
    }
  }
  // Every ancestor folder of an output → the steps writing below it, for folder deps and nesting checks.
  const below = new Map<string, string[]>();
  for (const [out, step] of producer) {
    for (const anc of ancestors(out)) {
      const owner = producer.get(anc);
      if (owner !== undefined && owner !== step)
        fail(
          `Output "${out}" of step "${step}" lies inside output "${anc}" of step "${owner}": outputs must not overlap.`,
          {
            steps: [owner, step],
          },
        );
      let list = below.get(anc);
      if (!list) below.set(anc, (list = []));
      list.push(step);
    }
  }

  const upstream = new Map<string, Set<string>>();
  const depSources = new Map<string, DepSource[]>();
  for (const s of spec.steps) {
    const ups = new Set<string>();
    const sources = s.deps.map((d): DepSource => {
      if (d.kind === "dataset") return { kind: "dataset", ref: datasetRef(d) };
      const exact = producer.get(d.path);
      if (exact !== undefined) {
        ups.add(exact);
        return { kind: "output", step: exact, out: d.path };
      }
      const steps = new Set<string>(below.get(d.path) ?? []);
      for (const anc of ancestors(d.path)) {
        const owner = producer.get(anc);
        if (owner !== undefined) steps.add(owner);
      }
      if (steps.size === 0) return { kind: "external", path: d.path };
      for (const st of steps) ups.add(st);
      return { kind: "derived", path: d.path, steps: [...steps] };
    });
    if (ups.has(s.name))
      fail(`Step "${s.name}" reads its own output: a step cannot depend on what it writes.`, {
        steps: [s.name],
      });
    upstream.set(s.name, ups);
    depSources.set(s.name, sources);
  }

  const downstream = new Map<string, string[]>(spec.steps.map((s) => [s.name, []]));
  const indegree = new Map<string, number>();
  for (const s of spec.steps) {
    const ups = upstream.get(s.name) ?? new Set();
    indegree.set(s.name, ups.size);
    for (const u of ups) downstream.get(u)?.push(s.name);
  }
  const order: string[] = [];
  const ready = spec.steps.filter((s) => indegree.get(s.name) === 0).map((s) => s.name);
  for (let i = 0; i < ready.length; i++) {
    const name = ready[i] as string;
    order.push(name);
    for (const d of downstream.get(name) ?? []) {
      const n = (indegree.get(d) ?? 0) - 1;
      indegree.set(d, n);
      if (n === 0) ready.push(d);
    }
  }
  if (order.length < spec.steps.length) {
    const cycle = findCycle(
      spec.steps.map((s) => s.name).filter((n) => (indegree.get(n) ?? 0) > 0),
      upstream,
    );
    fail(
      `Pipeline "${spec.name}" has a cycle: ${cycle.join(" → ")}. Break it by removing one of these deps.`,
      {
        steps: cycle,
      },
    );
  }

  const steps = new Map<string, DagStep>();
  for (const s of spec.steps)
    steps.set(s.name, {
      spec: s,
      deps: depSources.get(s.name) ?? [],
      upstream: [...(upstream.get(s.name) ?? [])],
      downstream: downstream.get(s.name) ?? [],
    });
  return { pipeline: spec.name, version: pipelineVersion(spec), order, steps };
}

/** The outputs a step writes: its outs and its metrics file. */
export function stepOutputs(s: StepSpec): string[] {
  return s.metrics !== undefined && !s.outs.includes(s.metrics) ? [...s.outs, s.metrics] : [...s.outs];
}

export function datasetRef(d: Extract<DepRef, { kind: "dataset" }>): string {
  return `${d.name}@${d.version}`;
}

/** The hash of a pipeline's definition; functions count by their code text. */
export function pipelineVersion(spec: PipelineSpec): string {
  return sha256Hex(canonicalJson({ v: 1, name: spec.name, steps: spec.steps.map(definitionOf) }));
}

function definitionOf(s: StepSpec): unknown {
  const { fn: _fn, ...rest } = s;
  return rest;
}

/**
 * The cache key of one step: what it runs (command or code), how (env, declared outputs), with which
 * resolved params, on which input contents (ids in declaration order). Names and times never enter it,
 * so renaming a step or re-running later reuses the same results.
 */
export function stepCacheKey(
  step: StepSpec,
  params: Readonly<Record<string, ParamValue>>,
  inputIds: readonly string[],
): string {
  return sha256Hex(
    canonicalJson({
      v: 1,
      run: step.run ?? null,
      code: step.code ?? null,
      env: step.env,
      outs: stepOutputs(step),
      params,
      inputs: inputIds,
    }),
  );
}

export type StepAction = "run" | "reuse" | "skip";

export interface PlannedStep {
  readonly name: string;
  readonly action: StepAction;
  /** Known when every input's content is known before running anything. */
  readonly key?: string;
  readonly reason: string;
  /** Content ids of the deps, in declaration order (undefined: produced by an upstream step that will run). */
  readonly inputIds: readonly (string | undefined)[];
}

export interface PlanOptions {
  /** Content ids of deps no step produces, by path; a dep missing here does not exist. */
  readonly externalIds: ReadonlyMap<string, string>;
  /** Content ids of dataset deps by "NAME@VERSION" / "NAME@latest". */
  readonly datasetIds?: ReadonlyMap<string, string>;
  /** Resolved params per step (inline values, params-file keys and overrides). */
  readonly params?: ReadonlyMap<string, Readonly<Record<string, ParamValue>>>;
  /** Cached outputs by cache key. */
  readonly cached: (key: string) => readonly OutputRef[] | undefined;
  /** Only these steps and what they depend on. */
  readonly targets?: readonly string[];
  /** Steps to run even when cached. */
  readonly force?: readonly string[];
}

/**
 * Decides, without IO, which steps run and which are reused from the cache.
 * @example
 * const plan = planRun(dag, { externalIds, cached: (k) => cache.get(k) });
 * plan.filter((s) => s.action === "run").map((s) => s.name);
 */
export function planRun(dag: Dag, options: PlanOptions): PlannedStep[] {
  const selected = selectSteps(dag, options.targets);
  for (const f of options.force ?? []) requireStep(dag, f, "--force");
  const force = new Set(options.force ?? []);
  const missing: string[] = [];
  for (const name of dag.order) {
    if (!selected.has(name)) continue;
    const step = dag.steps.get(name) as DagStep;
    for (const d of step.deps) {
      if (d.kind === "external" && !options.externalIds.has(d.path))
        missing.push(`"${d.path}" (step "${name}")`);
      if (d.kind === "dataset" && !options.datasetIds?.has(d.ref))
        missing.push(`dataset:${d.ref} (step "${name}")`);
    }
  }
  if (missing.length > 0)
    fail(
      `Missing inputs: ${missing.slice(0, 10).join(", ")}${missing.length > 10 ? ` and ${missing.length - 10} more` : ""}. ` +
        "Create them, or add the step that writes them to the pipeline's outs.",
      { missing },
    );

  const outputs = new Map<string, readonly OutputRef[]>();
  const result: PlannedStep[] = [];
  for (const name of dag.order) {
    const step = dag.steps.get(name) as DagStep;
    if (!selected.has(name)) {
      result.push({ name, action: "skip", reason: "not selected", inputIds: [] });
      continue;
    }
    const inputIds = step.deps.map((d) => resolveInput(d, options, outputs));
    const params = options.params?.get(name) ?? {};
    if (inputIds.some((id) => id === undefined)) {
      result.push({
        name,
        action: "run",
        reason: "an input is produced by a step that runs first",
        inputIds,
      });
      continue;
    }
    const key = stepCacheKey(step.spec, params, inputIds as string[]);
    const hit = options.cached(key);
    if (force.has(name)) {
      result.push({ name, action: "run", key, reason: "forced", inputIds });
    } else if (hit) {
      outputs.set(name, hit);
      result.push({ name, action: "reuse", key, reason: "cached", inputIds });
    } else {
      result.push({ name, action: "run", key, reason: "no cached result for this key", inputIds });
    }
  }
  return result;
}

function resolveInput(
  d: DepSource,
  options: PlanOptions,
  outputs: ReadonlyMap<string, readonly OutputRef[]>,
): string | undefined {
  switch (d.kind) {
    case "external":
      return options.externalIds.get(d.path);
    case "dataset":
      return options.datasetIds?.get(d.ref);
    case "output":
      return outputs.get(d.step)?.find((o) => o.path === d.out)?.id;
    case "derived":
      return undefined;
  }
}

/** The targets and everything upstream of them; every step when there are no targets. */
export function selectSteps(dag: Dag, targets?: readonly string[]): Set<string> {
  if (!targets || targets.length === 0) return new Set(dag.order);
  const out = new Set<string>();
  const stack = targets.map((t) => requireStep(dag, t, "--step").spec.name);
  while (stack.length > 0) {
    const n = stack.pop() as string;
    if (out.has(n)) continue;
    out.add(n);
    stack.push(...(dag.steps.get(n)?.upstream ?? []));
  }
  return out;
}

function requireStep(dag: Dag, name: string, flag: string): DagStep {
  const s = dag.steps.get(name);
  if (!s)
    fail(
      `${flag} ${name}: pipeline "${dag.pipeline}" has no step "${name}" (steps: ${dag.order.slice(0, 20).join(", ")}).`,
    );
  return s;
}

function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let i = path.lastIndexOf("/"); i > 0; i = path.lastIndexOf("/", i - 1)) out.push(path.slice(0, i));
  return out;
}

function findCycle(candidates: readonly string[], upstream: ReadonlyMap<string, Set<string>>): string[] {
  const inCandidates = new Set(candidates);
  const start = candidates[0] as string;
  // Walking upstream inside the blocked set must revisit a node: that loop is the cycle.
  const seen = new Map<string, number>();
  const path: string[] = [];
  let n = start;
  while (!seen.has(n)) {
    seen.set(n, path.length);
    path.push(n);
    const next = [...(upstream.get(n) ?? [])].find((u) => inCandidates.has(u));
    if (next === undefined) break;
    n = next;
  }
  const cycle = path.slice(seen.get(n) ?? 0).reverse();
  return [...cycle, cycle[0] as string];
}

function fail(message: string, details?: Record<string, unknown>): never {
  throw new LoopmlError("INVALID_ARGUMENT", message, details);
}
