// Read-only pipeline routes for the dashboard: pipeline runs, one run's DAG (steps by topological level with
// status, cache hits, durations) and a step's captured log.
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { LoopmlError } from "../../errors.ts";
import { buildDag } from "../../pipeline/plan.ts";
import type { StepSpec } from "../../pipeline/types.ts";
import type { RouteContext } from "../app.ts";
import { parse } from "../validate.ts";

/** Logs are shown in the page, so only their tail is sent: enough to see why a step failed. */
const LOG_TAIL_BYTES = 256 * 1024;

/** Each step's level: 0 for steps with no upstream step, else one more than its deepest upstream step. */
export function topologicalLevels(
  order: readonly string[],
  upstream: (step: string) => readonly string[],
): Map<string, number> {
  const level = new Map<string, number>();
  for (const s of order) level.set(s, Math.max(-1, ...upstream(s).map((u) => level.get(u) ?? 0)) + 1);
  return level;
}

export function registerUiPipelineRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const db = ctx.workspace.store.db;

  app.get<{ Querystring: Record<string, string | undefined> }>(
    "/api/v1/ui/pipelines/runs",
    { config: { role: "viewer", summary: "pipeline runs, newest first, with step counts" } },
    async (req) => {
      const q = parse(
        z.object({
          pipeline: z.string().max(200).optional(),
          limit: z.coerce.number().int().min(1).max(1000).optional(),
        }),
        req.query,
      );
      let runs = db
        .selectFrom("pipeline_runs")
        .select(["id", "pipeline", "version", "status", "actor", "started_at", "ended_at", "error"])
        .orderBy("started_at", "desc")
        .limit(q.limit ?? 100);
      if (q.pipeline) runs = runs.where("pipeline", "=", q.pipeline);
      const rows = await runs.execute();
      const counts = rows.length
        ? await db
            .selectFrom("step_runs")
            .select(["run_id", "status", "cache_hit"])
            .select((eb) => eb.fn.countAll<number>().as("n"))
            .where(
              "run_id",
              "in",
              rows.map((r) => r.id),
            )
            .groupBy(["run_id", "status", "cache_hit"])
            .execute()
        : [];
      return {
        runs: rows.map((r) => {
          const steps: Record<string, number> = {};
          let cacheHits = 0;
          for (const c of counts) {
            if (c.run_id !== r.id) continue;
            steps[c.status] = (steps[c.status] ?? 0) + Number(c.n);
            if (c.cache_hit === 1) cacheHits += Number(c.n);
          }
          return {
            id: r.id,
            pipeline: r.pipeline,
            version: r.version,
            status: r.status,
            actor: r.actor,
            startedAt: r.started_at,
            endedAt: r.ended_at,
            error: r.error,
            steps,
            cacheHits,
          };
        }),
      };
    },
  );

  app.get<{ Params: { id: string } }>(
    "/api/v1/ui/pipelines/runs/:id",
    { config: { role: "viewer", summary: "a pipeline run's DAG: steps by level with status and timing" } },
    async (req) => {
      const run = await db
        .selectFrom("pipeline_runs")
        .selectAll()
        .where("id", "=", req.params.id)
        .executeTakeFirst();
      if (!run) throw new LoopmlError("NOT_FOUND", `No pipeline run "${req.params.id}".`);
      const definition = JSON.parse(run.definition) as StepSpec[];
      // The stored definition is the spec without functions: the same planner rebuilds its edges.
      const dag = buildDag({ name: run.pipeline, steps: definition });
      const levels = topologicalLevels(dag.order, (s) => dag.steps.get(s)?.upstream ?? []);
      const rows = await db.selectFrom("step_runs").selectAll().where("run_id", "=", run.id).execute();
      const byStep = new Map(rows.map((r) => [r.step, r]));
      return {
        id: run.id,
        pipeline: run.pipeline,
        version: run.version,
        status: run.status,
        actor: run.actor,
        startedAt: run.started_at,
        endedAt: run.ended_at,
        error: run.error,
        params: JSON.parse(run.params) as unknown,
        steps: dag.order.map((name) => {
          const r = byStep.get(name);
          const spec = dag.steps.get(name)!.spec;
          return {
            name,
            level: levels.get(name) ?? 0,
            upstream: dag.steps.get(name)!.upstream,
            command: spec.run ?? (spec.uses ? `uses: ${spec.uses.name}` : "function"),
            // A step the run never reached (not selected, or stopped by an earlier failure) has no row.
            status: r?.status ?? "not run",
            cacheHit: r?.cache_hit === 1,
            cacheKey: r?.cache_key ?? null,
            attempts: r?.attempts ?? 0,
            durationMs: r?.duration_ms ?? null,
            startedAt: r?.started_at ?? null,
            error: r?.error ?? null,
            outputs: r ? (JSON.parse(r.outputs) as unknown) : [],
            metrics: r ? (JSON.parse(r.metrics) as unknown) : {},
            hasLog: r?.log_blob != null,
          };
        }),
      };
    },
  );

  app.get<{ Params: { id: string; step: string } }>(
    "/api/v1/ui/pipelines/runs/:id/steps/:step/log",
    { config: { role: "viewer", summary: "a step's captured stdout and stderr (the tail)" } },
    async (req) => {
      const row = await db
        .selectFrom("step_runs")
        .select(["log_blob", "cache_hit"])
        .where("run_id", "=", req.params.id)
        .where("step", "=", req.params.step)
        .executeTakeFirst();
      if (!row)
        throw new LoopmlError(
          "NOT_FOUND",
          `Pipeline run "${req.params.id}" has no step "${req.params.step}".`,
        );
      if (row.log_blob === null)
        return { log: "", bytes: 0, truncated: false, cacheHit: row.cache_hit === 1 };
      const bytes = await ctx.workspace.blobs.getBytes(row.log_blob);
      const tail = bytes.length > LOG_TAIL_BYTES ? bytes.subarray(bytes.length - LOG_TAIL_BYTES) : bytes;
      return {
        log: tail.toString("utf8"),
        bytes: bytes.length,
        truncated: tail.length < bytes.length,
        cacheHit: row.cache_hit === 1,
      };
    },
  );
}
