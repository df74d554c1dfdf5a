// MLflow 2.x REST for registry edits: rename/update/delete/tags of models and versions, latest versions, version search, download URI.
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { LoopmlError } from "../../errors.ts";
import type { ModelVersion } from "../../registry/types.ts";
import type { RouteContext } from "../app.ts";
import { int64, parse } from "../validate.ts";
import { mlflowModelOf, mlflowVersion, versionNumber } from "./mlflow-registry.ts";
import { input } from "./mlflow-tracking.ts";

/** `name = 'x'`, `name LIKE 'x%'`, `run_id = 'r'`, joined by AND: what MLflow clients send to model-versions/search. */
function versionFilter(filter: string | undefined): (v: ModelVersion) => boolean {
  if (filter === undefined || filter.trim() === "") return () => true;
  const tests = filter.split(/\s+and\s+/i).map((part) => {
    const m = /^\s*(name|run_id|source)\s*(=|!=|LIKE|ILIKE)\s*['"](.*)['"]\s*$/i.exec(part);
    if (!m?.[1] || !m[2] || m[3] === undefined) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Model version filter "${filter}" is not supported: use name = '…', name LIKE '…', run_id = '…' or source = '…', joined by AND.`,
      );
    }
    const field = m[1].toLowerCase();
    const op = m[2].toUpperCase();
    const value = m[3];
    const like = new RegExp(
      `^${value
        .replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
        .replace(/%/g, ".*")
        .replace(/_/g, ".")}$`,
      op === "ILIKE" ? "i" : "",
    );
    return (v: ModelVersion): boolean => {
      const actual = field === "name" ? v.model : field === "run_id" ? (v.runId ?? "") : v.source;
      return op === "=" ? actual === value : op === "!=" ? actual !== value : like.test(actual);
    };
  });
  return (v) => tests.every((t) => t(v));
}

export function registerMlflowRegistryEditRoutes(api: FastifyInstance, ctx: RouteContext): void {
  const viewer = { config: { role: "viewer" as const } };
  const editor = { config: { role: "editor" as const } };
  const named = z.object({ name: z.string() });
  const versioned = named.extend({ version: versionNumber });

  api.post("/registered-models/rename", editor, async (req) => {
    const b = parse(named.extend({ new_name: z.string() }), input(req));
    const r = ctx.registry(req);
    await r.renameModel(b.name, b.new_name);
    return { registered_model: await mlflowModelOf(r, b.new_name) };
  });
  api.patch("/registered-models/update", editor, async (req) => {
    const b = parse(named.extend({ description: z.string().optional() }), input(req));
    const r = ctx.registry(req);
    await r.updateModel(b.name, { ...(b.description !== undefined && { description: b.description }) });
    return { registered_model: await mlflowModelOf(r, b.name) };
  });
  api.delete("/registered-models/delete", editor, async (req) => {
    const b = parse(named, input(req));
    await ctx.registry(req).deleteModel(b.name);
    return {};
  });
  api.post("/registered-models/set-tag", editor, async (req) => {
    const b = parse(named.extend({ key: z.string(), value: z.string() }), input(req));
    await ctx.registry(req).setModelTag(b.name, b.key, b.value);
    return {};
  });
  api.delete("/registered-models/delete-tag", editor, async (req) => {
    const b = parse(named.extend({ key: z.string() }), input(req));
    await ctx.registry(req).deleteModelTag(b.name, b.key);
    return {};
  });
  const latest = async (req: Parameters<RouteContext["registry"]>[0]): Promise<unknown> => {
    const b = parse(named.extend({ stages: z.array(z.string()).optional() }), input(req));
    const r = ctx.registry(req);
    const m = await r.getModel(b.name);
    // loopml has aliases instead of stages: every version is in stage "None".
    const wantsNone =
      b.stages === undefined || b.stages.length === 0 || b.stages.some((s) => /^none$/i.test(s));
    const versions = await r.listVersions(b.name);
    const newest = versions.find((v) => v.version === Math.max(...versions.map((x) => x.version)));
    return { model_versions: wantsNone && newest && m.latestVersion > 0 ? [mlflowVersion(newest)] : [] };
  };
  api.post("/registered-models/get-latest-versions", viewer, latest);
  api.get("/registered-models/get-latest-versions", viewer, latest);

  api.patch("/model-versions/update", editor, async (req) => {
    const b = parse(versioned.extend({ description: z.string().optional() }), input(req));
    const r = ctx.registry(req);
    await r.updateVersion(b.name, b.version, {
      ...(b.description !== undefined && { description: b.description }),
    });
    return { model_version: mlflowVersion(await r.getVersion(b.name, b.version)) };
  });
  api.delete("/model-versions/delete", editor, async (req) => {
    const b = parse(versioned, input(req));
    await ctx.registry(req).deleteVersion(b.name, b.version);
    return {};
  });
  api.post("/model-versions/set-tag", editor, async (req) => {
    const b = parse(versioned.extend({ key: z.string(), value: z.string() }), input(req));
    await ctx.registry(req).setVersionTag(b.name, b.version, b.key, b.value);
    return {};
  });
  api.delete("/model-versions/delete-tag", editor, async (req) => {
    const b = parse(versioned.extend({ key: z.string() }), input(req));
    await ctx.registry(req).deleteVersionTag(b.name, b.version, b.key);
    return {};
  });
  api.get("/model-versions/get-download-uri", viewer, async (req) => {
    const b = parse(versioned, input(req));
    const v = await ctx.registry(req).getVersion(b.name, b.version);
    return { artifact_uri: v.source };
  });
  const search = async (req: Parameters<RouteContext["registry"]>[0]): Promise<unknown> => {
    const b = parse(
      z.object({
        filter: z.string().optional(),
        max_results: int64.optional(),
        page_token: z.string().optional(),
      }),
      input(req),
    );
    const keep = versionFilter(b.filter);
    const r = ctx.registry(req);
    const all: ModelVersion[] = [];
    for (const m of await r.listModels()) all.push(...(await r.listVersions(m.name)).filter(keep));
    // MLflow orders by name, then newest version first.
    all.sort((x, y) => (x.model < y.model ? -1 : x.model > y.model ? 1 : y.version - x.version));
    const offset = b.page_token ? Number(Buffer.from(b.page_token, "base64url").toString()) || 0 : 0;
    const max = b.max_results ?? 10_000;
    const next =
      offset + max < all.length ? Buffer.from(String(offset + max)).toString("base64url") : undefined;
    return {
      model_versions: all.slice(offset, offset + max).map(mlflowVersion),
      ...(next !== undefined && { next_page_token: next }),
    };
  };
  api.get("/model-versions/search", viewer, search);
  api.post("/model-versions/search", viewer, search);
}
