// Read-only operations overview for the dashboard: what the store can answer about the loop's health —
// models in production, logged predictions, retrains by trigger, open alerts, monitors' last windows,
// pipeline runs, pending promotions. Live traffic (rates, latency, errors) comes from the serving /metrics.
import type { FastifyInstance } from "fastify";
import { createMonitorService } from "../../monitoring/monitors.ts";
import type { RouteContext } from "../app.ts";

/** Retrain causes that no person started (see loop/retrain.ts RetrainCause). */
const AUTOMATIC_CAUSES = new Set(["monitor", "schedule"]);

export function registerUiOverviewRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const ws = ctx.workspace;
  const db = ws.store.db;

  app.get(
    "/api/v1/ui/overview",
    { config: { role: "viewer", summary: "operations overview of the loop" } },
    async (req) => {
      const registry = ctx.registry(req);
      const monitors = createMonitorService(ws);
      const [models, pending, logged, pipelineRuns, retrainEvents, monitorList] = await Promise.all([
        registry.listModels(),
        registry.listPromotions(undefined, "pending"),
        db
          .selectFrom("inference_log_batches")
          .select("model")
          .select((eb) => [eb.fn.sum<number>("rows").as("rows"), eb.fn.max<number>("ts_max").as("last")])
          .groupBy("model")
          .execute(),
        db
          .selectFrom("pipeline_runs")
          .select("status")
          .select((eb) => eb.fn.countAll<number>().as("n"))
          .groupBy("status")
          .execute(),
        ws.audit.list({ targetPrefix: "model:", action: "retrain.start", limit: 100_000 }),
        monitors.list(),
      ]);
      const retrains = { automatic: 0, manual: 0, byCause: {} as Record<string, number> };
      for (const e of retrainEvents) {
        const cause = typeof e.details["cause"] === "string" ? e.details["cause"] : "unknown";
        retrains.byCause[cause] = (retrains.byCause[cause] ?? 0) + 1;
        if (AUTOMATIC_CAUSES.has(cause)) retrains.automatic++;
        else if (cause === "manual") retrains.manual++;
      }
      const monitorRows = [];
      const openAlerts = [];
      for (const m of monitorList) {
        const [last] = await monitors.history(m.spec.name, { limit: 1 });
        monitorRows.push({
          name: m.spec.name,
          target: m.spec.deployment ?? m.spec.model ?? m.spec.dataset ?? "",
          status: last?.status ?? "never run",
          driftShare: last?.driftShare ?? null,
          at: last?.at ?? null,
        });
        for (const a of await monitors.alerts(m.spec.name))
          if (a.state === "firing") openAlerts.push({ monitor: m.spec.name, ...a });
      }
      return {
        models: models.map((m) => ({
          name: m.name,
          latestVersion: m.latestVersion,
          production: m.aliases["production"] ?? null,
          aliases: m.aliases,
        })),
        pendingPromotions: pending.length,
        loggedPredictions: logged.map((l) => ({
          model: l.model,
          rows: Number(l.rows),
          last: Number(l.last),
        })),
        pipelineRuns: Object.fromEntries(pipelineRuns.map((r) => [r.status, Number(r.n)])),
        retrains,
        monitors: monitorRows,
        openAlerts,
      };
    },
  );
}
