// The local executor: runs the steps whose cache key is new, in parallel up to --jobs, and records everything.
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { Clock, IdGenerator } from "../_internal/clock.ts";
import { LoopmlError } from "../errors.ts";
import { hashPath } from "./outputs.ts";
import { buildDag, planRun, selectSteps, type Dag, type DagStep, type PlannedStep } from "./plan.ts";
import { resolveParams } from "./params.ts";
import {
  finishRun,
  insertRun,
  lookupCache,
  recordStep,
  type RecordsDeps,
  type StepRecord,
} from "./records.ts";
import { allAvailable, executeStep, remoteGet } from "./step-exec.ts";
import type { BlobStore } from "../store/types.ts";
import type { TrackingService } from "../tracking/service.ts";
import type { Workspace } from "../workspace.ts";
import { startPipelineTracking, type PipelineTracker } from "./tracked.ts";
import type { RemoteCache } from "./remote-cache.ts";
import type { StepQueue } from "./queue.ts";
import type { OutputRef, ParamValue, PipelineSpec } from "./types.ts";

/** Resolves `dataset:NAME@VERSION|latest` to the version's content id. */
export type DatasetResolver = (name: string, version: number | "latest") => Promise<string>;

export interface ExecutorDeps extends RecordsDeps {
  readonly blobs: BlobStore;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly actor: string;
  /** Where commands run and relative paths point. */
  readonly projectDir: string;
  readonly datasets?: DatasetResolver;
  /** When given, the pipeline run is a tracked run and each step a run nested under it. */
  readonly tracking?: TrackingService;
  /** The stores for in-process steps that need them (the built-ins). */
  readonly workspace?: Workspace;
  /** A shared cache (a teammate's or CI's results): read on a local miss, written after each step that ran. */
  readonly remoteCache?: RemoteCache;
  /** Run step attempts on `loopml worker` processes through this queue (LOOPML_QUEUE). */
  readonly queue?: StepQueue;
}

export interface RunOptions {
  /** Only these steps and their upstream steps. */
  readonly targets?: readonly string[];
  /** Run these even when cached. */
  readonly force?: readonly string[];
  /** --param KEY=VALUE overrides. */
  readonly params?: Readonly<Record<string, string>>;
  /** Steps at once; default: the number of cores. */
  readonly jobs?: number;
  /** Keep starting independent steps after a failure. */
  readonly keepGoing?: boolean;
  /** First retry delay; doubled on each further retry. */
  readonly retryBackoffMs?: number;
  readonly onEvent?: (event: RunEvent) => void;
  readonly onOutput?: (step: string, stream: "stdout" | "stderr", chunk: Buffer) => void;
  readonly signal?: AbortSignal;
}

export type RunEvent =
  | {
      readonly type: "run-start";
      readonly runId: string;
      readonly pipeline: string;
      readonly version: string;
    }
  | { readonly type: "step-start"; readonly step: string; readonly attempt: number }
  | {
      readonly type: "step-retry";
      readonly step: string;
      readonly attempt: number;
      readonly delayMs: number;
      readonly error: string;
    }
  | { readonly type: "step-end"; readonly result: StepResult }
  /** Something went wrong that does not fail the run, e.g. an unreachable remote cache. */
  | { readonly type: "warning"; readonly step?: string; readonly message: string };

export type StepResult = Omit<StepRecord, "id" | "inputs"> & {
  readonly stepRunId: string;
  readonly inputs: StepRecord["inputs"];
  /** The step's tracked run, nested under the pipeline's (absent for skipped steps or without tracking). */
  readonly trackingRunId?: string;
  /** Where a cached result came from, when not from this workspace's own cache. */
  readonly cacheSource?: "remote";
};

/** A step's result with its captured output, which goes to the tracked run but not into results. */
export type ExecutedStep = StepResult & { readonly log?: Buffer };

export interface PipelineRunResult {
  readonly runId: string;
  readonly pipeline: string;
  readonly version: string;
  readonly status: "succeeded" | "failed";
  readonly steps: readonly StepResult[];
  readonly durationMs: number;
  /** The pipeline's tracked run (when tracking is on). */
  readonly trackingRunId?: string;
}

export interface ResolvedRun {
  readonly dag: Dag;
  readonly selected: Set<string>;
  readonly params: Map<string, Record<string, ParamValue>>;
  readonly externalIds: Map<string, string>;
  readonly datasetIds: Map<string, string>;
}

async function resolve(deps: ExecutorDeps, spec: PipelineSpec, options: RunOptions): Promise<ResolvedRun> {
  const dag = buildDag(spec);
  const selected = selectSteps(dag, options.targets);
  const params = await resolveParams(dag, selected, deps.projectDir, options.params);
  const externalIds = new Map<string, string>();
  const datasetIds = new Map<string, string>();
  for (const name of selected) {
    for (const d of (dag.steps.get(name) as DagStep).deps) {
      if (d.kind === "external" && !externalIds.has(d.path)) {
        const h = await hashPath(join(deps.projectDir, d.path));
        if (h) externalIds.set(d.path, h.id);
      } else if (d.kind === "dataset" && !datasetIds.has(d.ref)) {
        if (!deps.datasets)
          throw new LoopmlError(
            "FAILED_PRECONDITION",
            `Step "${name}" reads dataset:${d.ref}, but no dataset store is available.`,
          );
        const at = d.ref.lastIndexOf("@");
        const v = d.ref.slice(at + 1);
        datasetIds.set(d.ref, await deps.datasets(d.ref.slice(0, at), v === "latest" ? "latest" : Number(v)));
      }
    }
  }
  return { dag, selected, params, externalIds, datasetIds };
}

/**
 * What a run would do, without running anything: each step's cache key (when its inputs are known) and
 * whether it runs or is reused. Reads the cache round by round, one DAG level per round at most.
 * @example
 * const { plan } = await planPipeline(deps, spec, { force: ["train"] });
 */
export async function planPipeline(
  deps: ExecutorDeps,
  spec: PipelineSpec,
  options: RunOptions = {},
): Promise<{ dag: Dag; plan: PlannedStep[] }> {
  const r = await resolve(deps, spec, options);
  const known = new Map<string, readonly OutputRef[] | null>();
  for (;;) {
    const misses: string[] = [];
    const plan = planRun(r.dag, {
      externalIds: r.externalIds,
      datasetIds: r.datasetIds,
      params: r.params,
      cached: (k) => {
        const v = known.get(k);
        if (v === undefined) misses.push(k);
        return v ?? undefined;
      },
      ...(options.targets && { targets: options.targets }),
      ...(options.force && { force: options.force }),
    });
    if (misses.length === 0) return { dag: r.dag, plan };
    const found = await lookupCache(deps.store, misses);
    for (const k of misses) {
      const hit = found.get(k);
      if (hit && (await allAvailable(deps.blobs, hit.outputs))) known.set(k, hit.outputs);
      else known.set(k, (await remoteGet(deps, k, options))?.outputs ?? null);
    }
  }
}

/**
 * Runs a pipeline: cached steps are restored, the others run (independent ones in parallel), a failed
 * step stops its dependants, and every step is recorded and audited.
 * @example
 * const result = await runPipeline(deps, spec, { jobs: 2 });
 * result.steps.filter((s) => s.status === "cached").length;
 */
export async function runPipeline(
  deps: ExecutorDeps,
  spec: PipelineSpec,
  options: RunOptions = {},
): Promise<PipelineRunResult> {
  const r = await resolve(deps, spec, options);
  // The same checks as a dry run (missing inputs, unknown --force steps) before anything is recorded.
  planRun(r.dag, {
    externalIds: r.externalIds,
    datasetIds: r.datasetIds,
    cached: () => undefined,
    ...(options.targets && { targets: options.targets }),
    ...(options.force && { force: options.force }),
  });
  const jobs = options.jobs ?? availableParallelism();
  if (!Number.isInteger(jobs) || jobs < 1)
    throw new LoopmlError("INVALID_ARGUMENT", `--jobs must be a whole number ≥ 1 (got ${jobs}).`);
  const runId = deps.ids.next();
  const started = deps.clock.now();
  await insertRun(deps, {
    id: runId,
    pipeline: spec.name,
    version: r.dag.version,
    definition: spec.steps.map(({ fn: _fn, ...s }) => s),
    params: Object.fromEntries(r.params),
    options: {
      targets: options.targets ?? [],
      force: options.force ?? [],
      jobs,
      keepGoing: options.keepGoing ?? false,
    },
    actor: deps.actor,
    startedAt: started,
  });
  const tracker: PipelineTracker | undefined = deps.tracking
    ? await startPipelineTracking(deps.tracking, {
        pipeline: spec.name,
        version: r.dag.version,
        pipelineRunId: runId,
        startedAt: started,
      })
    : undefined;
  options.onEvent?.({ type: "run-start", runId, pipeline: spec.name, version: r.dag.version });

  const force = new Set(options.force ?? []);
  const results = new Map<string, StepResult>();
  const outputs = new Map<string, readonly OutputRef[]>();
  const waiting = new Map<string, number>();
  const ready: string[] = [];
  for (const name of r.dag.order) {
    if (!r.selected.has(name)) continue;
    const n = (r.dag.steps.get(name) as DagStep).upstream.filter((u) => r.selected.has(u)).length;
    waiting.set(name, n);
    if (n === 0) ready.push(name);
  }
  let failedStep: string | undefined;
  const running = new Map<string, Promise<void>>();

  const finish = async (executed: ExecutedStep): Promise<void> => {
    const { log, ...res } = executed;
    const { stepRunId, ...rest } = res;
    await recordStep(deps, runId, deps.actor, { ...rest, id: stepRunId }, deps.clock.now());
    const trackingRunId = await tracker?.step({
      ...res,
      params: r.params.get(res.step) ?? {},
      ...(log !== undefined && { log }),
    });
    const done: StepResult = trackingRunId !== undefined ? { ...res, trackingRunId } : res;
    results.set(res.step, done);
    options.onEvent?.({ type: "step-end", result: done });
  };
  const skipDownstream = async (from: string, reason: string): Promise<void> => {
    const stack = [...(r.dag.steps.get(from) as DagStep).downstream];
    while (stack.length > 0) {
      const n = stack.pop() as string;
      if (!r.selected.has(n) || results.has(n) || !waiting.has(n)) continue;
      waiting.delete(n);
      await finish(skipped(deps, n, reason));
      stack.push(...(r.dag.steps.get(n) as DagStep).downstream);
    }
  };
  const execute = async (name: string): Promise<void> => {
    let res: ExecutedStep;
    try {
      res = await executeStep(deps, r, name, outputs, force.has(name), options, runId);
    } catch (e) {
      // An IO or store error inside one step fails that step, not the whole run's bookkeeping.
      res = { ...skipped(deps, name, e instanceof Error ? e.message : String(e)), status: "failed" };
    }
    await finish(res);
    if (res.status === "failed") {
      failedStep ??= name;
      await skipDownstream(name, `upstream step "${name}" failed`);
      return;
    }
    outputs.set(name, res.outputs);
    for (const d of (r.dag.steps.get(name) as DagStep).downstream) {
      const n = waiting.get(d);
      if (n === undefined) continue;
      waiting.set(d, n - 1);
      if (n - 1 === 0) ready.push(d);
    }
  };

  for (;;) {
    const stopping =
      (failedStep !== undefined && options.keepGoing !== true) || options.signal?.aborted === true;
    while (!stopping && running.size < jobs && ready.length > 0) {
      const name = ready.shift() as string;
      waiting.delete(name);
      running.set(
        name,
        execute(name).finally(() => running.delete(name)),
      );
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  const stopReason = options.signal?.aborted
    ? "the run was cancelled"
    : `stopped after step "${failedStep ?? "?"}" failed (use --keep-going to continue)`;
  for (const name of r.dag.order) {
    if (r.selected.has(name) && !results.has(name)) await finish(skipped(deps, name, stopReason));
  }

  const steps = r.dag.order.flatMap((n) => results.get(n) ?? []);
  const status = steps.some((s) => s.status === "failed" || s.status === "skipped") ? "failed" : "succeeded";
  const counts: Record<string, number> = {};
  for (const s of steps) counts[s.status] = (counts[s.status] ?? 0) + 1;
  const firstError = steps.find((s) => s.status === "failed")?.error;
  await tracker?.finish(status);
  const ended = deps.clock.now();
  await finishRun(deps, {
    id: runId,
    actor: deps.actor,
    status,
    endedAt: ended,
    counts,
    ...(firstError !== undefined && { error: firstError }),
  });
  return {
    runId,
    pipeline: spec.name,
    version: r.dag.version,
    status,
    steps,
    durationMs: ended - started,
    ...(tracker && { trackingRunId: tracker.runId }),
  };
}

function skipped(deps: ExecutorDeps, step: string, reason: string): StepResult {
  return {
    stepRunId: deps.ids.next(),
    step,
    status: "skipped",
    cacheHit: false,
    attempts: 0,
    inputs: [],
    outputs: [],
    metrics: {},
    error: reason,
    durationMs: 0,
  };
}
