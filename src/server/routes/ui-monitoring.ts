// Read-only monitoring route for the dashboard: a monitor's windows over time (drift share, status, and model
// performance once late labels arrived), oldest first, for one chart instead of one request per window.
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { createMonitorService, type MonitorResult } from "../../monitoring/monitors.ts";
import type { RouteContext } from "../app.ts";
import { parse } from "../validate.ts";

export function registerUiMonitoringRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get<{ Params: { name: string }; Querystring: Record<string, string | undefined> }>(
    "/api/v1/ui/monitors/:name/timeline",
    { config: { role: "viewer", summary: "a monitor's windows: drift share and performance over time" } },
    async (req) => {
      const q = parse(z.object({ limit: z.coerce.number().int().min(1).max(1000).optional() }), req.query);
      // Also answers NOT_FOUND for an unknown monitor.
      await createMonitorService(ctx.workspace).get(req.params.name);
      const rows = await ctx.workspace.store.db
        .selectFrom("monitor_runs")
        .select(["seq", "created_at", "status", "rows", "drift_share", "result"])
        .where("monitor", "=", req.params.name)
        .orderBy("seq", "desc")
        .limit(q.limit ?? 200)
        .execute();
      return {
        windows: rows.reverse().map((r) => {
          const result = JSON.parse(r.result) as MonitorResult;
          return {
            seq: Number(r.seq),
            at: Number(r.created_at),
            status: r.status,
            rows: Number(r.rows),
            driftShare: r.drift_share === null ? null : Number(r.drift_share),
            labels: result.labels,
            performance: result.performance,
            alerts: result.alerts.length,
          };
        }),
      };
    },
  );
}
