// Lineage of a pipeline run: each step's inputs and outputs by content id, and any output traced back to its sources.
import { LoopmlError } from "../errors.ts";
import type { MetadataStore } from "../store/types.ts";
import { TAG_PIPELINE_RUN } from "./tracked.ts";
import type { OutputRef } from "./types.ts";

export interface LineageStep {
  readonly step: string;
  readonly status: string;
  readonly cacheKey: string | null;
  readonly cacheHit: boolean;
  readonly inputs: readonly { readonly dep: string; readonly id: string; readonly from: string | null }[];
  readonly outputs: readonly OutputRef[];
  readonly metrics: Readonly<Record<string, number>>;
}

export interface RunLineage {
  readonly runId: string;
  readonly pipeline: string;
  readonly version: string;
  readonly status: string;
  readonly startedAt: number;
  readonly endedAt: number | null;
  readonly steps: readonly LineageStep[];
}

export interface OutputTrace {
  readonly output: OutputRef & { readonly step: string };
  /** Every step the output depends on, nearest first. */
  readonly steps: readonly string[];
  /** The inputs no step of the run produced: project files and dataset versions. */
  readonly sources: readonly { readonly dep: string; readonly id: string }[];
}

/**
 * @example
 * const lineage = await runLineage(ws.store, runId);
 * lineage.steps.map((s) => `${s.step}: ${s.inputs.map((i) => i.from ?? i.dep).join(", ")}`);
 */
export async function runLineage(store: MetadataStore, runId: string): Promise<RunLineage> {
  const run = await store.db
    .selectFrom("pipeline_runs")
    .selectAll()
    .where("id", "=", runId)
    .executeTakeFirst();
  if (!run)
    throw new LoopmlError(
      "NOT_FOUND",
      `No pipeline run "${runId}". List runs with loopml pipeline runs, or take the id printed by loopml run.`,
    );
  const rows = await store.db.selectFrom("step_runs").selectAll().where("run_id", "=", runId).execute();
  const producers = new Map<string, string>();
  for (const r of rows)
    for (const o of JSON.parse(r.outputs) as OutputRef[]) producers.set(`${o.path}\0${o.id}`, r.step);
  const order = (JSON.parse(run.definition) as { name: string }[]).map((s) => s.name);
  rows.sort((a, b) => order.indexOf(a.step) - order.indexOf(b.step));
  return {
    runId,
    pipeline: run.pipeline,
    version: run.version,
    status: run.status,
    startedAt: run.started_at,
    endedAt: run.ended_at,
    steps: rows.map((r) => ({
      step: r.step,
      status: r.status,
      cacheKey: r.cache_key,
      cacheHit: r.cache_hit === 1,
      inputs: (JSON.parse(r.inputs) as { dep: string; id: string }[]).map((i) => ({
        ...i,
        from: producers.get(`${i.dep}\0${i.id}`) ?? null,
      })),
      outputs: JSON.parse(r.outputs) as OutputRef[],
      metrics: JSON.parse(r.metrics) as Record<string, number>,
    })),
  };
}

/** Traces one output (by path or content id) back through the run to the files and dataset versions it came from. */
export function traceOutput(lineage: RunLineage, pathOrId: string): OutputTrace {
  const byStep = new Map(lineage.steps.map((s) => [s.step, s]));
  const start = lineage.steps.flatMap((s) =>
    s.outputs.filter((o) => o.path === pathOrId || o.id === pathOrId).map((o) => ({ ...o, step: s.step })),
  )[0];
  if (!start)
    throw new LoopmlError(
      "NOT_FOUND",
      `Run ${lineage.runId} has no output "${pathOrId}" (outputs: ${lineage.steps
        .flatMap((s) => s.outputs.map((o) => o.path))
        .slice(0, 20)
        .join(", ")}).`,
    );
  const steps: string[] = [];
  const sources = new Map<string, { dep: string; id: string }>();
  const queue = [start.step];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const name = queue.shift() as string;
    if (seen.has(name)) continue;
    seen.add(name);
    steps.push(name);
    for (const i of byStep.get(name)?.inputs ?? []) {
      if (i.from !== null) queue.push(i.from);
      else sources.set(`${i.dep}\0${i.id}`, { dep: i.dep, id: i.id });
    }
  }
  return { output: start, steps, sources: [...sources.values()] };
}

/**
 * The pipeline run an id names: a pipeline run id as such, or the id of its tracked run or of a step's
 * nested run (found by their loopml.pipeline_run tag).
 */
export async function resolvePipelineRunId(store: MetadataStore, id: string): Promise<string> {
  const direct = await store.db
    .selectFrom("pipeline_runs")
    .select("id")
    .where("id", "=", id)
    .executeTakeFirst();
  if (direct) return direct.id;
  const tag = await store.db
    .selectFrom("run_tags")
    .select("value")
    .where("run_id", "=", id)
    .where("key", "=", TAG_PIPELINE_RUN)
    .executeTakeFirst();
  if (tag) return tag.value;
  const tracked = await store.db.selectFrom("runs").select("id").where("id", "=", id).executeTakeFirst();
  throw new LoopmlError(
    "NOT_FOUND",
    tracked
      ? `Run ${id} is a tracked run but not part of a pipeline run, so it has no pipeline lineage. For a model's lineage use loopml models lineage.`
      : `No pipeline run or tracked run "${id}". List pipeline runs with loopml pipeline runs.`,
  );
}
