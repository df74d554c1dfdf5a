// The dashboard: static assets at / (built from src/ui/app by esbuild) and the few read endpoints it needs
// that the REST API lacks: who am I, the audit log with chain verification, and downsampled metric series.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { FastifyInstance, FastifyReply } from "fastify";
import { sql } from "kysely";
import { z } from "zod";
import { LoopmlError } from "../../errors.ts";
import type { MetadataStore } from "../../store/types.ts";
import { buildUi, uiBuildIsFresh, UI_DIST_DIR } from "../../ui/build.ts";
import type { RouteContext } from "../app.ts";
import { parse } from "../validate.ts";

const ASSETS: Readonly<Record<string, string>> = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "style.css": "text/css; charset=utf-8",
  "uplot.css": "text/css; charset=utf-8",
};

/**
 * A series reduced to its lowest and highest point per step range ("min/max buckets"), in step order, computed by
 * the store: spikes survive (unlike averaging) and only ≤ 2 × buckets rows leave the database, so a 100,000-step
 * series costs one indexed scan instead of 100,000 row objects. NaN points are left out (uPlot cannot draw them).
 */
export async function downsampledSeries(
  { db, dialect }: Pick<MetadataStore, "db" | "dialect">,
  runId: string,
  key: string,
  buckets: number,
): Promise<{ total: number; steps: number[]; values: number[] }> {
  const range = await db
    .selectFrom("run_metrics")
    .select((eb) => [
      eb.fn.countAll<number>().as("n"),
      eb.fn.min<number>("step").as("lo"),
      eb.fn.max<number>("step").as("hi"),
    ])
    .where("run_id", "=", runId)
    .where("key", "=", key)
    .executeTakeFirstOrThrow();
  const total = Number(range.n);
  if (total === 0) return { total, steps: [], values: [] };
  const lo = Number(range.lo);
  const width = (Number(range.hi) - lo) / buckets || 1;
  const bucketed = sql`select step, value, floor((step - ${lo}) / ${width}) as b from run_metrics
    where run_id = ${runId} and key = ${key} and is_nan = 0`;
  // SQLite returns, for a bare column beside a lone min() or max(), the row holding that extreme: one grouped
  // scan per side. PostgreSQL has no such rule: window functions rank each bucket's rows instead.
  const { rows } =
    dialect === "sqlite"
      ? await sql<{ step: number; value: number }>`
          select step, value from (
            select step, min(value) as value from (${bucketed}) bucketed group by b
            union
            select step, max(value) as value from (${bucketed}) bucketed group by b
          ) extremes order by step`.execute(db)
      : await sql<{ step: number; value: number }>`
          select step, value from (
            select step, value,
              row_number() over (partition by b order by value asc, step asc) as lo_rank,
              row_number() over (partition by b order by value desc, step asc) as hi_rank
            from (${bucketed}) bucketed
          ) ranked
          where lo_rank = 1 or hi_rank = 1
          order by step`.execute(db);
  return { total, steps: rows.map((r) => Number(r.step)), values: rows.map((r) => Number(r.value)) };
}

export function registerUiRoutes(app: FastifyInstance, ctx: RouteContext, distDir = UI_DIST_DIR): void {
  let building: Promise<unknown> | undefined;
  async function asset(name: string): Promise<Buffer> {
    // Built at install time; rebuilt here only when a source is newer (a development checkout).
    if (distDir === UI_DIST_DIR && !uiBuildIsFresh(distDir)) {
      building ??= buildUi(distDir).finally(() => (building = undefined));
      await building;
    }
    return readFile(join(distDir, name));
  }
  const serve = (name: string) => async (_req: unknown, reply: FastifyReply) =>
    reply
      .type(ASSETS[name]!)
      .header("cache-control", "no-cache")
      .send(await asset(name));
  app.get("/", { config: { role: "public", summary: "the dashboard" } }, serve("index.html"));
  for (const name of Object.keys(ASSETS)) {
    app.get(`/ui/${name}`, { config: { role: "public", summary: "dashboard asset" } }, serve(name));
  }

  app.get(
    "/api/v1/ui/whoami",
    { config: { role: "viewer", summary: "the caller's actor and role" } },
    (req) => Promise.resolve({ actor: req.principal.actor, role: req.principal.role }),
  );
  app.get<{ Querystring: Record<string, string | undefined> }>(
    "/api/v1/ui/audit",
    { config: { role: "viewer", summary: "audit events, newest first, filtered" } },
    async (req) => {
      const q = parse(
        z.object({
          action: z.string().max(200).optional(),
          actor: z.string().max(200).optional(),
          target: z.string().max(500).optional(),
          limit: z.coerce.number().int().min(1).max(5000).optional(),
        }),
        req.query,
      );
      const events = await ctx.workspace.audit.list({
        ...(q.action && { action: q.action }),
        ...(q.actor && { actor: q.actor }),
        ...(q.target && { targetPrefix: q.target }),
        limit: 100_000,
      });
      return { events: events.reverse().slice(0, q.limit ?? 500) };
    },
  );
  app.get(
    "/api/v1/ui/audit/verify",
    { config: { role: "viewer", summary: "verify the audit hash chain" } },
    async () => ctx.workspace.audit.verify(),
  );
  app.get<{ Params: { id: string; key: string }; Querystring: Record<string, string | undefined> }>(
    "/api/v1/ui/runs/:id/metrics/:key/downsampled",
    { config: { role: "viewer", summary: "a metric series downsampled to min/max buckets" } },
    async (req) => {
      const q = parse(
        z.object({ buckets: z.coerce.number().int().min(10).max(10_000).optional() }),
        req.query,
      );
      // Checks the run exists and the caller may read it.
      await ctx.tracking(req).getRun(req.params.id);
      const d = await downsampledSeries(
        ctx.workspace.store,
        req.params.id,
        req.params.key,
        q.buckets ?? 1000,
      );
      if (d.total === 0) {
        throw new LoopmlError("NOT_FOUND", `Run ${req.params.id} has no metric "${req.params.key}".`);
      }
      return d;
    },
  );
}
