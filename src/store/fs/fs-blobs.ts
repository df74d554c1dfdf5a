// Content-addressed blobs in a folder: objects/ab/cdef…, written to a temp file, fsynced, then renamed.
import { randomBytes, webcrypto } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { BlobInfo, BlobStore, BlobWrite } from "../types.ts";
import {
  assertContentId,
  blobNotFound,
  completeBlobStore,
  corruptBlob,
  createHashingStream,
  createVerifier,
  IO_CHUNK,
  toReadable,
  writeError,
} from "../blob-common.ts";

export interface FsBlobsOptions {
  readonly root: string;
  /** fsync each blob and its folder before it becomes visible (default true). */
  readonly durable?: boolean;
}

const TMP = "tmp";
const STALE_TMP_MS = 24 * 3600_000;

/**
 * @example
 * const blobs = await createFsBlobs({ root: ".loopml/objects" });
 */
export async function createFsBlobs(options: FsBlobsOptions): Promise<BlobStore> {
  const root = options.root;
  const location = `file:${root}`;
  const durable = options.durable ?? true;
  try {
    await mkdir(join(root, TMP), { recursive: true });
  } catch (e) {
    throw writeError(e, location);
  }
  await removeStaleTempFiles(join(root, TMP));

  const pathOf = (id: string): string => join(root, id.slice(0, 2), id.slice(2));

  async function put(source: Readable | Uint8Array): Promise<BlobInfo> {
    const tmpPath = join(root, TMP, `${randomBytes(8).toString("hex")}.part`);
    const hasher = createHashingStream();
    try {
      const out = createWriteStream(tmpPath, { flags: "wx", highWaterMark: IO_CHUNK });
      await pipeline(toReadable(source), hasher.stream, out);
      const { id, size } = hasher.digest();
      const finalPath = pathOf(id);
      if (await exists(finalPath)) {
        await unlink(tmpPath);
        return { id, size, created: false };
      }
      if (durable) await fsyncPath(tmpPath);
      const dir = join(root, id.slice(0, 2));
      await mkdir(dir, { recursive: true });
      // rename is atomic: readers see the whole blob or none; two writers of the same content both succeed.
      await rename(tmpPath, finalPath);
      if (durable) await fsyncPath(dir);
      return { id, size, created: true };
    } catch (e) {
      await rm(tmpPath, { force: true });
      throw writeError(e, location);
    }
  }

  /**
   * The batch's new blobs are written and synced side by side (the file system commits their
   * syncs together), then renamed into place, then each touched shard folder is synced once.
   * Ids are the caller's: no second hash (reads verify).
   */
  async function putMany(items: readonly BlobWrite[]): Promise<BlobInfo[]> {
    for (const item of items) assertContentId(item.id);
    const out = items.map((item) => ({ id: item.id, size: item.bytes.length, created: false }));
    const seen = new Set<string>();
    const fresh: { index: number; tmp: string }[] = [];
    try {
      await Promise.all(
        items.map(async (item, index) => {
          if (seen.has(item.id)) return;
          seen.add(item.id);
          if (await exists(pathOf(item.id))) return;
          const tmp = join(root, TMP, `${randomBytes(8).toString("hex")}.part`);
          fresh.push({ index, tmp });
          const fh = await open(tmp, "wx");
          try {
            await fh.writeFile(item.bytes);
            if (durable) await fh.sync();
          } finally {
            await fh.close();
          }
        }),
      );
      const dirs = new Set<string>();
      for (const f of fresh) dirs.add(join(root, items[f.index]!.id.slice(0, 2)));
      await Promise.all([...dirs].map((d) => mkdir(d, { recursive: true })));
      await Promise.all(
        fresh.map(async (f) => {
          await rename(f.tmp, pathOf(items[f.index]!.id));
          out[f.index]!.created = true;
        }),
      );
      if (durable) await Promise.all([...dirs].map(fsyncPath));
      return out;
    } catch (e) {
      await Promise.all(fresh.map((f) => rm(f.tmp, { force: true })));
      throw writeError(e, location);
    }
  }

  /** Whole small blobs: one read, hashed off the main thread, so several can be read and checked at once. */
  async function getBytes(id: string): Promise<Buffer> {
    assertContentId(id);
    let bytes: Buffer;
    try {
      bytes = await readFile(pathOf(id));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") throw blobNotFound(id, location);
      throw e;
    }
    const actual = Buffer.from(await webcrypto.subtle.digest("SHA-256", bytes)).toString("hex");
    if (actual !== id) throw corruptBlob(id, actual, location);
    return bytes;
  }

  function get(id: string): Readable {
    assertContentId(id);
    const verifier = createVerifier(id, location);
    const file = createReadStream(pathOf(id), { highWaterMark: IO_CHUNK });
    file.on("error", (e: NodeJS.ErrnoException) => {
      verifier.destroy(e.code === "ENOENT" ? blobNotFound(id, location) : e);
    });
    return file.pipe(verifier);
  }

  async function statBlob(id: string): Promise<number | undefined> {
    assertContentId(id);
    try {
      return (await stat(pathOf(id))).size;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
  }

  async function* list(): AsyncIterable<string> {
    for (const shard of await readdir(root)) {
      if (shard.length !== 2) continue;
      for (const rest of await readdir(join(root, shard))) yield shard + rest;
    }
  }

  return completeBlobStore({
    location,
    put,
    putMany,
    get,
    getBytes,
    stat: statBlob,
    list,
    delete: async (id) => {
      assertContentId(id);
      await rm(pathOf(id), { force: true });
    },
    close: () => Promise.resolve(),
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Temp files of writers that died (kill -9) are never visible as blobs; old ones are swept here. */
async function removeStaleTempFiles(tmpDir: string): Promise<void> {
  const cutoff = Date.now() - STALE_TMP_MS;
  for (const name of await readdir(tmpDir).catch(() => [] as string[])) {
    const p = join(tmpDir, name);
    const s = await stat(p).catch(() => undefined);
    if (s && s.mtimeMs < cutoff) await rm(p, { force: true });
  }
}
