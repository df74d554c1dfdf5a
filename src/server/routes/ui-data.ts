// Read-only data routes for the dashboard: datasets, their versions, one version's files and column profiles,
// and the diff between two versions (files and column statistics), all through the data service.
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { createDataService } from "../../data/service.ts";
import type { RouteContext } from "../app.ts";
import { parse } from "../validate.ts";

/** A version's file list is for reading, not for mirroring: the first files, and how many there are. */
const FILES_SHOWN = 200;

export function registerUiDataRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const data = () => createDataService(ctx.workspace);

  app.get("/api/v1/ui/datasets", { config: { role: "viewer", summary: "datasets" } }, async () => ({
    datasets: await data().datasets(),
  }));
  app.get<{ Params: { name: string } }>(
    "/api/v1/ui/datasets/:name/versions",
    { config: { role: "viewer", summary: "a dataset's versions, oldest first" } },
    async (req) => ({ versions: await data().versions(req.params.name) }),
  );
  app.get<{ Params: { name: string; seq: string } }>(
    "/api/v1/ui/datasets/:name/versions/:seq",
    { config: { role: "viewer", summary: "one version: files and column profiles" } },
    async (req) => {
      const d = await data().show(`${req.params.name}@${req.params.seq}`);
      return {
        version: d.version,
        files: d.manifest.files.slice(0, FILES_SHOWN).map((f) => ({ path: f.path, size: f.size })),
        fileCount: d.manifest.files.length,
        tables: d.profile?.tables ?? {},
      };
    },
  );
  app.get<{ Params: { name: string }; Querystring: Record<string, string | undefined> }>(
    "/api/v1/ui/datasets/:name/diff",
    { config: { role: "viewer", summary: "what changed between two versions" } },
    async (req) => {
      const q = parse(
        z.object({ from: z.string().min(1).max(100), to: z.string().min(1).max(100) }),
        req.query,
      );
      return data().diff(`${req.params.name}@${q.from}`, `${req.params.name}@${q.to}`);
    },
  );
}
