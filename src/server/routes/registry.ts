// /api/v1 registry routes: models, versions, aliases, policies, promotions and approvals, lineage.
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { RouteContext } from "../app.ts";
import { parse } from "../validate.ts";

const column = z.object({ name: z.string(), type: z.string(), optional: z.boolean().optional() });
const signature = z.object({ inputs: z.array(column), outputs: z.array(column) });
const versionRef = (v: string): number | string => (/^\d+$/.test(v) ? Number(v) : v);

export function registerRegistryRoutes(api: FastifyInstance, ctx: RouteContext): void {
  api.get("/models", { config: { role: "viewer", summary: "list registered models" } }, async (req) => ({
    models: await ctx.registry(req).listModels(),
  }));
  api.post(
    "/models",
    { config: { role: "editor", summary: "register a model (policy: admin)" } },
    async (req, reply) => {
      const b = parse(
        z.object({
          name: z.string(),
          description: z.string().max(5000).optional(),
          tags: z.record(z.string(), z.string()).optional(),
          policy: z.unknown().optional(),
        }),
        req.body,
      );
      const m = await ctx.registry(req).createModel(b.name, {
        ...(b.description !== undefined && { description: b.description }),
        ...(b.tags !== undefined && { tags: b.tags }),
        ...(b.policy !== undefined && { policy: b.policy }),
      });
      return reply.status(201).send(m);
    },
  );
  api.get<{ Params: { name: string } }>(
    "/models/:name",
    { config: { role: "viewer", summary: "a model with its aliases and policy" } },
    async (req) => ctx.registry(req).getModel(req.params.name),
  );
  api.put<{ Params: { name: string } }>(
    "/models/:name/policy",
    { config: { role: "admin", summary: "set the promotion gate and protected aliases" } },
    async (req) => ({
      policy: await ctx.registry(req).setPolicy(req.params.name, req.body),
    }),
  );
  api.get<{ Params: { name: string } }>(
    "/models/:name/versions",
    { config: { role: "viewer", summary: "list versions" } },
    async (req) => ({
      versions: await ctx.registry(req).listVersions(req.params.name),
    }),
  );
  api.post<{ Params: { name: string } }>(
    "/models/:name/versions",
    { config: { role: "editor", summary: "register a version with its lineage" } },
    async (req, reply) => {
      const b = parse(
        z.object({
          blobId: z
            .string()
            .regex(/^[0-9a-f]{64}$/)
            .optional(),
          source: z.string().max(1000).optional(),
          flavor: z.enum(["native", "onnx", "xgboost-json"]).optional(),
          signature: signature.optional(),
          metrics: z.record(z.string(), z.number()).optional(),
          runId: z.string().optional(),
          datasets: z
            .array(z.object({ dataset: z.string(), version: z.string(), context: z.string() }))
            .optional(),
          pipelineRun: z.string().max(100).optional(),
          codeVersion: z.string().max(100).optional(),
          description: z.string().max(5000).optional(),
          tags: z.record(z.string(), z.string()).optional(),
        }),
        req.body,
      );
      const input = Object.fromEntries(Object.entries(b).filter(([, v]) => v !== undefined));
      return reply.status(201).send(await ctx.registry(req).createVersion(req.params.name, input));
    },
  );
  api.get<{ Params: { name: string; ref: string } }>(
    "/models/:name/versions/:ref",
    { config: { role: "viewer", summary: "a version by number or alias" } },
    async (req) => ctx.registry(req).getVersion(req.params.name, versionRef(req.params.ref)),
  );
  api.get<{ Params: { name: string; ref: string } }>(
    "/models/:name/versions/:ref/lineage",
    { config: { role: "viewer", summary: "run, code, datasets and blobs behind a version" } },
    async (req) => ctx.registry(req).lineage(req.params.name, versionRef(req.params.ref)),
  );
  api.put<{ Params: { name: string; alias: string } }>(
    "/models/:name/aliases/:alias",
    { config: { role: "editor", summary: "point an unprotected alias at a version" } },
    async (req) => {
      const b = parse(
        z.object({ version: z.number().int().positive(), expect: z.number().int().nullable().optional() }),
        req.body,
      );
      return ctx
        .registry(req)
        .setAlias(
          req.params.name,
          req.params.alias,
          b.version,
          b.expect !== undefined ? { expect: b.expect } : {},
        );
    },
  );
  api.delete<{ Params: { name: string; alias: string } }>(
    "/models/:name/aliases/:alias",
    { config: { role: "editor", summary: "remove an alias" } },
    async (req) => ctx.registry(req).deleteAlias(req.params.name, req.params.alias),
  );
  api.get<{ Params: { name: string }; Querystring: { alias?: string } }>(
    "/models/:name/aliases",
    { config: { role: "viewer", summary: "alias history" } },
    async (req) => ({
      history: await ctx.registry(req).aliasHistory(req.params.name, req.query.alias),
    }),
  );
  api.post<{ Params: { name: string } }>(
    "/models/:name/promotions",
    { config: { role: "editor", summary: "promote a version through the gate (force: admin)" } },
    async (req, reply) => {
      const b = parse(
        z.object({
          version: z.number().int().positive(),
          to: z.string(),
          force: z.boolean().optional(),
          reason: z.string().max(2000).optional(),
          expect: z.number().int().nullable().optional(),
        }),
        req.body,
      );
      const r = await ctx.registry(req).promote(req.params.name, b.version, {
        to: b.to,
        ...(b.force !== undefined && { force: b.force }),
        ...(b.reason !== undefined && { reason: b.reason }),
        ...(b.expect !== undefined && { expect: b.expect }),
      });
      return reply.status(r.status === "pending" ? 202 : 200).send(r);
    },
  );
  api.get<{ Querystring: { model?: string; status?: "pending" | "approved" | "rejected" } }>(
    "/promotions",
    { config: { role: "viewer", summary: "list promotions" } },
    async (req) => ({
      promotions: await ctx.registry(req).listPromotions(req.query.model, req.query.status),
    }),
  );
  for (const verb of ["approve", "reject"] as const) {
    api.post<{ Params: { id: string } }>(
      `/promotions/:id/${verb}`,
      { config: { role: "approver", summary: `${verb} a pending promotion` } },
      async (req) => {
        const b = parse(z.object({ reason: z.string().max(2000).optional() }), req.body);
        return ctx.registry(req).decide(req.params.id, {
          approve: verb === "approve",
          ...(b.reason !== undefined && { reason: b.reason }),
        });
      },
    );
  }
}
