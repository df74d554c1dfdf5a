// HTTP routes of monitoring: POST /v1/feedback (late labels) and /api/v1/monitors (specs, runs, reports for the dashboard).
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { parse } from "../server/validate.ts";
import type { Workspace } from "../workspace.ts";
import { recordFeedback } from "./feedback.ts";
import { renderMonitorReportHtml } from "./monitor-report.ts";
import { createMonitorService, type MonitorService, type MonitorSpec } from "./monitors.ts";

const label = z.union([z.number(), z.string().min(1).max(200)]);
const pair = z
  .object({ request_id: z.string().optional(), requestId: z.string().optional(), label })
  .refine((p) => (p.request_id ?? p.requestId) !== undefined, { message: "each label needs request_id" });
const feedbackBody = z.object({
  model: z.string().min(1),
  labels: z.array(pair).min(1).max(100_000).optional(),
  request_id: z.string().optional(),
  label: label.optional(),
});

/**
 * Mounted at the root of the control-plane app: the feedback endpoint sits beside the serving endpoints (/v1),
 * the monitor API under /api/v1.
 *
 * @example
 * await app.inject({ method: "POST", url: "/v1/feedback", payload: { model: "churn", labels: [{ request_id: "r1", label: 1 }] } });
 */
export function registerMonitoringRoutes(app: FastifyInstance, ctx: { readonly workspace: Workspace }): void {
  const ws = ctx.workspace;
  const actor = (req: FastifyRequest): string =>
    (req as { principal?: { actor: string } }).principal?.actor ?? ws.config.actor;
  const monitors = (req: FastifyRequest): MonitorService => createMonitorService(ws, { actor: actor(req) });

  app.post(
    "/v1/feedback",
    { config: { role: "editor", summary: "record late labels keyed by request id" } },
    async (req) => {
      const b = parse(feedbackBody, req.body);
      const labels =
        b.labels?.map((p) => ({ requestId: (p.request_id ?? p.requestId)!, label: p.label })) ??
        (b.request_id !== undefined && b.label !== undefined
          ? [{ requestId: b.request_id, label: b.label }]
          : []);
      return recordFeedback(ws, { model: b.model, labels, actor: actor(req) });
    },
  );

  type Named = { Params: { name: string } };
  app.get("/api/v1/monitors", { config: { role: "viewer", summary: "list monitors" } }, async (req) => ({
    monitors: await monitors(req).list(),
  }));
  app.get<Named>(
    "/api/v1/monitors/:name",
    { config: { role: "viewer", summary: "a monitor's spec" } },
    (req) => monitors(req).get(req.params.name),
  );
  app.put<Named>(
    "/api/v1/monitors/:name",
    { config: { role: "editor", summary: "create or replace a monitor" } },
    async (req) => monitors(req).upsert({ ...(req.body as object), name: req.params.name } as MonitorSpec),
  );
  app.delete<Named>(
    "/api/v1/monitors/:name",
    { config: { role: "editor", summary: "delete a monitor" } },
    async (req) => {
      await monitors(req).remove(req.params.name);
      return { deleted: req.params.name };
    },
  );
  app.post<Named>(
    "/api/v1/monitors/:name/run",
    { config: { role: "editor", summary: "check the monitor's current window now" } },
    (req) => monitors(req).run(req.params.name),
  );
  app.get<Named & { Querystring: { limit?: string } }>(
    "/api/v1/monitors/:name/history",
    { config: { role: "viewer", summary: "past windows, newest first" } },
    async (req) => ({
      runs: await monitors(req).history(req.params.name, {
        limit: Math.min(1000, Number(req.query.limit ?? 100) || 100),
      }),
    }),
  );
  app.get<{ Params: { name: string; seq: string } }>(
    "/api/v1/monitors/:name/runs/:seq",
    { config: { role: "viewer", summary: "one window's result (aggregates and histograms, for plots)" } },
    (req) =>
      monitors(req).result(req.params.name, req.params.seq === "latest" ? undefined : Number(req.params.seq)),
  );
  app.get<Named & { Querystring: { run?: string } }>(
    "/api/v1/monitors/:name/report",
    { config: { role: "viewer", summary: "a window as a self-contained HTML report" } },
    async (req, reply) => {
      const result = await monitors(req).result(
        req.params.name,
        req.query.run === undefined ? undefined : Number(req.query.run),
      );
      return reply.type("text/html; charset=utf-8").send(renderMonitorReportHtml(result));
    },
  );
  app.get<Named>(
    "/api/v1/monitors/:name/alerts",
    { config: { role: "viewer", summary: "alert rules' states" } },
    async (req) => ({ alerts: await monitors(req).alerts(req.params.name) }),
  );
}
