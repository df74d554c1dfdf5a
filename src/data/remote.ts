// data push/pull: copy only the missing chunks of versions between blob stores, in parallel, resumably.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { isLoopmlError, LoopmlError } from "../errors.ts";
import { openBlobs } from "../store/open.ts";
import type { BlobStore } from "../store/types.ts";
import type { DataInternals } from "./add.ts";
import { blobsOf, decodeManifest } from "./manifest.ts";
import { readPointer } from "./pointer.ts";
import { findDataset, listDatasets, listVersions, requireDataset, touchBlobs } from "./repo.ts";
import type { DatasetVersion, PointerFile } from "./types.ts";
import { POINTER_SUFFIX } from "./walk.ts";

const CONCURRENCY = 8;
/** Blobs up to this size are copied through memory: every chunk (≤ 4 MiB) and pack (~8 MiB). */
const WHOLE_BELOW = 16 << 20;

export interface TransferOptions {
  /** One dataset; all datasets when absent. */
  readonly name?: string;
  readonly onProgress?: (doneBytes: number, totalBytes: number) => void;
}

export interface TransferResult {
  readonly remote: string;
  readonly versions: number;
  /** Blobs the versions need. */
  readonly blobs: number;
  /** Blobs copied now (the rest were already there). */
  readonly copied: number;
  readonly bytes: number;
  /** Versions registered locally from pointer files (pull only). */
  readonly imported: readonly string[];
}

/** Runs `fn` over items with at most `limit` in flight; the first failure stops the rest. */
export async function parallel<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async (): Promise<void> => {
    while (failed === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed !== undefined) throw failed as Error;
}

async function versionsOf(ctx: DataInternals, name: string | undefined): Promise<DatasetVersion[]> {
  const db = ctx.ws.store.db;
  const names =
    name === undefined
      ? (await listDatasets(db)).map((d) => d.name)
      : [(await requireDataset(db, name)).name];
  const out: DatasetVersion[] = [];
  for (const n of names) out.push(...(await listVersions(db, n)));
  return out;
}

/**
 * Copies blobs missing from `to`, data before manifests: a manifest on the far side then always
 * means its chunks are there too, and an interrupted transfer resumes where it stopped.
 */
async function copyMissing(
  from: BlobStore,
  to: BlobStore,
  chunkIds: readonly string[],
  lastIds: readonly string[],
  verb: "push" | "pull",
  onProgress?: (done: number, total: number) => void,
): Promise<{ copied: number; bytes: number }> {
  const missing: { id: string; size: number }[] = [];
  const check = async (id: string): Promise<void> => {
    const have = await to.stat(id);
    // The local store never holds a torn blob (write-then-rename). A remote endpoint that died
    // mid-object may (S3 itself never shows one, some compatible servers do): on push, a remote
    // size other than ours means the blob is sent again, as put() would.
    if (have !== undefined && verb === "pull") return;
    const size = await from.stat(id);
    if (size === undefined) {
      if (have !== undefined) return;
      throw new LoopmlError("NOT_FOUND", `Blob ${id} is in neither ${from.location} nor ${to.location}.`, {
        id,
      });
    }
    if (have !== size) missing.push({ id, size });
  };
  const missingLast: { id: string; size: number }[] = [];
  let done = 0;
  let copiedNow = 0;
  try {
    await parallel(chunkIds, CONCURRENCY * 2, check);
    for (const id of lastIds) {
      const size = (await from.stat(id)) ?? 0;
      if ((await to.stat(id)) !== size) missingLast.push({ id, size });
    }
  } catch (e) {
    throw resumeHint(e, verb, 0, 0);
  }
  const total = [...missing, ...missingLast].reduce((n, m) => n + m.size, 0);
  const copy = async (m: { id: string; size: number }): Promise<void> => {
    if (m.size <= WHOLE_BELOW) {
      // chunks and packs: read whole and verified, so the id is known good and putMany need not
      // hash again (S3: one PutObject, no temp file)
      await to.putMany([{ id: m.id, bytes: await from.getBytes(m.id) }]);
    } else {
      const info = await to.put(from.get(m.id));
      if (info.id !== m.id) {
        await to.delete(info.id);
        throw new LoopmlError("INTERNAL", `Copying blob ${m.id} produced ${info.id}: the source is corrupt.`);
      }
    }
    done += m.size;
    copiedNow++;
    onProgress?.(done, total);
  };
  try {
    await parallel(missing, CONCURRENCY, copy);
    await parallel(missingLast, CONCURRENCY, copy);
  } catch (e) {
    throw resumeHint(e, verb, copiedNow, missing.length + missingLast.length);
  }
  return { copied: missing.length + missingLast.length, bytes: total };
}

/** An endpoint that went away mid-transfer: say that what arrived is kept and the same command resumes. */
function resumeHint(e: unknown, verb: "push" | "pull", copied: number, needed: number): unknown {
  if (!isLoopmlError(e, "UNAVAILABLE")) return e;
  const sofar = needed === 0 ? "" : ` ${copied} of ${needed} missing blob(s) had been copied.`;
  return new LoopmlError(
    "UNAVAILABLE",
    `${e.message}${sofar} Nothing is registered without its chunks: run the same ${verb} again once it answers, and it copies only what is still missing.`,
    e.details,
    { cause: e.cause ?? e },
  );
}

async function openRemote(ctx: DataInternals, uri: string): Promise<BlobStore> {
  return openBlobs(uri, { baseDir: ctx.ws.config.projectDir });
}

export async function pushData(
  ctx: DataInternals,
  uri: string,
  opts: TransferOptions = {},
): Promise<TransferResult> {
  const versions = await versionsOf(ctx, opts.name);
  const remote = await openRemote(ctx, uri);
  try {
    const data = new Set<string>();
    const last = new Set<string>();
    for (const v of versions) {
      for (const id of blobsOf(await ctx.readManifest(v.id))) data.add(id);
      if (v.profileId !== null) data.add(v.profileId);
      last.add(v.id);
    }
    const r = await copyMissing(ctx.ws.blobs, remote, [...data], [...last], "push", opts.onProgress);
    await ctx.ws.audit.record({
      actor: ctx.ws.config.actor,
      action: "data.push",
      target: opts.name === undefined ? "dataset:*" : `dataset:${opts.name}`,
      details: { remote: remote.location, versions: versions.length, copied: r.copied, bytes: r.bytes },
    });
    return {
      remote: remote.location,
      versions: versions.length,
      blobs: data.size + last.size,
      ...r,
      imported: [],
    };
  } finally {
    await remote.close();
  }
}

/** Pointer files in the project (skipping state, VCS and dependency folders). */
async function findPointers(dir: string, depth = 0): Promise<PointerFile[]> {
  if (depth > 8) return [];
  const out: PointerFile[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (e.isDirectory() && ![".loopml", ".git", "node_modules"].includes(e.name)) {
      out.push(...(await findPointers(join(dir, e.name), depth + 1)));
    } else if (e.isFile() && e.name.endsWith(POINTER_SUFFIX)) {
      const p = await readPointer(join(dir, e.name));
      if (p && typeof p.dataset === "string" && typeof p.version === "string") out.push(p);
    }
  }
  return out;
}

/**
 * Fetches the missing blobs of known versions and of versions named by pointer files (a fresh
 * clone has pointers but no local history): those are registered locally, so checkout works.
 */
export async function pullData(
  ctx: DataInternals,
  uri: string,
  opts: TransferOptions = {},
): Promise<TransferResult> {
  const { ws } = ctx;
  const remote = await openRemote(ctx, uri);
  try {
    const pointers = (await findPointers(ws.config.projectDir)).filter(
      (p) => opts.name === undefined || p.dataset === opts.name,
    );
    const known =
      opts.name === undefined || (await findDataset(ws.store.db, opts.name))
        ? await versionsOf(ctx, opts.name)
        : [];
    const knownIds = new Set(known.map((v) => v.id));
    const toImport = pointers.filter((p) => !knownIds.has(p.version));
    // manifests first here: they say which chunks to fetch
    const manifestIds = [...new Set([...known.map((v) => v.id), ...toImport.map((p) => p.version)])];
    await copyMissing(remote, ws.blobs, manifestIds, [], "pull");
    const data = new Set<string>();
    for (const id of manifestIds) for (const b of blobsOf(await ctx.readManifest(id))) data.add(b);
    for (const v of known) if (v.profileId !== null) data.add(v.profileId);
    for (const p of toImport) if (typeof p.profile === "string") data.add(p.profile);
    const r = await copyMissing(remote, ws.blobs, [...data], [], "pull", opts.onProgress);
    const imported: string[] = [];
    const now = new Date(ws.clock.now()).toISOString();
    await ws.store.transaction(async (tx) => {
      imported.length = 0;
      for (const p of toImport) {
        const manifest = decodeManifest(await ws.blobs.getBytes(p.version), p.version);
        const ds = await findDataset(tx, p.dataset);
        const taken = ds ? (await listVersions(tx, p.dataset)).some((v) => v.seq === p.seq) : false;
        const seq = !taken && Number.isInteger(p.seq) && p.seq > 0 ? p.seq : (ds?.latestSeq ?? 0) + 1;
        const latest = Math.max(seq, ds?.latestSeq ?? 0);
        if (ds)
          await tx
            .updateTable("datasets")
            .set({ latest_seq: latest })
            .where("name", "=", p.dataset)
            .execute();
        else
          await tx
            .insertInto("datasets")
            .values({
              name: p.dataset,
              path: p.path,
              kind: manifest.kind,
              latest_seq: latest,
              created_at: now,
              created_by: ws.config.actor,
            })
            .execute();
        await tx
          .insertInto("dataset_versions")
          .values({
            dataset: p.dataset,
            seq,
            id: p.version,
            size: manifest.size,
            file_count: manifest.files.length,
            message: `pulled from ${remote.location}`,
            profile_id: typeof p.profile === "string" ? p.profile : null,
            parent_seq: null,
            created_at: now,
            created_by: ws.config.actor,
          })
          .execute();
        imported.push(`${p.dataset}@${seq}`);
      }
      const touched = new Map([...data, ...manifestIds].map((id) => [id, { kind: "pulled", size: 0 }]));
      await touchBlobs(tx, touched, Date.now());
      await ws.audit.append(tx, {
        actor: ws.config.actor,
        action: "data.pull",
        target: opts.name === undefined ? "dataset:*" : `dataset:${opts.name}`,
        details: { remote: remote.location, copied: r.copied, bytes: r.bytes, imported },
      });
    });
    return {
      remote: remote.location,
      versions: manifestIds.length,
      blobs: data.size + manifestIds.length,
      ...r,
      imported,
    };
  } finally {
    await remote.close();
  }
}
