// A shared step cache in a folder or bucket: step outputs as blobs plus one index entry per cache key, so that
// a teammate's or CI's results are reused even though each workspace keeps its own metadata store.
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { canonicalJson } from "../_internal/hash.ts";
import { LoopmlError } from "../errors.ts";
import { openBlobs } from "../store/open.ts";
import type { BlobStore } from "../store/types.ts";
import type { CachedResult } from "./records.ts";
import type { FolderManifest, OutputRef } from "./types.ts";

/** Index entries, named by cache key (a DVC run-cache of sorts); blobs beside them under objects/. */
export interface RemoteCache {
  readonly location: string;
  get(key: string): Promise<CachedResult | undefined>;
  /** Copies the blobs of `outputs` into `local`; false when the remote lacks one of them. */
  fetch(outputs: readonly OutputRef[], local: BlobStore): Promise<boolean>;
  /** Copies the blobs first, then writes the entry: a reader never sees an entry whose blobs are missing. */
  push(key: string, result: CachedResult, local: BlobStore): Promise<void>;
  close(): Promise<void>;
}

interface Entry extends CachedResult {
  readonly kind: "loopml.step-cache/v1";
  readonly key: string;
}

const KEY = /^[0-9a-f]{64}$/;

/**
 * @example
 * const remote = await openRemoteCache("file:/mnt/team/loopml-cache", process.cwd());
 * const hit = await remote.get(cacheKey);
 */
export async function openRemoteCache(uri: string, baseDir: string): Promise<RemoteCache> {
  if (!uri.startsWith("file:"))
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Pipeline cache remote "${uri}" is not supported: use file:PATH (a shared folder). With a shared PostgreSQL store and S3 blob store the cache is shared already.`,
    );
  const root = resolve(baseDir, uri.slice("file:".length).replace(/^\/\/(?=\/)/, ""));
  const blobs = await openBlobs(`file:${join(root, "objects")}`);
  const indexDir = join(root, "pipeline-cache");
  const entryPath = (key: string): string => join(indexDir, key.slice(0, 2), `${key}.json`);
  return {
    location: `file:${root}`,
    get: async (key) => {
      if (!KEY.test(key)) return undefined;
      let text: string;
      try {
        text = await readFile(entryPath(key), "utf8");
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw e;
      }
      const entry = JSON.parse(text) as Entry;
      if (entry.kind !== "loopml.step-cache/v1" || entry.key !== key) return undefined;
      return { outputs: entry.outputs, metrics: entry.metrics };
    },
    fetch: async (outputs, local) => {
      for (const id of await blobIds(outputs, blobs)) {
        if (id === undefined) return false;
        if (await local.has(id)) continue;
        if (!(await blobs.has(id))) return false;
        await local.put(blobs.get(id));
      }
      return true;
    },
    push: async (key, result, local) => {
      for (const id of await blobIds(result.outputs, local)) {
        if (id === undefined || (await blobs.has(id))) continue;
        await blobs.put(local.get(id));
      }
      const entry: Entry = {
        kind: "loopml.step-cache/v1",
        key,
        outputs: result.outputs,
        metrics: result.metrics,
      };
      const path = entryPath(key);
      await mkdir(join(path, ".."), { recursive: true });
      const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
      try {
        await writeFile(tmp, canonicalJson(entry));
        await rename(tmp, path);
      } catch (e) {
        await rm(tmp, { force: true });
        throw e;
      }
    },
    close: () => blobs.close(),
  };
}

/** Every blob an output needs: files, folder manifests and their entries (undefined: a manifest is missing). */
async function blobIds(outputs: readonly OutputRef[], from: BlobStore): Promise<(string | undefined)[]> {
  const ids: (string | undefined)[] = [];
  for (const o of outputs) {
    ids.push(o.id);
    if (o.kind !== "folder") continue;
    if (!(await from.has(o.id))) {
      ids.push(undefined);
      continue;
    }
    const manifest = JSON.parse((await from.getBytes(o.id)).toString("utf8")) as FolderManifest;
    for (const e of manifest.entries) ids.push(e.id);
  }
  return ids;
}
