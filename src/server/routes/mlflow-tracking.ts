// MLflow 2.x REST compatibility for tracking: experiments, runs, params, metrics, tags, log-batch, search, history.
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { LoopmlError } from "../../errors.ts";
import type { Experiment, Run, RunInfo } from "../../tracking/types.ts";
import type { RouteContext } from "../app.ts";
import { registerMlflowLifecycleRoutes } from "./mlflow-lifecycle.ts";
import { int64, jsonNumber, keyValues, metricValue, parse } from "../validate.ts";

/** GET routes read the query string, POST routes the JSON body; MLflow clients use both. */
export function input(req: FastifyRequest): Record<string, unknown> {
  return {
    ...(req.query as Record<string, unknown>),
    ...((req.body as Record<string, unknown> | undefined) ?? {}),
  };
}

const kv = (o: Readonly<Record<string, string>>): Array<{ key: string; value: string }> =>
  Object.entries(o).map(([key, value]) => ({ key, value }));

export function mlflowExperiment(e: Experiment): unknown {
  return {
    experiment_id: e.id,
    name: e.name,
    artifact_location: e.artifactLocation.startsWith("loopml-artifacts:")
      ? `mlflow-artifacts:/${e.id}`
      : e.artifactLocation,
    lifecycle_stage: e.lifecycleStage,
    last_update_time: e.updatedAt,
    creation_time: e.createdAt,
    tags: kv(e.tags),
  };
}

export function mlflowRunInfo(i: RunInfo): unknown {
  return {
    run_id: i.id,
    run_uuid: i.id,
    run_name: i.name,
    experiment_id: i.experimentId,
    user_id: i.userId,
    status: i.status,
    start_time: i.startTime,
    ...(i.endTime !== null && { end_time: i.endTime }),
    // Clients send artifacts of an mlflow-artifacts:/ URI through the server's artifact proxy.
    artifact_uri: `mlflow-artifacts:/${i.experimentId}/${i.id}/artifacts`,
    lifecycle_stage: i.lifecycleStage,
  };
}

function mlflowRun(r: Run): unknown {
  // MLflow keeps the run name, parent and git commit as system tags; clients read them there.
  const tags: Record<string, string> = { ...r.tags, "mlflow.runName": r.info.name };
  if (r.info.parentRunId) tags["mlflow.parentRunId"] = r.info.parentRunId;
  if (r.info.gitCommit) tags["mlflow.source.git.commit"] = r.info.gitCommit;
  return {
    info: mlflowRunInfo(r.info),
    data: {
      metrics: Object.values(r.metrics).map((m) => ({
        key: m.key,
        value: jsonNumber(m.last),
        timestamp: m.lastTimestamp,
        step: m.lastStep,
      })),
      params: kv(r.params),
      tags: kv(tags),
    },
    inputs: {
      dataset_inputs: r.inputs.map((d) => ({
        tags: [{ key: "mlflow.data.context", value: d.context }],
        dataset: {
          name: d.dataset,
          digest: d.version,
          source_type: "loopml",
          source: `${d.dataset}@${d.version}`,
        },
      })),
    },
  };
}

const experimentId = z.union([z.string(), z.number().transform(String)]);
const metric = z.object({
  key: z.string(),
  value: metricValue,
  timestamp: int64.optional(),
  step: int64.optional(),
});

export function registerMlflowTrackingRoutes(api: FastifyInstance, ctx: RouteContext): void {
  registerMlflowLifecycleRoutes(api, ctx);
  const viewer = { config: { role: "viewer" as const } };
  const editor = { config: { role: "editor" as const } };

  api.post("/experiments/create", editor, async (req) => {
    const b = parse(
      z.object({ name: z.string(), artifact_location: z.string().optional(), tags: keyValues.optional() }),
      input(req),
    );
    const e = await ctx.tracking(req).createExperiment(b.name, {
      tags: Object.fromEntries((b.tags ?? []).map((t) => [t.key, t.value])),
      ...(b.artifact_location !== undefined &&
        b.artifact_location !== "" && { artifactLocation: b.artifact_location }),
    });
    return { experiment_id: e.id };
  });
  api.get("/experiments/get", viewer, async (req) => {
    const b = parse(z.object({ experiment_id: experimentId }), input(req));
    const t = ctx.tracking(req);
    const found = (await t.listExperiments({ includeDeleted: true })).find((e) => e.id === b.experiment_id);
    if (!found) throw new LoopmlError("NOT_FOUND", `No experiment with id ${b.experiment_id}.`);
    return { experiment: mlflowExperiment(found) };
  });
  api.get("/experiments/get-by-name", viewer, async (req) => {
    const b = parse(z.object({ experiment_name: z.string() }), input(req));
    const found = (await ctx.tracking(req).listExperiments({ includeDeleted: true })).find(
      (e) => e.name === b.experiment_name,
    );
    if (!found)
      throw new LoopmlError("NOT_FOUND", `Could not find experiment with name '${b.experiment_name}'.`);
    return { experiment: mlflowExperiment(found) };
  });
  const searchExperiments = async (req: FastifyRequest): Promise<unknown> => {
    const b = parse(
      z.object({
        max_results: int64.optional(),
        page_token: z.string().optional(),
        filter: z.string().optional(),
        view_type: z.enum(["ACTIVE_ONLY", "DELETED_ONLY", "ALL"]).optional(),
      }),
      input(req),
    );
    let list = await ctx
      .tracking(req)
      .listExperiments({ includeDeleted: b.view_type !== undefined && b.view_type !== "ACTIVE_ONLY" });
    if (b.view_type === "DELETED_ONLY") list = list.filter((e) => e.lifecycleStage === "deleted");
    if (b.filter !== undefined && b.filter.trim() !== "") {
      const m = /^\s*(?:attributes\.)?name\s*(=|LIKE|ILIKE)\s*['"](.*)['"]\s*$/i.exec(b.filter);
      if (!m?.[1] || m[2] === undefined) {
        throw new LoopmlError(
          "INVALID_ARGUMENT",
          `Experiment filter "${b.filter}" is not supported: use name = '…' or name LIKE '…'.`,
        );
      }
      const op = m[1].toUpperCase();
      const pattern = m[2];
      const re = new RegExp(
        `^${pattern
          .replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
          .replace(/%/g, ".*")
          .replace(/_/g, ".")}$`,
        op === "ILIKE" ? "i" : "",
      );
      list = list.filter((e) => (op === "=" ? e.name === pattern : re.test(e.name)));
    }
    const offset = b.page_token ? Number(Buffer.from(b.page_token, "base64url").toString()) || 0 : 0;
    const max = b.max_results ?? 1000;
    const page = list.slice(offset, offset + max);
    const next =
      offset + max < list.length ? Buffer.from(String(offset + max)).toString("base64url") : undefined;
    return { experiments: page.map(mlflowExperiment), ...(next !== undefined && { next_page_token: next }) };
  };
  api.post("/experiments/search", viewer, searchExperiments);
  api.get("/experiments/search", viewer, searchExperiments);

  api.post("/runs/create", editor, async (req) => {
    const b = parse(
      z.object({
        experiment_id: experimentId.optional(),
        user_id: z.string().optional(),
        run_name: z.string().optional(),
        start_time: int64.optional(),
        tags: keyValues.optional(),
      }),
      input(req),
    );
    const tags = Object.fromEntries((b.tags ?? []).map((t) => [t.key, t.value]));
    const parent = tags["mlflow.parentRunId"];
    const name = b.run_name ?? tags["mlflow.runName"];
    const commit = tags["mlflow.source.git.commit"];
    for (const system of ["mlflow.parentRunId", "mlflow.runName"]) delete tags[system];
    const t = ctx.tracking(req);
    const info = await t.createRun({
      experiment: b.experiment_id ?? "0",
      tags,
      ...(name !== undefined && name !== "" && { name }),
      ...(parent !== undefined && { parentRunId: parent }),
      ...(b.start_time !== undefined && { startTime: b.start_time }),
      ...(b.user_id !== undefined && b.user_id !== "" && { userId: b.user_id }),
      code: commit !== undefined && /^[0-9a-f]{40,64}$/.test(commit) ? { commit, dirty: false } : null,
    });
    return { run: mlflowRun(await t.getRun(info.id)) };
  });
  api.get("/runs/get", viewer, async (req) => {
    const b = parse(z.object({ run_id: z.string().optional(), run_uuid: z.string().optional() }), input(req));
    return { run: mlflowRun(await ctx.tracking(req).getRun(b.run_id ?? b.run_uuid ?? "")) };
  });
  api.post("/runs/update", editor, async (req) => {
    const b = parse(
      z.object({
        run_id: z.string().optional(),
        run_uuid: z.string().optional(),
        status: z.enum(["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]).optional(),
        end_time: int64.optional(),
        run_name: z.string().optional(),
      }),
      input(req),
    );
    const info = await ctx.tracking(req).updateRun(b.run_id ?? b.run_uuid ?? "", {
      ...(b.status !== undefined && { status: b.status }),
      ...(b.end_time !== undefined && { endTime: b.end_time }),
      ...(b.run_name !== undefined && { name: b.run_name }),
    });
    return { run_info: mlflowRunInfo(info) };
  });
  api.post("/runs/delete", editor, async (req) => {
    const b = parse(z.object({ run_id: z.string() }), input(req));
    await ctx.tracking(req).deleteRun(b.run_id);
    return {};
  });
  api.post("/runs/log-metric", editor, async (req) => {
    const b = parse(
      metric.extend({ run_id: z.string().optional(), run_uuid: z.string().optional() }),
      input(req),
    );
    await ctx.tracking(req).logBatch(b.run_id ?? b.run_uuid ?? "", {
      metrics: [
        {
          key: b.key,
          value: b.value,
          ...(b.step !== undefined && { step: b.step }),
          ...(b.timestamp !== undefined && { timestamp: b.timestamp }),
        },
      ],
    });
    return {};
  });
  api.post("/runs/log-parameter", editor, async (req) => {
    const b = parse(
      z.object({
        run_id: z.string().optional(),
        run_uuid: z.string().optional(),
        key: z.string(),
        value: z.string(),
      }),
      input(req),
    );
    await ctx
      .tracking(req)
      .logBatch(b.run_id ?? b.run_uuid ?? "", { params: [{ key: b.key, value: b.value }] });
    return {};
  });
  api.post("/runs/set-tag", editor, async (req) => {
    const b = parse(
      z.object({
        run_id: z.string().optional(),
        run_uuid: z.string().optional(),
        key: z.string(),
        value: z.string(),
      }),
      input(req),
    );
    await ctx
      .tracking(req)
      .logBatch(b.run_id ?? b.run_uuid ?? "", { tags: [{ key: b.key, value: b.value }] });
    return {};
  });
  api.post("/runs/log-batch", editor, async (req) => {
    const b = parse(
      z.object({
        run_id: z.string(),
        metrics: z.array(metric).optional(),
        params: keyValues.optional(),
        tags: keyValues.optional(),
      }),
      input(req),
    );
    await ctx.tracking(req).logBatch(b.run_id, {
      metrics: (b.metrics ?? []).map((m) => ({
        key: m.key,
        value: m.value,
        ...(m.step !== undefined && { step: m.step }),
        ...(m.timestamp !== undefined && { timestamp: m.timestamp }),
      })),
      ...(b.params !== undefined && { params: b.params }),
      ...(b.tags !== undefined && { tags: b.tags }),
    });
    return {};
  });
  api.post("/runs/search", viewer, async (req) => {
    const b = parse(
      z.object({
        experiment_ids: z.array(experimentId).optional(),
        filter: z.string().optional(),
        run_view_type: z.enum(["ACTIVE_ONLY", "DELETED_ONLY", "ALL"]).optional(),
        max_results: int64.optional(),
        order_by: z.array(z.string()).optional(),
        page_token: z.string().optional(),
      }),
      input(req),
    );
    const page = await ctx.tracking(req).searchRuns({
      ...(b.experiment_ids !== undefined && { experiments: b.experiment_ids }),
      ...(b.filter !== undefined && { filter: b.filter }),
      ...(b.order_by !== undefined && { orderBy: b.order_by }),
      maxResults: b.max_results ?? 1000,
      ...(b.page_token !== undefined && b.page_token !== "" && { pageToken: b.page_token }),
      includeDeleted: b.run_view_type === "ALL" || b.run_view_type === "DELETED_ONLY",
    });
    return {
      runs: page.runs.map(mlflowRun),
      ...(page.nextPageToken !== undefined && { next_page_token: page.nextPageToken }),
    };
  });
  api.get("/metrics/get-history", viewer, async (req) => {
    const b = parse(
      z.object({ run_id: z.string().optional(), run_uuid: z.string().optional(), metric_key: z.string() }),
      input(req),
    );
    const points = await ctx.tracking(req).metricHistory(b.run_id ?? b.run_uuid ?? "", b.metric_key);
    return {
      metrics: points.map((p) => ({
        key: p.key,
        value: jsonNumber(p.value),
        timestamp: p.timestamp,
        step: p.step,
      })),
    };
  });
}
