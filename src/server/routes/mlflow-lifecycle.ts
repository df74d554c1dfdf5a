// MLflow 2.x REST: experiment update/delete/restore/tags, run restore/delete-tag/log-inputs/log-model, artifacts/list.
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { LoopmlError } from "../../errors.ts";
import type { RouteContext } from "../app.ts";
import { parse } from "../validate.ts";
import { input } from "./mlflow-tracking.ts";

const experimentId = z.union([z.string(), z.number().transform(String)]);
const runRef = z.object({ run_id: z.string().optional(), run_uuid: z.string().optional() });
const runIdOf = (b: { run_id?: string | undefined; run_uuid?: string | undefined }): string =>
  b.run_id ?? b.run_uuid ?? "";

/** MLflow's dataset input: the dataset's name and digest become loopml's NAME@VERSION. */
const datasetInput = z.object({
  tags: z.array(z.object({ key: z.string(), value: z.string() })).optional(),
  dataset: z.object({
    name: z.string(),
    digest: z.string(),
    source_type: z.string().optional(),
    source: z.string().optional(),
    schema: z.string().optional(),
    profile: z.string().optional(),
  }),
});

export function registerMlflowLifecycleRoutes(api: FastifyInstance, ctx: RouteContext): void {
  const viewer = { config: { role: "viewer" as const } };
  const editor = { config: { role: "editor" as const } };

  api.post("/experiments/update", editor, async (req) => {
    const b = parse(z.object({ experiment_id: experimentId, new_name: z.string() }), input(req));
    await ctx.tracking(req).renameExperiment(b.experiment_id, b.new_name);
    return {};
  });
  api.post("/experiments/delete", editor, async (req) => {
    const b = parse(z.object({ experiment_id: experimentId }), input(req));
    await ctx.tracking(req).setExperimentStage(b.experiment_id, "deleted");
    return {};
  });
  api.post("/experiments/restore", editor, async (req) => {
    const b = parse(z.object({ experiment_id: experimentId }), input(req));
    await ctx.tracking(req).setExperimentStage(b.experiment_id, "active");
    return {};
  });
  api.post("/experiments/set-experiment-tag", editor, async (req) => {
    const b = parse(
      z.object({ experiment_id: experimentId, key: z.string(), value: z.string() }),
      input(req),
    );
    await ctx.tracking(req).setExperimentTag(b.experiment_id, b.key, b.value);
    return {};
  });

  api.post("/runs/restore", editor, async (req) => {
    const b = parse(runRef, input(req));
    await ctx.tracking(req).restoreRun(runIdOf(b));
    return {};
  });
  api.post("/runs/delete-tag", editor, async (req) => {
    const b = parse(runRef.extend({ key: z.string() }), input(req));
    await ctx.tracking(req).deleteRunTag(runIdOf(b), b.key);
    return {};
  });
  api.post("/runs/log-inputs", editor, async (req) => {
    const b = parse(runRef.extend({ datasets: z.array(datasetInput).optional() }), input(req));
    const byContext = new Map<string, string[]>();
    for (const d of b.datasets ?? []) {
      const context = d.tags?.find((t) => t.key === "mlflow.data.context")?.value ?? "training";
      byContext.set(context, [...(byContext.get(context) ?? []), `${d.dataset.name}@${d.dataset.digest}`]);
    }
    const t = ctx.tracking(req);
    for (const [context, refs] of byContext) await t.logInputs(runIdOf(b), refs, context);
    return {};
  });
  api.post("/runs/log-model", editor, async (req) => {
    const b = parse(runRef.extend({ model_json: z.string() }), input(req));
    let model: unknown;
    try {
      model = JSON.parse(b.model_json);
    } catch {
      throw new LoopmlError("INVALID_ARGUMENT", "model_json is not valid JSON (MLflow's MLmodel as JSON).");
    }
    // As MLflow does: the run keeps the list of logged models in the mlflow.log-model.history tag.
    const t = ctx.tracking(req);
    const run = await t.getRun(runIdOf(b));
    const prior = run.tags["mlflow.log-model.history"];
    const history = prior === undefined ? [] : (JSON.parse(prior) as unknown[]);
    await t.logBatch(run.info.id, {
      tags: [{ key: "mlflow.log-model.history", value: JSON.stringify([...history, model]) }],
    });
    return {};
  });

  api.get("/artifacts/list", viewer, async (req) => {
    const b = parse(
      runRef.extend({ path: z.string().optional(), page_token: z.string().optional() }),
      input(req),
    );
    const id = runIdOf(b);
    const path = (b.path ?? "").replace(/\/+$/, "");
    const t = ctx.tracking(req);
    const run = await t.getRun(id);
    const entries = await t.listArtifacts(id, path === "" ? undefined : path);
    const prefix = path === "" ? "" : `${path}/`;
    // One level below `path`, with paths relative to the run's artifact root, as MLflow lists them.
    const files = new Map<string, { path: string; is_dir: boolean; file_size?: number }>();
    for (const e of entries) {
      if (!e.path.startsWith(prefix)) continue;
      const rest = e.path.slice(prefix.length);
      const slash = rest.indexOf("/");
      if (slash < 0) files.set(e.path, { path: e.path, is_dir: false, file_size: e.size });
      else
        files.set(`${prefix}${rest.slice(0, slash)}`, {
          path: `${prefix}${rest.slice(0, slash)}`,
          is_dir: true,
        });
    }
    return {
      root_uri: `mlflow-artifacts:/${run.info.experimentId}/${id}/artifacts`,
      files: [...files.values()].sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0)),
    };
  });
}
