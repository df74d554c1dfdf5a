// MLflow 2.x REST compatibility for the model registry: registered models, model versions and aliases.
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { ModelVersion, RegisteredModel } from "../../registry/types.ts";
import type { RouteContext } from "../app.ts";
import { int64, keyValues, parse } from "../validate.ts";
import { registerMlflowRegistryEditRoutes } from "./mlflow-registry-edits.ts";
import { input } from "./mlflow-tracking.ts";

const kv = (o: Readonly<Record<string, string>>): Array<{ key: string; value: string }> =>
  Object.entries(o).map(([key, value]) => ({ key, value }));

export function mlflowVersion(v: ModelVersion): unknown {
  return {
    name: v.model,
    version: String(v.version),
    creation_timestamp: v.createdAt,
    last_updated_timestamp: v.updatedAt,
    user_id: v.createdBy,
    current_stage: "None",
    description: v.description,
    source: v.source,
    run_id: v.runId ?? "",
    status: "READY",
    tags: kv(v.tags),
    run_link: "",
    aliases: v.aliases,
  };
}

function mlflowModel(m: RegisteredModel, latest: ModelVersion | undefined): unknown {
  return {
    name: m.name,
    creation_timestamp: m.createdAt,
    last_updated_timestamp: m.updatedAt,
    description: m.description,
    latest_versions: latest ? [mlflowVersion(latest)] : [],
    tags: kv(m.tags),
    aliases: Object.entries(m.aliases).map(([alias, version]) => ({ alias, version: String(version) })),
  };
}

export const versionNumber = z.union([z.string().regex(/^\d+$/).transform(Number), z.number().int()]);
const version = versionNumber;

/** A registered model in MLflow's shape, with its newest version as latest_versions. */
export async function mlflowModelOf(r: ReturnType<RouteContext["registry"]>, name: string): Promise<unknown> {
  const m = await r.getModel(name);
  const versions = await r.listVersions(name);
  const newest = versions.reduce<ModelVersion | undefined>(
    (a, v) => (a === undefined || v.version > a.version ? v : a),
    undefined,
  );
  return mlflowModel(m, newest);
}

export function registerMlflowRegistryRoutes(api: FastifyInstance, ctx: RouteContext): void {
  registerMlflowRegistryEditRoutes(api, ctx);
  const viewer = { config: { role: "viewer" as const } };
  const editor = { config: { role: "editor" as const } };

  // The newest version that still exists (the latest may have been deleted).
  const modelWithLatest = mlflowModelOf;

  api.post("/registered-models/create", editor, async (req) => {
    const b = parse(
      z.object({ name: z.string(), tags: keyValues.optional(), description: z.string().optional() }),
      input(req),
    );
    const r = ctx.registry(req);
    await r.createModel(b.name, {
      tags: Object.fromEntries((b.tags ?? []).map((t) => [t.key, t.value])),
      ...(b.description !== undefined && { description: b.description }),
    });
    return { registered_model: await modelWithLatest(r, b.name) };
  });
  api.get("/registered-models/get", viewer, async (req) => {
    const b = parse(z.object({ name: z.string() }), input(req));
    return { registered_model: await modelWithLatest(ctx.registry(req), b.name) };
  });
  api.get("/registered-models/search", viewer, async (req) => {
    const b = parse(
      z.object({
        filter: z.string().optional(),
        max_results: int64.optional(),
        page_token: z.string().optional(),
      }),
      input(req),
    );
    const r = ctx.registry(req);
    let models = await r.listModels();
    const m = b.filter ? /^\s*name\s*(=|LIKE|ILIKE)\s*['"](.*)['"]\s*$/i.exec(b.filter) : null;
    if (m?.[1] && m[2] !== undefined) {
      const pattern = m[2];
      const re = new RegExp(
        `^${pattern
          .replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
          .replace(/%/g, ".*")
          .replace(/_/g, ".")}$`,
        m[1].toUpperCase() === "ILIKE" ? "i" : "",
      );
      models = models.filter((x) => (m[1] === "=" ? x.name === pattern : re.test(x.name)));
    }
    const offset = b.page_token ? Number(Buffer.from(b.page_token, "base64url").toString()) || 0 : 0;
    const max = b.max_results ?? 100;
    const page = models.slice(offset, offset + max);
    const out = [];
    for (const x of page)
      out.push(mlflowModel(x, x.latestVersion > 0 ? await r.getVersion(x.name, x.latestVersion) : undefined));
    const next =
      offset + max < models.length ? Buffer.from(String(offset + max)).toString("base64url") : undefined;
    return { registered_models: out, ...(next !== undefined && { next_page_token: next }) };
  });
  api.post("/model-versions/create", editor, async (req) => {
    const b = parse(
      z.object({
        name: z.string(),
        source: z.string(),
        run_id: z.string().optional(),
        tags: keyValues.optional(),
        description: z.string().optional(),
        run_link: z.string().optional(),
      }),
      input(req),
    );
    const v = await ctx.registry(req).createVersion(b.name, {
      source: b.source,
      ...(b.run_id !== undefined && b.run_id !== "" && { runId: b.run_id }),
      tags: Object.fromEntries((b.tags ?? []).map((t) => [t.key, t.value])),
      ...(b.description !== undefined && { description: b.description }),
    });
    return { model_version: mlflowVersion(v) };
  });
  api.get("/model-versions/get", viewer, async (req) => {
    const b = parse(z.object({ name: z.string(), version }), input(req));
    return { model_version: mlflowVersion(await ctx.registry(req).getVersion(b.name, b.version)) };
  });
  api.post("/registered-models/alias", editor, async (req) => {
    const b = parse(z.object({ name: z.string(), alias: z.string(), version }), input(req));
    await ctx.registry(req).setAlias(b.name, b.alias, b.version);
    return {};
  });
  api.delete("/registered-models/alias", editor, async (req) => {
    const b = parse(z.object({ name: z.string(), alias: z.string() }), input(req));
    await ctx.registry(req).deleteAlias(b.name, b.alias);
    return {};
  });
  api.get("/registered-models/alias", viewer, async (req) => {
    const b = parse(z.object({ name: z.string(), alias: z.string() }), input(req));
    return { model_version: mlflowVersion(await ctx.registry(req).getVersion(b.name, b.alias)) };
  });
}
