// Pipeline persistence: run and step rows, the step cache, each change with its audit event in one transaction.
import { canonicalJson } from "../_internal/hash.ts";
import type { AuditService } from "../audit/service.ts";
import type { Database, MetadataStore } from "../store/types.ts";
import type { OutputRef } from "./types.ts";

export type StepStatus = Database["step_runs"]["status"];
export type RunStatus = Database["pipeline_runs"]["status"];

export interface StepRecord {
  readonly id: string;
  readonly step: string;
  readonly status: StepStatus;
  readonly cacheKey?: string;
  readonly cacheHit: boolean;
  readonly attempts: number;
  readonly inputs: readonly { readonly dep: string; readonly id: string }[];
  readonly outputs: readonly OutputRef[];
  readonly metrics: Readonly<Record<string, number>>;
  readonly logBlob?: string;
  readonly error?: string;
  readonly startedAt?: number;
  readonly endedAt?: number;
  readonly durationMs: number;
}

export interface CachedResult {
  readonly outputs: readonly OutputRef[];
  readonly metrics: Readonly<Record<string, number>>;
}

export interface RecordsDeps {
  readonly store: MetadataStore;
  readonly audit: AuditService;
}

const LOOKUP_BATCH = 500;

export async function insertRun(
  deps: RecordsDeps,
  run: {
    id: string;
    pipeline: string;
    version: string;
    definition: unknown;
    params: unknown;
    options: unknown;
    actor: string;
    startedAt: number;
  },
): Promise<void> {
  await deps.store.transaction(async (tx) => {
    await tx
      .insertInto("pipeline_runs")
      .values({
        id: run.id,
        pipeline: run.pipeline,
        version: run.version,
        status: "running",
        definition: canonicalJson(run.definition),
        params: canonicalJson(run.params),
        options: canonicalJson(run.options),
        actor: run.actor,
        started_at: run.startedAt,
        ended_at: null,
        error: null,
      })
      .execute();
    await deps.audit.append(tx, {
      actor: run.actor,
      action: "pipeline.run.start",
      target: `pipeline-run:${run.id}`,
      details: { pipeline: run.pipeline, version: run.version },
    });
  });
}

export async function finishRun(
  deps: RecordsDeps,
  run: {
    id: string;
    actor: string;
    status: RunStatus;
    endedAt: number;
    error?: string;
    counts: Record<string, number>;
  },
): Promise<void> {
  await deps.store.transaction(async (tx) => {
    await tx
      .updateTable("pipeline_runs")
      .set({ status: run.status, ended_at: run.endedAt, error: run.error ?? null })
      .where("id", "=", run.id)
      .execute();
    await deps.audit.append(tx, {
      actor: run.actor,
      action: "pipeline.run.finish",
      target: `pipeline-run:${run.id}`,
      details: { status: run.status, steps: run.counts },
    });
  });
}

/** Records a finished (or skipped) step; a succeeded step's outputs enter the cache in the same transaction. */
export async function recordStep(
  deps: RecordsDeps,
  runId: string,
  actor: string,
  s: StepRecord,
  now: number,
): Promise<void> {
  await deps.store.transaction(async (tx) => {
    await tx
      .insertInto("step_runs")
      .values({
        id: s.id,
        run_id: runId,
        step: s.step,
        status: s.status,
        cache_key: s.cacheKey ?? null,
        cache_hit: s.cacheHit ? 1 : 0,
        attempts: s.attempts,
        inputs: canonicalJson(s.inputs),
        outputs: canonicalJson(s.outputs),
        metrics: canonicalJson(s.metrics),
        log_blob: s.logBlob ?? null,
        error: s.error ?? null,
        started_at: s.startedAt ?? null,
        ended_at: s.endedAt ?? null,
        duration_ms: s.durationMs,
      })
      .execute();
    if (s.status === "succeeded" && s.cacheKey !== undefined) {
      await tx
        .insertInto("step_cache")
        .values({
          cache_key: s.cacheKey,
          outputs: canonicalJson(s.outputs),
          metrics: canonicalJson(s.metrics),
          step_run_id: s.id,
          created_at: now,
        })
        .onConflict((oc) => oc.column("cache_key").doNothing())
        .execute();
    }
    await deps.audit.append(tx, {
      actor,
      action: `pipeline.step.${s.status}`,
      target: `pipeline-run:${runId}/${s.step}`,
      details: {
        stepRun: s.id,
        ...(s.cacheKey !== undefined && { cacheKey: s.cacheKey }),
        outputs: s.outputs.map((o) => ({ path: o.path, id: o.id })),
        ...(s.error !== undefined && { error: s.error.slice(0, 500) }),
      },
    });
  });
}

export async function lookupCache(
  store: MetadataStore,
  keys: readonly string[],
): Promise<Map<string, CachedResult>> {
  const out = new Map<string, CachedResult>();
  const unique = [...new Set(keys)];
  for (let i = 0; i < unique.length; i += LOOKUP_BATCH) {
    const rows = await store.db
      .selectFrom("step_cache")
      .select(["cache_key", "outputs", "metrics"])
      .where("cache_key", "in", unique.slice(i, i + LOOKUP_BATCH))
      .execute();
    for (const r of rows)
      out.set(r.cache_key, {
        outputs: JSON.parse(r.outputs) as OutputRef[],
        metrics: JSON.parse(r.metrics) as Record<string, number>,
      });
  }
  return out;
}

/** Makes a result found on a remote cache a local cache entry, so later runs need not ask the remote again. */
export async function importCacheEntry(
  store: MetadataStore,
  key: string,
  result: CachedResult,
  source: string,
  now: number,
): Promise<void> {
  await store.db
    .insertInto("step_cache")
    .values({
      cache_key: key,
      outputs: canonicalJson(result.outputs),
      metrics: canonicalJson(result.metrics),
      step_run_id: source.slice(0, 32),
      created_at: now,
    })
    .onConflict((oc) => oc.column("cache_key").doNothing())
    .execute();
}
