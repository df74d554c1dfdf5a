// data checkout and status: materialise a version hash-verified, and compare the disk with the last add.
import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readdir, realpath, rename, rm, stat, type FileHandle } from "node:fs/promises";
import { dirname, isAbsolute, join, relative } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { LoopmlError } from "../errors.ts";
import { cacheHit, ingestFiles, type StatCacheEntry } from "./ingest.ts";
import { fileDigest, hexToBytes, locationOf } from "./manifest.ts";
import { pointerPath, readPointer, writePointer } from "./pointer.ts";
import { loadStatCache, requireDataset, resolveVersion, writeStatCache, type VersionRef } from "./repo.ts";
import type { DataInternals } from "./add.ts";
import type { DataStatus, Dataset, DatasetVersion, Manifest, ManifestFile } from "./types.ts";
import { walkDataPath } from "./walk.ts";

export interface CheckoutOptions {
  readonly onProgress?: (done: number, total: number) => void;
}

export interface CheckoutResult {
  readonly version: DatasetVersion;
  readonly path: string;
  readonly written: number;
  readonly unchanged: number;
  /** Files in the dataset's folder that the version does not have, now deleted. */
  readonly removed: readonly string[];
  readonly bytesWritten: number;
}

function projectPathOf(ds: Dataset, f: ManifestFile): string {
  return ds.kind === "file" ? ds.path : `${ds.path}/${f.path}`;
}

function assertSafeRelative(p: string): void {
  if (p === "" || p.startsWith("/") || p.split("/").some((s) => s === ".." || s === "." || s === "")) {
    throw new LoopmlError(
      "INTERNAL",
      `Manifest path "${p}" is not a safe relative path: the manifest is corrupt.`,
    );
  }
}

export async function checkoutData(
  ctx: DataInternals,
  ref: VersionRef,
  opts: CheckoutOptions = {},
): Promise<CheckoutResult> {
  const { ws } = ctx;
  const projectDir = ws.config.projectDir;
  const ds = await requireDataset(ws.store.db, ref.name);
  const version = await resolveVersion(ws.store.db, ref);
  const manifest = await ctx.readManifest(version.id);
  const root = join(projectDir, ds.path);
  const cache = await loadStatCache(
    ws.store.db,
    ds.kind === "folder" ? { prefix: `${ds.path}/` } : { exact: ds.path },
  );
  const rows = new Map<string, StatCacheEntry>();
  const total = manifest.size;
  let done = 0;
  let written = 0;
  let unchanged = 0;
  let bytesWritten = 0;
  const packCache: { id?: string; bytes?: Buffer } = {};
  const projectReal = await realpath(projectDir);
  const safeDirs = new Set<string>();

  for (const f of manifest.files) {
    if (ds.kind === "folder") assertSafeRelative(f.path);
    const abs = ds.kind === "file" ? root : join(root, f.path);
    const path = projectPathOf(ds, f);
    const st = await stat(abs).catch(() => undefined);
    const hit = cache.get(path);
    if (st?.isFile() && cacheHit(hit, st) && hit.digest === f.digest && (st.mode & 0o777) === f.mode) {
      unchanged++;
    } else {
      await assertDirInsideProject(projectReal, dirname(abs), safeDirs);
      await materialise(ctx, manifest, f, abs, packCache);
      const after = await stat(abs);
      rows.set(path, {
        size: after.size,
        mtimeMs: after.mtimeMs,
        inode: String(after.ino),
        cachedAtMs: 0, // set by stampAfterNewestWrite
        digest: f.digest,
        location: locationOf(manifest, f),
      });
      written++;
      bytesWritten += f.size;
    }
    done += f.size;
    opts.onProgress?.(done, total);
  }

  const removed: string[] = [];
  if (ds.kind === "folder") {
    const wanted = new Set(manifest.files.map((f) => f.path));
    const present = await walkDataPath(projectDir, { abs: root, rel: ds.path, kind: "folder" });
    for (const p of present) {
      if (!wanted.has(p.rel)) {
        await rm(p.abs, { force: true });
        removed.push(p.rel);
      }
    }
    await removeEmptyDirs(root);
  }

  await stampAfterNewestWrite(rows);
  await ws.store.transaction(async (tx) => {
    await writeStatCache(tx, rows);
    await ws.audit.append(tx, {
      actor: ws.config.actor,
      action: "data.checkout",
      target: `dataset:${ds.name}`,
      details: { seq: version.seq, id: version.id, path: ds.path, written, removed: removed.length },
    });
  });
  await writePointer(projectDir, ds, version);
  return { version, path: ds.path, written, unchanged, removed, bytesWritten };
}

/**
 * Refuses to write into a folder that is, or sits below, a symlink leading outside the project (a dataset
 * folder replaced by a link must not let checkout write elsewhere). The file itself is replaced by rename,
 * which never follows a link, so only its folder needs checking; checked folders are remembered.
 */
async function assertDirInsideProject(projectReal: string, dir: string, checked: Set<string>): Promise<void> {
  if (checked.has(dir)) return;
  let p = dir;
  for (;;) {
    let real: string;
    try {
      real = await realpath(p);
    } catch (e) {
      // Not there yet: checkout will create it below the nearest existing ancestor, which is what counts.
      if ((e as NodeJS.ErrnoException).code === "ENOENT" && dirname(p) !== p) {
        p = dirname(p);
        continue;
      }
      throw e;
    }
    const r = relative(projectReal, real);
    if (r.startsWith("..") || isAbsolute(r)) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `${dir} leads outside the project folder (through a symlink to ${real}); checkout does not write there. Remove the link and retry.`,
        { path: dir },
      );
    }
    checked.add(dir);
    return;
  }
}

/**
 * The stat cache trusts an entry only when the file's mtime is older than the moment it was cached
 * (a write in the same clock tick would otherwise go unseen). Files just written have an mtime of
 * "now", so wait until the clock has passed the newest of them, then stamp every row: the next
 * checkout or status then trusts them instead of rewriting or re-reading them.
 */
async function stampAfterNewestWrite(rows: Map<string, StatCacheEntry>): Promise<void> {
  if (rows.size === 0) return;
  let newest = 0;
  for (const r of rows.values()) newest = Math.max(newest, r.mtimeMs);
  const wait = Math.floor(newest) + 1 - Date.now();
  if (wait > 0) await delay(Math.min(wait, 1000));
  const now = Date.now();
  for (const [k, r] of rows) rows.set(k, { ...r, cachedAtMs: now });
}

/** Writes one file to a temp name beside its target, checks its digest, then renames it into place. */
async function materialise(
  ctx: DataInternals,
  manifest: Manifest,
  f: ManifestFile,
  abs: string,
  packCache: { id?: string; bytes?: Buffer },
): Promise<void> {
  const dir = dirname(abs);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${randomBytes(6).toString("hex")}.loopml-tmp`);
  const fh = await open(tmp, "wx", f.mode || 0o644);
  try {
    let digest: string;
    const loc = locationOf(manifest, f);
    if ("chunks" in loc) {
      await writeChunks(ctx, loc.chunks, fh, f);
      digest = fileDigest(loc.chunks.map(hexToBytes));
    } else {
      if (packCache.id !== loc.pack) {
        packCache.bytes = await ctx.ws.blobs.getBytes(loc.pack);
        packCache.id = loc.pack;
      }
      const bytes = packCache.bytes!.subarray(loc.offset, loc.offset + f.size);
      digest = fileDigest([createHash("sha256").update(bytes).digest()]);
      await fh.write(bytes);
    }
    if (digest !== f.digest) {
      throw new LoopmlError("INTERNAL", `Checked-out bytes of ${f.path} do not match the version's digest.`, {
        path: f.path,
      });
    }
    await fh.chmod(f.mode || 0o644);
    await fh.close();
    await rename(tmp, abs);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
}

const READ_AHEAD = 6;
const WRITES_IN_FLIGHT = 4;

/**
 * Streams a file's chunks into one open file: several chunks are read and hash-verified at once
 * (off the main thread for the folder store) and written at their offsets without waiting for
 * each other, into a file sized up front.
 */
async function writeChunks(
  ctx: DataInternals,
  chunks: readonly string[],
  fh: FileHandle,
  f: ManifestFile,
): Promise<void> {
  await fh.truncate(f.size);
  const reads: Promise<Buffer>[] = [];
  const writes: Promise<unknown>[] = [];
  let next = 0;
  const fill = (): void => {
    while (reads.length < READ_AHEAD && next < chunks.length)
      reads.push(ctx.ws.blobs.getBytes(chunks[next++]!));
  };
  let offset = 0;
  try {
    fill();
    while (reads.length > 0) {
      const bytes = await reads.shift()!;
      fill();
      if (offset + bytes.length > f.size) break;
      writes.push(fh.write(bytes, 0, bytes.length, offset));
      offset += bytes.length;
      if (writes.length >= WRITES_IN_FLIGHT) await writes.shift();
    }
    await Promise.all(writes);
  } finally {
    await Promise.allSettled([...reads, ...writes]);
  }
  if (offset !== f.size) {
    throw new LoopmlError(
      "INTERNAL",
      `The chunks of ${f.path} do not add up to its size: the manifest is corrupt.`,
      {
        path: f.path,
      },
    );
  }
}

async function removeEmptyDirs(dir: string): Promise<boolean> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  let empty = true;
  for (const e of entries) {
    if (e.isDirectory() && !e.name.startsWith(".")) {
      if (await removeEmptyDirs(join(dir, e.name)))
        await rm(join(dir, e.name), { recursive: true, force: true });
      else empty = false;
    } else empty = false;
  }
  return empty;
}

/** What changed on disk since the dataset's latest version. Hashes only files whose stat moved. */
export async function statusOf(ctx: DataInternals, name: string): Promise<DataStatus> {
  const { ws } = ctx;
  const projectDir = ws.config.projectDir;
  const ds = await requireDataset(ws.store.db, name);
  // The baseline is what the pointer file says is on disk (the last add or checkout), else the latest.
  const pointer = await readPointer(pointerPath(projectDir, ds));
  const version =
    pointer?.dataset === ds.name && Number.isInteger(pointer.seq)
      ? await resolveVersion(ws.store.db, { name, version: String(pointer.seq) }).catch(() =>
          resolveVersion(ws.store.db, { name }),
        )
      : await resolveVersion(ws.store.db, { name });
  const manifest = await ctx.readManifest(version.id);
  const abs = join(projectDir, ds.path);
  const st = await stat(abs).catch(() => undefined);
  const onDisk =
    st && (ds.kind === "folder" ? st.isDirectory() : st.isFile())
      ? await walkDataPath(projectDir, { abs, rel: ds.path, kind: ds.kind })
      : [];
  const prefix =
    ds.kind === "folder" ? `${ds.path}/` : ds.path.slice(0, ds.path.length - (onDisk[0]?.rel.length ?? 0));
  const cache = await loadStatCache(ws.store.db, ds.kind === "folder" ? { prefix } : { exact: ds.path });
  const hashed = await ingestFiles(onDisk, {
    blobs: ws.blobs,
    cache,
    known: new Map(),
    prefix,
    store: false,
    packBelow: 0,
  });
  const now = new Map(hashed.entries.map((e) => [e.path, e]));
  const then = new Map(manifest.files.map((f) => [f.path, f]));
  const added: string[] = [];
  const modified: string[] = [];
  const removed: string[] = [];
  let unchanged = 0;
  for (const [p, e] of now) {
    const f = then.get(p);
    if (!f) added.push(p);
    else if (f.digest !== e.digest || f.mode !== e.mode) modified.push(p);
    else unchanged++;
  }
  for (const p of then.keys()) if (!now.has(p)) removed.push(p);
  return {
    dataset: ds.name,
    path: ds.path,
    version: version.id,
    seq: version.seq,
    added,
    removed,
    modified,
    unchanged,
    clean: added.length + removed.length + modified.length === 0,
  };
}
