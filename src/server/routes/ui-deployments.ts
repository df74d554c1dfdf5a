// Read-only deployment routes for the dashboard: per deployment the versions its aliases resolve to, the
// predictions its inference log holds per version, and its swap/rollback/alias history from the audit log.
// Live traffic is not here: it is the serving endpoints' own /metrics, read by the page when served alongside.
import type { FastifyInstance } from "fastify";
import type { AuditEvent } from "../../audit/types.ts";
import { createDeploymentService, splitModelRef } from "../../serving/deployments.ts";
import type { RouteContext } from "../app.ts";

const HISTORY = 50;

export function registerUiDeploymentRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const ws = ctx.workspace;

  app.get(
    "/api/v1/ui/deployments",
    {
      config: {
        role: "viewer",
        summary: "deployments with resolved versions, logged predictions and history",
      },
    },
    async (req) => {
      const registry = ctx.registry(req);
      const specs = await createDeploymentService(ws).list();
      const resolve = async (ref: string) => {
        const { model, alias } = splitModelRef(ref);
        const version = await registry
          .getVersion(model, alias)
          .then((v) => v.version)
          .catch(() => null); // an alias that points nowhere yet: shown as "not resolved", not an error
        return { ref, model, alias, version };
      };
      const logged = await ws.store.db
        .selectFrom("inference_log_batches")
        .select(["model", "version"])
        .select((eb) => [
          eb.fn.sum<number>("rows").as("rows"),
          eb.fn.min<number>("ts_min").as("first"),
          eb.fn.max<number>("ts_max").as("last"),
        ])
        .groupBy(["model", "version"])
        .execute();
      const deployments = [];
      for (const d of specs) {
        const primary = await resolve(d.model);
        const canary = d.canary ? { ...(await resolve(d.canary.model)), weight: d.canary.weight } : null;
        const shadow = d.shadow ? await resolve(d.shadow.model) : null;
        const models = new Set([primary.model, canary?.model, shadow?.model].filter((m) => m !== undefined));
        // `loopml up` names an endpoint after its primary model; the deployment name also answers.
        const endpoint = primary.model;
        const history: AuditEvent[] = [];
        const targets = [
          `deployment:${d.name}`,
          `serving:${endpoint}`,
          ...[primary, canary, shadow].flatMap((r) => (r ? [`model:${r.model}@${r.alias}`] : [])),
        ];
        for (const target of new Set(targets))
          history.push(...(await ws.audit.list({ target, limit: 10_000 })));
        history.sort((a, b) => b.seq - a.seq);
        deployments.push({
          name: d.name,
          endpoint,
          primary,
          canary,
          shadow,
          rollback: d.rollback ?? null,
          sampleRate: d.logging?.sampleRate ?? 1,
          logged: logged
            .filter((l) => models.has(l.model))
            .map((l) => ({
              model: l.model,
              version: l.version,
              rows: Number(l.rows),
              first: Number(l.first),
              last: Number(l.last),
            })),
          history: history.slice(0, HISTORY).map((e) => ({
            seq: e.seq,
            ts: e.ts,
            actor: e.actor,
            action: e.action,
            target: e.target,
            details: e.details,
          })),
        });
      }
      return { deployments };
    },
  );
}
