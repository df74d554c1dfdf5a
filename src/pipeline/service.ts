// The pipeline service over a workspace: finds a pipeline in loopml.yaml and wires the executor to the stores.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CONFIG_FILE } from "../config.ts";
import { resolveVersion } from "../data/repo.ts";
import { LoopmlError } from "../errors.ts";
import { createTrackingService } from "../tracking/service.ts";
import type { Workspace } from "../workspace.ts";
import type { ExecutorDeps } from "./executor.ts";
import { parsePipelinesYaml } from "./parse.ts";
import { openStepQueue } from "./queue.ts";
import { openRemoteCache } from "./remote-cache.ts";
import type { PipelineSpec } from "./types.ts";

/** Every pipeline declared in the project's loopml.yaml. */
export function loadPipelines(ws: Pick<Workspace, "config">): Map<string, PipelineSpec> {
  const path = join(ws.config.projectDir, CONFIG_FILE);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return new Map();
    throw e;
  }
  return parsePipelinesYaml(text, CONFIG_FILE);
}

/**
 * @example
 * const spec = loadPipeline(ws, "train");
 * await runPipeline(pipelineDeps(ws), spec, { jobs: 2 });
 */
export function loadPipeline(ws: Pick<Workspace, "config">, name: string): PipelineSpec {
  const all = loadPipelines(ws);
  const spec = all.get(name);
  if (spec) return spec;
  throw new LoopmlError(
    "NOT_FOUND",
    all.size === 0
      ? `No pipeline "${name}": ${CONFIG_FILE} declares no pipelines. Add one under "pipelines:".`
      : `No pipeline "${name}" in ${CONFIG_FILE} (pipelines: ${[...all.keys()].join(", ")}).`,
  );
}

export function pipelineDeps(ws: Workspace): ExecutorDeps {
  return {
    store: ws.store,
    audit: ws.audit,
    blobs: ws.blobs,
    clock: ws.clock,
    ids: ws.ids,
    actor: ws.config.actor,
    projectDir: ws.config.projectDir,
    tracking: createTrackingService(ws),
    workspace: ws,
    datasets: async (name, version) =>
      (await resolveVersion(ws.store.db, { name, version: String(version) })).id,
  };
}

/**
 * pipelineDeps with the shared remote cache of `uri` (or LOOPML_CACHE_REMOTE) when one is configured.
 * @example
 * await withPipelineDeps(ws, { cacheRemote: "file:/mnt/team/cache" }, (deps) => runPipeline(deps, spec));
 */
export async function withPipelineDeps<T>(
  ws: Workspace,
  options: { cacheRemote?: string; queue?: string; env?: NodeJS.ProcessEnv },
  fn: (deps: ExecutorDeps) => Promise<T>,
): Promise<T> {
  const env = options.env ?? process.env;
  const uri = options.cacheRemote ?? env["LOOPML_CACHE_REMOTE"];
  const queueUri = options.queue ?? env["LOOPML_QUEUE"];
  const remoteCache = uri ? await openRemoteCache(uri, ws.config.projectDir) : undefined;
  try {
    const queue = queueUri ? await openStepQueue(queueUri, ws.store) : undefined;
    try {
      return await fn({
        ...pipelineDeps(ws),
        ...(remoteCache && { remoteCache }),
        ...(queue && { queue }),
      });
    } finally {
      await queue?.close();
    }
  } finally {
    await remoteCache?.close();
  }
}
