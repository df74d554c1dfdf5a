// /api/v1 tracking routes: experiments, runs, log batches, search, compare, metric history, artifacts.
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { Run } from "../../tracking/types.ts";
import type { RouteContext } from "../app.ts";
import { POINTS_CONTENT_TYPE, decodePoints, decodePointsBinary } from "../../tracking/wire.ts";
import { int64, jsonNumber, keyValues, parse, parseMetricPoints } from "../validate.ts";

const runStatus = z.enum(["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]);

const logBatchBody = z.object({
  metrics: z.unknown().optional(),
  /** The compact columnar form of metric points (see decodePoints). */
  points: z.unknown().optional(),
  params: keyValues.optional(),
  tags: keyValues.optional(),
});

/** Runs as JSON: metric summaries with NaN/±Infinity as strings. */
export function runJson(run: Run): unknown {
  return {
    ...run,
    metrics: Object.fromEntries(
      Object.entries(run.metrics).map(([k, m]) => [
        k,
        {
          ...m,
          last: jsonNumber(m.last),
          min: m.min === null ? null : jsonNumber(m.min),
          max: m.max === null ? null : jsonNumber(m.max),
        },
      ]),
    ),
  };
}

export function registerTrackingRoutes(api: FastifyInstance, ctx: RouteContext): void {
  // The body limit applies as to JSON; only the batch route reads this type.
  api.addContentTypeParser(POINTS_CONTENT_TYPE, { parseAs: "buffer" }, (_req, body, done) => {
    done(null, body);
  });
  api.get("/experiments", { config: { role: "viewer", summary: "list experiments" } }, async (req) => ({
    experiments: await ctx.tracking(req).listExperiments(),
  }));
  api.post(
    "/experiments",
    { config: { role: "editor", summary: "create an experiment" } },
    async (req, reply) => {
      const body = parse(
        z.object({ name: z.string(), tags: z.record(z.string(), z.string()).optional() }),
        req.body,
      );
      const e = await ctx.tracking(req).createExperiment(body.name, body.tags ? { tags: body.tags } : {});
      return reply.status(201).send(e);
    },
  );
  api.get<{ Params: { id: string } }>(
    "/experiments/:id",
    { config: { role: "viewer", summary: "an experiment by id or name, with its run count" } },
    async (req) => {
      const t = ctx.tracking(req);
      const e = await t.getExperiment(req.params.id);
      return { ...e, runs: await t.countRuns(e.id) };
    },
  );

  api.post("/runs", { config: { role: "editor", summary: "start a run" } }, async (req, reply) => {
    const b = parse(
      z.object({
        experiment: z.string().optional(),
        name: z.string().max(250).optional(),
        tags: z.record(z.string(), z.string()).optional(),
        parentRunId: z.string().optional(),
        startTime: int64.optional(),
        code: z
          .object({ commit: z.string().max(64), dirty: z.boolean() })
          .nullable()
          .optional(),
      }),
      req.body,
    );
    const info = await ctx.tracking(req).createRun({
      ...(b.experiment !== undefined && { experiment: b.experiment }),
      ...(b.name !== undefined && { name: b.name }),
      ...(b.tags !== undefined && { tags: b.tags }),
      ...(b.parentRunId !== undefined && { parentRunId: b.parentRunId }),
      ...(b.startTime !== undefined && { startTime: b.startTime }),
      // The server's own git tree says nothing about the client's code.
      code: b.code ?? null,
    });
    return reply.status(201).send(info);
  });
  api.get<{ Params: { id: string } }>(
    "/runs/:id",
    { config: { role: "viewer", summary: "a run with params, tags, metric summaries, inputs" } },
    async (req) => runJson(await ctx.tracking(req).getRun(req.params.id)),
  );
  api.patch<{ Params: { id: string } }>(
    "/runs/:id",
    { config: { role: "editor", summary: "end or rename a run" } },
    async (req) => {
      const b = parse(
        z.object({
          status: runStatus.optional(),
          endTime: int64.nullable().optional(),
          name: z.string().max(250).optional(),
        }),
        req.body,
      );
      return ctx.tracking(req).updateRun(req.params.id, {
        ...(b.status !== undefined && { status: b.status }),
        ...(b.endTime !== undefined && { endTime: b.endTime }),
        ...(b.name !== undefined && { name: b.name }),
      });
    },
  );
  api.delete<{ Params: { id: string } }>(
    "/runs/:id",
    { config: { role: "editor", summary: "delete a run (kept, hidden from search)" } },
    async (req) => {
      await ctx.tracking(req).deleteRun(req.params.id);
      return {};
    },
  );
  api.post<{ Params: { id: string } }>(
    "/runs/:id/batch",
    { config: { role: "editor", summary: "log metrics, params and tags in one transaction" } },
    async (req) => {
      // Our client's binary points (POINTS_CONTENT_TYPE) arrive as bytes.
      if (Buffer.isBuffer(req.body)) {
        await ctx.tracking(req).logBatch(req.params.id, { points: decodePointsBinary(req.body) });
        return {};
      }
      const { points, metrics, ...b } = parse(logBatchBody, req.body);
      const columns = decodePoints(points);
      await ctx.tracking(req).logBatch(req.params.id, {
        ...b,
        metrics: parseMetricPoints(metrics),
        ...(columns !== undefined && { points: columns }),
      });
      return {};
    },
  );
  api.post<{ Params: { id: string } }>(
    "/runs/:id/inputs",
    { config: { role: "editor", summary: "record NAME@VERSION dataset inputs" } },
    async (req) => {
      const b = parse(
        z.object({ inputs: z.array(z.string()).min(1), context: z.string().max(100).optional() }),
        req.body,
      );
      await ctx.tracking(req).logInputs(req.params.id, b.inputs, b.context);
      return {};
    },
  );
  api.get<{ Params: { id: string; key: string } }>(
    "/runs/:id/metrics/:key",
    { config: { role: "viewer", summary: "a metric's full series" } },
    async (req) => ({
      points: (await ctx.tracking(req).metricHistory(req.params.id, req.params.key)).map((p) => ({
        ...p,
        value: jsonNumber(p.value),
      })),
    }),
  );
  api.post(
    "/runs/search",
    { config: { role: "viewer", summary: "search runs with the filter language, ordered, paged" } },
    async (req) => {
      const b = parse(
        z.object({
          experiments: z.array(z.string()).optional(),
          filter: z.string().max(10_000).optional(),
          orderBy: z.array(z.string()).max(10).optional(),
          maxResults: int64.optional(),
          pageToken: z.string().optional(),
        }),
        req.body,
      );
      const page = await ctx.tracking(req).searchRuns({
        ...(b.experiments !== undefined && { experiments: b.experiments }),
        ...(b.filter !== undefined && { filter: b.filter }),
        ...(b.orderBy !== undefined && { orderBy: b.orderBy }),
        ...(b.maxResults !== undefined && { maxResults: b.maxResults }),
        ...(b.pageToken !== undefined && { pageToken: b.pageToken }),
      });
      return {
        runs: page.runs.map(runJson),
        ...(page.nextPageToken !== undefined && { nextPageToken: page.nextPageToken }),
      };
    },
  );
  api.post(
    "/runs/compare",
    { config: { role: "viewer", summary: "compare runs side by side" } },
    async (req) => {
      const b = parse(z.object({ ids: z.array(z.string()).min(1).max(100) }), req.body);
      const c = await ctx.tracking(req).compareRuns(b.ids);
      return {
        ...c,
        metrics: c.metrics.map((m) => ({
          key: m.key,
          last: m.last.map((v) => (v === null ? null : jsonNumber(v))),
          min: m.min.map((v) => (v === null ? null : jsonNumber(v))),
          max: m.max.map((v) => (v === null ? null : jsonNumber(v))),
        })),
      };
    },
  );

  api.get<{ Params: { id: string }; Querystring: { prefix?: string } }>(
    "/runs/:id/artifacts",
    { config: { role: "viewer", summary: "list a run's artifacts" } },
    async (req) => ({ artifacts: await ctx.tracking(req).listArtifacts(req.params.id, req.query.prefix) }),
  );
  api.get<{ Params: { id: string; "*": string } }>(
    "/runs/:id/artifacts/*",
    { config: { role: "viewer", summary: "download an artifact" } },
    async (req, reply) => {
      const { entry, stream } = await ctx.tracking(req).openArtifact(req.params.id, req.params["*"]);
      return reply
        .header("content-length", entry.size)
        .header("etag", `"${entry.blobId}"`)
        .type("application/octet-stream")
        .send(stream);
    },
  );
  void api.register((uploads) => {
    // Uploads are raw bytes whatever their content type, JSON included.
    uploads.removeAllContentTypeParsers();
    uploads.addContentTypeParser(
      "*",
      { parseAs: "buffer", bodyLimit: ctx.artifactBodyLimit },
      (_req, body, done) => done(null, body),
    );
    uploads.put<{ Params: { id: string; "*": string } }>(
      "/runs/:id/artifacts/*",
      { config: { role: "editor", summary: "upload an artifact (raw bytes)" } },
      async (req) => {
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        return ctx.tracking(req).putArtifact(req.params.id, req.params["*"], body);
      },
    );
    return Promise.resolve();
  });
}
