// One step of a run: restore it from the local or remote cache, or run its attempts here or on a queue worker.
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { LoopmlError } from "../errors.ts";
import type { BlobStore } from "../store/types.ts";
import type { ExecutedStep, ExecutorDeps, ResolvedRun, RunOptions } from "./executor.ts";
import { hashPath, outputAvailable, restoreOutput, storeOutput } from "./outputs.ts";
import { stepCacheKey, stepOutputs, type DagStep } from "./plan.ts";
import type { StepJobResult } from "./queue.ts";
import { importCacheEntry, lookupCache, type CachedResult } from "./records.ts";
import { attemptStep, readMetrics, type AttemptResult } from "./step-run.ts";
import type { OutputRef } from "./types.ts";

const DEFAULT_BACKOFF_MS = 1000;

export async function executeStep(
  deps: ExecutorDeps,
  r: ResolvedRun,
  name: string,
  upstreamOutputs: ReadonlyMap<string, readonly OutputRef[]>,
  forced: boolean,
  options: RunOptions,
  pipelineRunId: string,
): Promise<ExecutedStep> {
  const step = r.dag.steps.get(name) as DagStep;
  const spec = step.spec;
  const stepRunId = deps.ids.next();
  const startedAt = deps.clock.now();
  const inputs: { dep: string; id: string }[] = [];
  for (const d of step.deps) {
    let id: string | undefined;
    if (d.kind === "external") id = r.externalIds.get(d.path);
    else if (d.kind === "dataset") id = r.datasetIds.get(d.ref);
    else if (d.kind === "output") id = upstreamOutputs.get(d.step)?.find((o) => o.path === d.out)?.id;
    else id = (await hashPath(join(deps.projectDir, d.path)))?.id;
    const label = d.kind === "dataset" ? `dataset:${d.ref}` : d.kind === "output" ? d.out : d.path;
    if (id === undefined)
      throw new LoopmlError(
        "INTERNAL",
        `Input "${label}" of step "${name}" has no content after its producer ran (this is a bug in loopml).`,
      );
    inputs.push({ dep: label, id });
  }
  const params = r.params.get(name) ?? {};
  const cacheKey = stepCacheKey(
    spec,
    params,
    inputs.map((i) => i.id),
  );
  const base = { stepRunId, step: name, cacheKey, inputs, startedAt };

  if (!forced) {
    const hit = (await lookupCache(deps.store, [cacheKey])).get(cacheKey);
    if (hit && (await allAvailable(deps.blobs, hit.outputs))) {
      for (const o of hit.outputs) await restoreOutput(deps.blobs, join(deps.projectDir, o.path), o);
      const endedAt = deps.clock.now();
      return {
        ...base,
        status: "cached",
        cacheHit: true,
        attempts: 0,
        outputs: hit.outputs,
        metrics: hit.metrics,
        endedAt,
        durationMs: endedAt - startedAt,
      };
    }
  }

  if (!forced && deps.remoteCache) {
    const remote = await remoteGet(deps, cacheKey, options, name);
    if (remote) {
      try {
        if (await deps.remoteCache.fetch(remote.outputs, deps.blobs)) {
          await importCacheEntry(deps.store, cacheKey, remote, "remote", deps.clock.now());
          for (const o of remote.outputs) await restoreOutput(deps.blobs, join(deps.projectDir, o.path), o);
          const endedAt = deps.clock.now();
          return {
            ...base,
            status: "cached",
            cacheHit: true,
            cacheSource: "remote",
            attempts: 0,
            outputs: remote.outputs,
            metrics: remote.metrics,
            endedAt,
            durationMs: endedAt - startedAt,
          };
        }
      } catch (e) {
        warn(
          options,
          name,
          `could not fetch from the remote cache ${deps.remoteCache.location}: ${(e as Error).message}`,
        );
      }
    }
  }

  // A command learns which dataset version it was keyed on, e.g. LOOPML_DATASET_FLIGHTS=<version id>.
  const datasetEnv: Record<string, string> = {};
  for (const i of inputs) {
    const m = /^dataset:(.+)@/.exec(i.dep);
    if (m?.[1]) datasetEnv[`LOOPML_DATASET_${m[1].toUpperCase().replace(/[^A-Z0-9_]/g, "_")}`] = i.id;
  }
  // On a queue, shell steps and built-ins run on workers; a TypeScript function cannot travel, so it runs here.
  const queue =
    deps.queue !== undefined && (spec.fn === undefined || spec.uses !== undefined) ? deps.queue : undefined;
  const jobInputs = queue ? await jobInputsOf(deps, step, upstreamOutputs) : [];
  const { fn: _fn, ...portable } = spec;
  let remote: StepJobResult | undefined;
  const maxAttempts = spec.retries + 1;
  let last: AttemptResult | undefined;
  let attempt = 0;
  while (attempt < maxAttempts) {
    attempt++;
    if (attempt > 1) {
      const delayMs = (options.retryBackoffMs ?? DEFAULT_BACKOFF_MS) * 2 ** (attempt - 2);
      options.onEvent?.({ type: "step-retry", step: name, attempt, delayMs, error: last?.error ?? "" });
      await delay(delayMs);
    }
    options.onEvent?.({ type: "step-start", step: name, attempt });
    if (queue) {
      remote = await queue.run(
        {
          runId: pipelineRunId,
          pipeline: r.dag.pipeline,
          attempt,
          spec: portable,
          params,
          inputs: jobInputs,
          env: datasetEnv,
        },
        options.signal,
      );
      const log = remote.logBlob !== undefined ? await deps.blobs.getBytes(remote.logBlob) : Buffer.alloc(0);
      if (remote.logBlob !== undefined) options.onOutput?.(name, "stdout", log);
      last = { ok: remote.ok, retryable: remote.retryable, error: remote.error, log };
    } else
      last = await attemptStep(spec, params, r.dag.pipeline, deps.projectDir, {
        ...options,
        env: datasetEnv,
        context: { pipelineRunId, ...(deps.workspace && { workspace: deps.workspace }) },
      });
    if (last.ok || !last.retryable || options.signal?.aborted) break;
  }
  const result = last as AttemptResult;
  const logBlob =
    remote?.logBlob ?? (result.log.length > 0 ? (await deps.blobs.put(result.log)).id : undefined);
  const common = {
    ...base,
    cacheHit: false,
    attempts: attempt,
    log: result.log,
    ...(logBlob !== undefined && { logBlob }),
  };
  if (!result.ok) {
    const endedAt = deps.clock.now();
    return {
      ...common,
      status: "failed",
      outputs: [],
      metrics: {},
      error: result.error,
      endedAt,
      durationMs: endedAt - startedAt,
    };
  }
  // Outputs are stored only now, after success: a failed attempt's partial files never reach the cache.
  const stored: OutputRef[] = [];
  const missing: string[] = [];
  if (remote) {
    // The worker stored them; they come back into the project for the user and for local dependants.
    for (const o of remote.outputs) {
      await restoreOutput(deps.blobs, join(deps.projectDir, o.path), o);
      stored.push(o);
    }
  } else
    for (const out of stepOutputs(spec)) {
      const ref = await storeOutput(deps.blobs, join(deps.projectDir, out), out);
      if (ref) stored.push(ref);
      else missing.push(out);
    }
  const endedAt = deps.clock.now();
  if (missing.length > 0)
    return {
      ...common,
      status: "failed",
      outputs: [],
      metrics: {},
      error: `Step "${name}" succeeded but did not write ${missing.map((m) => `"${m}"`).join(", ")} that it declares in outs. Fix the command or the outs list.`,
      endedAt,
      durationMs: endedAt - startedAt,
    };
  const metrics =
    remote !== undefined
      ? remote.metrics
      : spec.metrics !== undefined
        ? await readMetrics(join(deps.projectDir, spec.metrics), name)
        : {};
  if (typeof metrics === "string")
    return {
      ...common,
      status: "failed",
      outputs: [],
      metrics: {},
      error: metrics,
      endedAt,
      durationMs: endedAt - startedAt,
    };
  if (deps.remoteCache) {
    try {
      await deps.remoteCache.push(cacheKey, { outputs: stored, metrics }, deps.blobs);
    } catch (e) {
      warn(
        options,
        name,
        `could not share the result on ${deps.remoteCache.location}: ${(e as Error).message}`,
      );
    }
  }
  return {
    ...common,
    status: "succeeded",
    outputs: stored,
    metrics,
    endedAt,
    durationMs: endedAt - startedAt,
  };
}

/** The step's file and folder inputs as blobs (uploaded when new), for a worker to lay out. */
async function jobInputsOf(
  deps: ExecutorDeps,
  step: DagStep,
  upstream: ReadonlyMap<string, readonly OutputRef[]>,
): Promise<OutputRef[]> {
  const out: OutputRef[] = [];
  for (const d of step.deps) {
    if (d.kind === "dataset") continue;
    const path = d.kind === "output" ? d.out : d.path;
    const known = d.kind === "output" ? upstream.get(d.step)?.find((o) => o.path === d.out) : undefined;
    const ref = known ?? (await storeOutput(deps.blobs, join(deps.projectDir, path), path));
    if (ref) out.push(ref);
  }
  return out;
}

/** A remote cache entry, or undefined; an unreachable remote is a warning, never a failed step. */
export async function remoteGet(
  deps: ExecutorDeps,
  key: string,
  options: RunOptions,
  step?: string,
): Promise<CachedResult | undefined> {
  if (!deps.remoteCache) return undefined;
  try {
    return await deps.remoteCache.get(key);
  } catch (e) {
    warn(options, step, `remote cache ${deps.remoteCache.location} unreadable: ${(e as Error).message}`);
    return undefined;
  }
}

function warn(options: RunOptions, step: string | undefined, message: string): void {
  options.onEvent?.({ type: "warning", ...(step !== undefined && { step }), message });
}

export async function allAvailable(blobs: BlobStore, outs: readonly OutputRef[]): Promise<boolean> {
  for (const o of outs) if (!(await outputAvailable(blobs, o))) return false;
  return true;
}
