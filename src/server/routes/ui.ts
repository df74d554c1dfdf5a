// The dashboard: static assets at / (built from src/ui/app by esbuild) and the few read endpoints it needs
// that the REST API lacks: who am I, the audit log with chain verification, and downsampled metric series.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { FastifyInstance, FastifyReply } from "fastify";
import { z } from "zod";
import { LoopmlError } from "../../errors.ts";
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
 * Min/max buckets: each of `buckets` step ranges keeps its lowest and highest point (in step order), so spikes
 * survive downsampling, unlike averaging. Non-finite values are dropped (uPlot cannot draw them).
 */
export function downsampleMinMax(
  steps: Float64Array,
  values: Float64Array,
  buckets: number,
): { steps: Float64Array; values: Float64Array } {
  const n = steps.length;
  if (n <= buckets * 2) return { steps, values };
  const outS = new Float64Array(buckets * 2);
  const outV = new Float64Array(buckets * 2);
  let k = 0;
  for (let b = 0; b < buckets; b++) {
    const lo = Math.floor((b * n) / buckets);
    const hi = Math.floor(((b + 1) * n) / buckets);
    let iMin = -1;
    let iMax = -1;
    for (let i = lo; i < hi; i++) {
      const v = values[i]!;
      if (!Number.isFinite(v)) continue;
      if (iMin < 0 || v < values[iMin]!) iMin = i;
      if (iMax < 0 || v > values[iMax]!) iMax = i;
    }
    if (iMin < 0) continue;
    const first = Math.min(iMin, iMax);
    const second = Math.max(iMin, iMax);
    outS[k] = steps[first]!;
    outV[k++] = values[first]!;
    if (second !== first) {
      outS[k] = steps[second]!;
      outV[k++] = values[second]!;
    }
  }
  return { steps: outS.subarray(0, k), values: outV.subarray(0, k) };
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
      // Checks the run exists and the caller may read it; then only the two needed columns, no point objects.
      await ctx.tracking(req).getRun(req.params.id);
      const rows = await ctx.workspace.store.db
        .selectFrom("run_metrics")
        .select(["step", "value", "is_nan"])
        .where("run_id", "=", req.params.id)
        .where("key", "=", req.params.key)
        .orderBy("step")
        .orderBy("timestamp")
        .execute();
      if (rows.length === 0) {
        throw new LoopmlError("NOT_FOUND", `Run ${req.params.id} has no metric "${req.params.key}".`);
      }
      const steps = new Float64Array(rows.length);
      const values = new Float64Array(rows.length);
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i]!;
        steps[i] = Number(r.step);
        values[i] = r.is_nan === 1 ? NaN : Number(r.value);
      }
      const d = downsampleMinMax(steps, values, q.buckets ?? 1000);
      return { total: rows.length, steps: Array.from(d.steps), values: Array.from(d.values) };
    },
  );
}
