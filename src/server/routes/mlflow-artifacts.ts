// MLflow's artifact proxy (mlflow-artifacts:/ URIs): clients upload, list and download run artifacts through the server.
import type { FastifyInstance } from "fastify";
import { LoopmlError } from "../../errors.ts";
import type { RouteContext } from "../app.ts";

/** `<experiment>/<run>/artifacts/<path>` as MLflow clients build it from the run's artifact URI. */
function split(full: string): { runId: string; path: string } {
  const m = /^([^/]+)\/([^/]+)\/artifacts(?:\/(.*))?$/.exec(full);
  if (!m?.[2]) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Artifact path "${full}" is not <experiment>/<run>/artifacts/<path>.`,
      { path: full },
    );
  }
  return { runId: m[2], path: m[3] ?? "" };
}

export function registerMlflowArtifactRoutes(api: FastifyInstance, ctx: RouteContext): void {
  api.get<{ Querystring: { path?: string } }>(
    "/artifacts",
    { config: { role: "viewer", summary: "list artifacts under a folder (MLflow)" } },
    async (req) => {
      const { runId, path } = split(req.query.path ?? "");
      const entries = await ctx.tracking(req).listArtifacts(runId, path === "" ? undefined : path);
      const prefix = path === "" ? "" : `${path}/`;
      const files = new Map<string, { path: string; is_dir: boolean; file_size?: number }>();
      for (const e of entries) {
        const rest = e.path.slice(prefix.length);
        const slash = rest.indexOf("/");
        // MLflow lists one level: deeper files show as their top folder.
        if (slash < 0) files.set(rest, { path: rest, is_dir: false, file_size: e.size });
        else files.set(rest.slice(0, slash), { path: rest.slice(0, slash), is_dir: true });
      }
      return { files: [...files.values()] };
    },
  );
  api.get<{ Params: { "*": string } }>(
    "/artifacts/*",
    { config: { role: "viewer", summary: "download an artifact (MLflow)" } },
    async (req, reply) => {
      const { runId, path } = split(req.params["*"]);
      const { entry, stream } = await ctx.tracking(req).openArtifact(runId, path);
      return reply.header("content-length", entry.size).type("application/octet-stream").send(stream);
    },
  );
  void api.register((uploads) => {
    uploads.removeAllContentTypeParsers();
    uploads.addContentTypeParser(
      "*",
      { parseAs: "buffer", bodyLimit: ctx.artifactBodyLimit },
      (_req, body, done) => done(null, body),
    );
    uploads.put<{ Params: { "*": string } }>(
      "/artifacts/*",
      { config: { role: "editor", summary: "upload an artifact (MLflow)" } },
      async (req) => {
        const { runId, path } = split(req.params["*"]);
        await ctx
          .tracking(req)
          .putArtifact(runId, path, Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));
        return {};
      },
    );
    return Promise.resolve();
  });
}
