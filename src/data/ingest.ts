// Reads files into chunk and pack blobs (or only hashes them), skipping files the stat cache vouches for.
import { createHash, webcrypto } from "node:crypto";
import { closeSync, fstatSync, openSync, readSync, type Stats } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { LoopmlError } from "../errors.ts";
import type { BlobStore } from "../store/types.ts";
import { chunkFile, createCutter, type Cutter } from "./chunker.ts";
import { fileDigest, type ManifestEntry } from "./manifest.ts";
import type { FileLocation } from "./types.ts";
import type { FileStat, WalkedFile } from "./walk.ts";

export interface StatCacheEntry {
  readonly size: number;
  readonly mtimeMs: number;
  readonly inode: string;
  /** Wall-clock time of the stat that preceded the read: an mtime at or after it is not trusted. */
  readonly cachedAtMs: number;
  readonly digest: string;
  readonly location: FileLocation;
}

export interface IngestOptions {
  readonly blobs: BlobStore;
  /** By project-relative path. */
  readonly cache: ReadonlyMap<string, StatCacheEntry>;
  /** Digest → location of files already stored (previous version), so moved or touched files cost no bytes. */
  readonly known: ReadonlyMap<string, FileLocation>;
  /** Project-relative prefix of the dataset's files ("data/imgs/" or "" for a file dataset). */
  readonly prefix: string;
  /** false: hash only (status), nothing is written. */
  readonly store: boolean;
  /** Pack files smaller than this together (folders); 0 disables packing. */
  readonly packBelow: number;
  readonly onBytes?: (n: number) => void;
  /**
   * Called with the blobs of each file (or pack) once written, before any version refers to them,
   * so that gc can collect them if the add then fails.
   */
  readonly register?: (blobs: ReadonlyMap<string, { kind: string; size: number }>) => Promise<void>;
  readonly cutter?: Cutter;
}

export interface IngestResult {
  readonly entries: ManifestEntry[];
  /** Stat cache rows to write, by project-relative path (only new or changed ones). */
  readonly cacheRows: Map<string, StatCacheEntry>;
  /** Blobs this ingest wrote or relies on, with their kind and size (for the gc registry). */
  readonly blobs: Map<string, { kind: string; size: number }>;
  readonly bytesRead: number;
  readonly filesRead: number;
  /** Bytes of blobs this ingest actually wrote (new content). */
  readonly bytesStored: number;
}

const PACK_TARGET = 8 << 20;
const IN_FLIGHT = 4;

async function sha256(bytes: Uint8Array): Promise<Buffer> {
  // WebCrypto digests run on libuv's thread pool: chunk hashing overlaps the gear scan on the main thread.
  return Buffer.from(await webcrypto.subtle.digest("SHA-256", bytes));
}

function changedWhileReading(path: string): LoopmlError {
  return new LoopmlError(
    "FAILED_PRECONDITION",
    `${path} changed while it was being added (its size or modification time moved). Nothing was recorded: wait until it is complete and add it again.`,
    { path },
  );
}

function readError(e: unknown, path: string): LoopmlError {
  if (e instanceof LoopmlError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT")
    return new LoopmlError("FAILED_PRECONDITION", `${path} disappeared while it was being added.`, { path });
  if (code === "EACCES" || code === "EPERM")
    return new LoopmlError("FAILED_PRECONDITION", `${path} is not readable (${code}). Fix its permissions.`, {
      path,
    });
  return new LoopmlError(
    "INTERNAL",
    `Reading ${path} failed: ${(e as Error).message}`,
    { path },
    { cause: e },
  );
}

function sameStat(a: Stats, b: Stats): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs;
}

export function cacheHit<E extends Omit<StatCacheEntry, "location">>(
  entry: E | undefined,
  st: FileStat,
): entry is E {
  return (
    entry !== undefined &&
    entry.size === st.size &&
    entry.mtimeMs === st.mtimeMs &&
    entry.inode === String(st.ino) &&
    // racy-git rule: a file modified in the same clock tick as it was cached may have changed unseen
    entry.mtimeMs < entry.cachedAtMs
  );
}

/**
 * Hashes (and stores) `files`. Files whose stat matches the cache are not opened. A file whose
 * size or mtime moves while it is read fails the whole ingest, so no torn version is ever recorded.
 */
export async function ingestFiles(files: readonly WalkedFile[], opts: IngestOptions): Promise<IngestResult> {
  const cutter = opts.cutter ?? createCutter();
  const entries: ManifestEntry[] = [];
  const cacheRows = new Map<string, StatCacheEntry>();
  const blobs = new Map<string, { kind: string; size: number }>();
  let bytesRead = 0;
  let filesRead = 0;
  const stored = { bytes: 0 };

  let pack: Buffer[] = [];
  let packSize = 0;
  let pendingPack: {
    path: string;
    offset: number;
    entry: Omit<ManifestEntry, "location">;
    row: Omit<StatCacheEntry, "location">;
  }[] = [];

  async function flushPack(): Promise<void> {
    if (pendingPack.length === 0) return;
    const bytes = Buffer.concat(pack);
    let id: string;
    if (opts.store) {
      const info = await opts.blobs.put(bytes);
      id = info.id;
      if (info.created) stored.bytes += bytes.length;
    } else id = (await sha256(bytes)).toString("hex");
    blobs.set(id, { kind: "pack", size: bytes.length });
    await opts.register?.(new Map([[id, { kind: "pack", size: bytes.length }]]));
    for (const p of pendingPack) {
      const location = { pack: id, offset: p.offset };
      entries.push({ ...p.entry, location });
      cacheRows.set(p.path, { ...p.row, location });
    }
    pack = [];
    packSize = 0;
    pendingPack = [];
  }

  const small: WalkedFile[] = [];
  for (const f of files) {
    const path = opts.prefix + f.rel;
    const hit = opts.cache.get(path);
    if (cacheHit(hit, f.stat)) {
      entries.push({
        path: f.rel,
        size: f.stat.size,
        mode: f.stat.mode & 0o777,
        digest: hit.digest,
        location: hit.location,
      });
      noteBlobs(blobs, hit.location);
      opts.onBytes?.(f.stat.size);
      continue;
    }
    if (f.stat.size < opts.packBelow) {
      small.push(f);
      continue;
    }
    const fileBlobs = new Map<string, { kind: string; size: number }>();
    let r;
    try {
      r = await ingestLarge(f, path, hit, opts, cutter, fileBlobs, stored);
    } finally {
      // also when the file failed: what it already stored is then garbage that gc must see
      if (opts.store && fileBlobs.size > 0) await opts.register?.(fileBlobs);
    }
    for (const [id, b] of fileBlobs) blobs.set(id, b);
    bytesRead += r.entry.size;
    filesRead++;
    entries.push(r.entry);
    cacheRows.set(path, r.row);
  }

  // Small files are packed in path order, so equal input packs equally.
  {
    for (const f of small) {
      const { bytes, before, cachedAtMs } = readSmall(f, opts.prefix + f.rel);
      const path = opts.prefix + f.rel;
      const digest = fileDigest([createHash("sha256").update(bytes).digest()]);
      const base = { path: f.rel, size: bytes.length, mode: before.mode & 0o777, digest };
      const row = {
        size: before.size,
        mtimeMs: before.mtimeMs,
        inode: String(before.ino),
        cachedAtMs,
        digest,
      };
      bytesRead += bytes.length;
      filesRead++;
      opts.onBytes?.(bytes.length);
      const known = opts.known.get(digest);
      if (known) {
        entries.push({ ...base, location: known });
        cacheRows.set(path, { ...row, location: known });
        noteBlobs(blobs, known);
        continue;
      }
      pendingPack.push({ path, offset: packSize, entry: base, row });
      pack.push(bytes);
      packSize += bytes.length;
      if (packSize >= PACK_TARGET) await flushPack();
    }
  }
  await flushPack();
  return { entries, cacheRows, blobs, bytesRead, filesRead, bytesStored: stored.bytes };
}

function noteBlobs(blobs: Map<string, { kind: string; size: number }>, loc: FileLocation): void {
  if ("pack" in loc) {
    if (!blobs.has(loc.pack)) blobs.set(loc.pack, { kind: "pack", size: -1 });
  } else for (const c of loc.chunks) if (!blobs.has(c)) blobs.set(c, { kind: "chunk", size: -1 });
}

/**
 * Small files are read with synchronous calls: for 1 KiB files the promise round trips of
 * open/stat/read/stat/close cost far more than the page-cache reads themselves.
 */
function readSmall(
  f: WalkedFile,
  path: string,
): { f: WalkedFile; bytes: Buffer; before: Stats; cachedAtMs: number } {
  let fd: number | undefined;
  try {
    fd = openSync(f.abs, "r");
    const cachedAtMs = Date.now();
    const before = fstatSync(fd);
    const bytes = Buffer.allocUnsafe(before.size);
    let got = 0;
    while (got < bytes.length) {
      const n = readSync(fd, bytes, got, bytes.length - got, got);
      if (n === 0) break;
      got += n;
    }
    const after = fstatSync(fd);
    if (got !== before.size || !sameStat(before, after)) throw changedWhileReading(path);
    return { f, bytes, before, cachedAtMs };
  } catch (e) {
    throw readError(e, path);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

async function ingestLarge(
  f: WalkedFile,
  path: string,
  previous: StatCacheEntry | undefined,
  opts: IngestOptions,
  cutter: Cutter,
  blobs: Map<string, { kind: string; size: number }>,
  stored: { bytes: number },
): Promise<{ entry: ManifestEntry; row: StatCacheEntry }> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(f.abs, "r");
    const cachedAtMs = Date.now();
    const before = await fh.stat();
    const size = before.size;
    const ids: string[] = [];
    const digests: Buffer[] = [];
    let pos = 0;
    if (previous && "chunks" in previous.location && previous.location.chunks.length > 1) {
      pos = await verifyOldChunks(fh, previous.location.chunks, size, ids, digests, opts, blobs);
    }
    // Hashes run on the thread pool a few chunks ahead of the gear scan; hashed chunks are written
    // in batches (one putMany: no second hash, one sync round), a couple of batches in flight.
    const hashing: Promise<{ digest: Buffer; bytes: Buffer }>[] = [];
    const writer = createBatchWriter(opts, blobs, stored);
    const settle = async (): Promise<void> => {
      const { digest, bytes } = await hashing.shift()!;
      const id = digest.toString("hex");
      ids.push(id);
      digests.push(digest);
      blobs.set(id, { kind: "chunk", size: bytes.length });
      await writer.add(id, bytes);
    };
    try {
      for await (const chunk of chunkFile(fh, pos, size - pos, cutter)) {
        const bytes = chunk.bytes;
        hashing.push(sha256(bytes).then((digest) => ({ digest, bytes })));
        opts.onBytes?.(bytes.length);
        if (hashing.length >= IN_FLIGHT) await settle();
      }
      while (hashing.length > 0) await settle();
    } finally {
      await Promise.allSettled(hashing);
      await writer.close();
    }
    const after = await fh.stat();
    if (!sameStat(before, after)) throw changedWhileReading(path);
    const digest = fileDigest(digests);
    const location = { chunks: ids };
    return {
      entry: { path: f.rel, size, mode: before.mode & 0o777, digest, location },
      row: { size, mtimeMs: before.mtimeMs, inode: String(before.ino), cachedAtMs, digest, location },
    };
  } catch (e) {
    throw readError(e, path);
  } finally {
    await fh?.close();
  }
}

const BATCH_BYTES = 16 << 20;
const BATCHES_IN_FLIGHT = 2;

/** Groups hashed chunks into putMany batches; close() waits for every batch and rethrows the first failure. */
function createBatchWriter(
  opts: IngestOptions,
  blobs: Map<string, { kind: string; size: number }>,
  stored: { bytes: number },
): { add(id: string, bytes: Buffer): Promise<void>; close(): Promise<void> } {
  let batch: { id: string; bytes: Buffer }[] = [];
  let batchBytes = 0;
  const writes: Promise<void>[] = [];
  let failure: unknown;
  const flush = async (): Promise<void> => {
    if (batch.length === 0 || !opts.store) {
      batch = [];
      batchBytes = 0;
      return;
    }
    const items = batch;
    batch = [];
    batchBytes = 0;
    const write = opts.blobs.putMany(items).then(
      (infos) => {
        for (const info of infos) if (info.created) stored.bytes += info.size;
      },
      (e: unknown) => {
        failure ??= e;
      },
    );
    writes.push(write);
    if (writes.length >= BATCHES_IN_FLIGHT) await writes.shift();
    if (failure !== undefined) throw failure as Error;
  };
  return {
    add: async (id, bytes) => {
      if (!opts.store) return;
      batch.push({ id, bytes });
      batchBytes += bytes.length;
      blobs.set(id, { kind: "chunk", size: bytes.length });
      if (batchBytes >= BATCH_BYTES) await flush();
    },
    close: async () => {
      if (failure === undefined) await flush().catch(() => undefined);
      await Promise.all(writes);
      if (failure !== undefined) throw failure as Error;
    },
  };
}

/**
 * Content-defined cuts depend only on the bytes of their own chunk, so where the old chunks still
 * hash to their ids their boundaries still hold: verify them (hashing in parallel, no gear scan)
 * and resume chunking at the first one that differs. The old last chunk ended at the old end of
 * file, not at a content cut, so it is always re-chunked.
 */
async function verifyOldChunks(
  fh: FileHandle,
  oldIds: readonly string[],
  size: number,
  ids: string[],
  digests: Buffer[],
  opts: IngestOptions,
  blobs: Map<string, { kind: string; size: number }>,
): Promise<number> {
  const sizes: number[] = [];
  for (const id of oldIds.slice(0, -1)) {
    const s = await opts.blobs.stat(id);
    if (s === undefined) break;
    sizes.push(s);
  }
  let pos = 0;
  const jobs: Promise<{ ok: boolean; digest: Buffer; len: number }>[] = [];
  let offset = 0;
  let next = 0;
  const launch = (): void => {
    const len = sizes[next]!;
    const at = offset;
    const expected = oldIds[next]!;
    offset += len;
    next++;
    jobs.push(
      (async () => {
        if (at + len > size) return { ok: false, digest: Buffer.alloc(0), len };
        const buf = Buffer.allocUnsafe(len);
        const { bytesRead } = await fh.read(buf, 0, len, at);
        if (bytesRead !== len) return { ok: false, digest: Buffer.alloc(0), len };
        const digest = await sha256(buf);
        return { ok: digest.toString("hex") === expected, digest, len };
      })(),
    );
  };
  while (next < sizes.length && jobs.length < IN_FLIGHT) launch();
  while (jobs.length > 0) {
    const r = await jobs.shift()!;
    if (!r.ok) break;
    const id = r.digest.toString("hex");
    ids.push(id);
    digests.push(r.digest);
    blobs.set(id, { kind: "chunk", size: r.len });
    pos += r.len;
    opts.onBytes?.(r.len);
    if (next < sizes.length) launch();
  }
  await Promise.allSettled(jobs);
  return pos;
}

/** Whole-content digest of bytes already in memory, as a packed file would get. */
export function smallDigest(bytes: Uint8Array): string {
  return fileDigest([createHash("sha256").update(bytes).digest()]);
}
