// data add: snapshot a file or folder into chunk blobs and record a version, atomically with its audit event.
import { statSync } from "node:fs";
import { basename, extname } from "node:path";
import { canonicalJson } from "../_internal/hash.ts";
import { LoopmlError } from "../errors.ts";
import type { Workspace } from "../workspace.ts";
import { cacheHit, ingestFiles, type StatCacheEntry } from "./ingest.ts";
import { blobsOf, buildManifest, encodeManifest, locationOf, sameContent } from "./manifest.ts";
import { ensureGitignored, writePointer } from "./pointer.ts";
import { gcRunning } from "./gc.ts";
import { isTabular, profileTables } from "./profile.ts";
import {
  GC_RUNNING_KEY,
  GC_FINISHED_KEY,
  assertDatasetName,
  findDataset,
  readMeta,
  resolveVersion,
  touchBlobs,
  toVersion,
  writeStatCache,
  loadStatCache,
  loadStatStamps,
  type StatStamp,
} from "./repo.ts";
import type { DatasetVersion, FileLocation, Manifest, VersionProfile } from "./types.ts";
import { resolveDataPath, walkDataPath, type WalkedFile } from "./walk.ts";

/** Folders' files below this size are packed together: many small files must not mean many blobs. */
export const PACK_BELOW = 256 << 10;

export interface AddOptions {
  /** Dataset name; defaults to the file's base name without extension, or the folder's name. */
  readonly name?: string;
  readonly message?: string;
  /** Versions this data was derived from (NAME@SEQ), kept in the audit event as lineage. */
  readonly sources?: readonly string[];
  /** Called with (bytes done, bytes total) while reading. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface AddResult {
  /** false when the data equals the latest version: nothing new was recorded. */
  readonly created: boolean;
  readonly version: DatasetVersion;
  readonly path: string;
  readonly pointer: string;
  readonly filesRead: number;
  readonly bytesRead: number;
  /** Bytes of new chunks written to the blob store. */
  readonly bytesStored: number;
}

export interface DataInternals {
  readonly ws: Workspace;
  readManifest(this: void, id: string): Promise<Manifest>;
  readProfile(this: void, id: string | null): Promise<VersionProfile | undefined>;
}

export function defaultName(rel: string, kind: "file" | "folder"): string {
  const base = basename(rel);
  const stem = kind === "file" ? base.slice(0, base.length - extname(base).length) || base : base;
  return stem.replace(/[^A-Za-z0-9._-]/g, "-").replace(/^[^A-Za-z0-9]+/, "") || "data";
}

export async function addData(ctx: DataInternals, input: string, opts: AddOptions = {}): Promise<AddResult> {
  const { ws } = ctx;
  const projectDir = ws.config.projectDir;
  const startedMs = Date.now();
  const data = await resolveDataPath(projectDir, input);
  const name = opts.name ?? defaultName(data.rel, data.kind);
  assertDatasetName(name);
  const existing = await findDataset(ws.store.db, name);
  if (existing && (existing.path !== data.rel || existing.kind !== data.kind)) {
    throw new LoopmlError(
      "CONFLICT",
      `Dataset "${name}" tracks the ${existing.kind} ${existing.path}, not ${data.rel}. Choose another name with --name.`,
      { dataset: name, path: existing.path },
    );
  }
  const files = await walkDataPath(projectDir, data);
  if (files.length === 0) {
    throw new LoopmlError("INVALID_ARGUMENT", `${data.rel} is an empty folder: there is nothing to version.`);
  }
  const prefix =
    data.kind === "folder" ? `${data.rel}/` : data.rel.slice(0, data.rel.length - basename(data.rel).length);
  const where = data.kind === "folder" ? { prefix } : { exact: data.rel };
  const latest = existing ? await resolveVersion(ws.store.db, { name }) : undefined;
  const latestManifest = latest ? await ctx.readManifest(latest.id) : undefined;
  const total = files.reduce((n, f) => n + f.stat.size, 0);
  if (
    latest &&
    latestManifest &&
    unchangedSince(files, await loadStatStamps(ws.store.db, where), prefix, latestManifest)
  ) {
    // Every file's stat vouches for the latest version's digest: no read, no manifest to rebuild.
    opts.onProgress?.(total, total);
    const pointer = await writePointer(projectDir, { name, path: data.rel }, latest);
    await ensureGitignored(projectDir, data.rel, data.kind === "folder");
    return {
      created: false,
      version: latest,
      path: data.rel,
      pointer,
      filesRead: 0,
      bytesRead: 0,
      bytesStored: 0,
    };
  }
  const cache = await loadStatCache(ws.store.db, where);
  const known = new Map<string, FileLocation>();
  if (latestManifest)
    for (const f of latestManifest.files) known.set(f.digest, locationOf(latestManifest, f));

  let done = 0;
  const ingest = await ingestFiles(files, {
    blobs: ws.blobs,
    cache,
    known,
    prefix,
    store: true,
    packBelow: data.kind === "folder" ? PACK_BELOW : 0,
    register: (blobs) => ws.store.transaction((tx) => touchBlobs(tx, blobs, Date.now())),
    onBytes: (n) => {
      done += n;
      opts.onProgress?.(done, total);
    },
  });
  const manifest = buildManifest(data.kind, ingest.entries);
  if (latest && latestManifest && sameContent(manifest, latestManifest)) {
    if (ingest.cacheRows.size > 0) await ws.store.transaction((tx) => writeStatCache(tx, ingest.cacheRows));
    const pointer = await writePointer(projectDir, { name, path: data.rel }, latest);
    await ensureGitignored(projectDir, data.rel, data.kind === "folder");
    return { created: false, version: latest, path: data.rel, pointer, ...counts(ingest) };
  }

  const profile = await profileVersion(
    ctx,
    manifest,
    files,
    prefix,
    latest?.profileId ?? null,
    latestManifest,
  );
  assertUnchanged(files, ingest.cacheRows, prefix);
  const manifestBlob = await ws.blobs.put(encodeManifest(manifest));
  const used = new Map(ingest.blobs);
  used.set(manifestBlob.id, { kind: "manifest", size: manifestBlob.size });
  let profileId: string | null = null;
  if (profile) {
    const blob = await ws.blobs.put(Buffer.from(canonicalJson(profile), "utf8"));
    profileId = blob.id;
    used.set(blob.id, { kind: "profile", size: blob.size });
  }

  const now = new Date(ws.clock.now()).toISOString();
  const version = await ws.store.transaction(async (tx) => {
    await assertNoConcurrentGc(ctx, tx, startedMs, manifest);
    const ds = await findDataset(tx, name);
    const seq = (ds?.latestSeq ?? 0) + 1;
    if (ds) await tx.updateTable("datasets").set({ latest_seq: seq }).where("name", "=", name).execute();
    else
      await tx
        .insertInto("datasets")
        .values({
          name,
          path: data.rel,
          kind: data.kind,
          latest_seq: seq,
          created_at: now,
          created_by: ws.config.actor,
        })
        .execute();
    const row = {
      dataset: name,
      seq,
      id: manifestBlob.id,
      size: manifest.size,
      file_count: manifest.files.length,
      message: opts.message ?? "",
      profile_id: profileId,
      parent_seq: ds ? ds.latestSeq : null,
      created_at: now,
      created_by: ws.config.actor,
    };
    await tx.insertInto("dataset_versions").values(row).execute();
    await writeStatCache(tx, ingest.cacheRows);
    await touchBlobs(tx, used, Date.now());
    await ws.audit.append(tx, {
      actor: ws.config.actor,
      action: "data.version.create",
      target: `dataset:${name}`,
      details: {
        seq,
        id: manifestBlob.id,
        parent: latest?.id ?? null,
        path: data.rel,
        size: manifest.size,
        files: manifest.files.length,
        bytesStored: ingest.bytesStored,
        ...(opts.sources !== undefined && { sources: opts.sources }),
        ...(profileId !== null && { profile: profileId }),
      },
    });
    return toVersion(row);
  });
  const pointer = await writePointer(projectDir, { name, path: data.rel }, version);
  await ensureGitignored(projectDir, data.rel, data.kind === "folder");
  return { created: true, version, path: data.rel, pointer, ...counts(ingest) };
}

/** True when the files are exactly the manifest's (same paths and modes) and each one's stat cache entry vouches for its digest. */
function unchangedSince(
  files: readonly WalkedFile[],
  cache: ReadonlyMap<string, StatStamp>,
  prefix: string,
  manifest: Manifest,
): boolean {
  if (files.length !== manifest.files.length) return false;
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!;
    const m = manifest.files[i]!;
    if (f.rel !== m.path || (f.stat.mode & 0o777) !== m.mode || f.stat.size !== m.size) return false;
    const hit = cache.get(prefix + f.rel);
    if (!cacheHit(hit, f.stat) || hit.digest !== m.digest) return false;
  }
  return true;
}

function counts(i: { filesRead: number; bytesRead: number; bytesStored: number }): {
  filesRead: number;
  bytesRead: number;
  bytesStored: number;
} {
  return { filesRead: i.filesRead, bytesRead: i.bytesRead, bytesStored: i.bytesStored };
}

/**
 * gc deletes unreferenced chunks. If one ran while this add did, a chunk the add found already
 * stored (and so did not write) may have been deleted: check they all still exist. No gc can start
 * meanwhile: this is the write transaction that gc's lock must also take.
 */
async function assertNoConcurrentGc(
  ctx: DataInternals,
  tx: Parameters<Parameters<Workspace["store"]["transaction"]>[0]>[0],
  startedMs: number,
  manifest: Manifest,
): Promise<void> {
  if (gcRunning(await readMeta(tx, GC_RUNNING_KEY), Date.now())) {
    throw new LoopmlError("CONFLICT", "loopml data gc is running: add again when it has finished.");
  }
  const lastGcFinished = Number((await readMeta(tx, GC_FINISHED_KEY)) ?? 0);
  if (lastGcFinished < startedMs) return;
  for (const id of blobsOf(manifest)) {
    if (!(await ctx.ws.blobs.has(id))) {
      throw new LoopmlError(
        "CONFLICT",
        "loopml data gc removed chunks this add relied on while it ran. Nothing was recorded: add again.",
      );
    }
  }
}

function assertUnchanged(
  files: readonly { rel: string; abs: string }[],
  rows: ReadonlyMap<string, StatCacheEntry>,
  prefix: string,
): void {
  for (const f of files) {
    const row = rows.get(prefix + f.rel);
    if (!row) continue;
    // synchronous: 100k promise round trips would cost seconds for nothing
    const st = statSync(f.abs, { throwIfNoEntry: false });
    if (!st || st.size !== row.size || st.mtimeMs !== row.mtimeMs) {
      throw new LoopmlError(
        "FAILED_PRECONDITION",
        `${prefix + f.rel} changed while it was being added. Nothing was recorded: add it again once it is complete.`,
        { path: prefix + f.rel },
      );
    }
  }
}

/** Profiles the version's CSV/Parquet files, reusing the previous profile of files whose bytes did not change. */
async function profileVersion(
  ctx: DataInternals,
  manifest: Manifest,
  files: readonly { rel: string; abs: string }[],
  _prefix: string,
  previousProfileId: string | null,
  previous: Manifest | undefined,
): Promise<VersionProfile | undefined> {
  const tabular = manifest.files.filter((f) => isTabular(f.path));
  if (tabular.length === 0) return undefined;
  const before = await ctx.readProfile(previousProfileId);
  const oldDigest = new Map(previous?.files.map((f) => [f.path, f.digest]) ?? []);
  const absOf = new Map(files.map((f) => [f.rel, f.abs]));
  const tables: Record<string, VersionProfile["tables"][string]> = {};
  const todo: { path: string; abs: string }[] = [];
  for (const f of tabular) {
    const reuse = before?.tables[f.path];
    if (reuse && oldDigest.get(f.path) === f.digest) tables[f.path] = reuse;
    else todo.push({ path: f.path, abs: absOf.get(f.path)! });
  }
  Object.assign(tables, await profileTables(todo));
  return { format: 1, tables };
}
