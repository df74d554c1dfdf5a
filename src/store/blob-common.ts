// Pieces shared by the blob backends: id checks, the verifying read stream, error mapping.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { Readable, Transform, type TransformCallback } from "node:stream";
import { LoopmlError } from "../errors.ts";
import { HASH_ALGORITHM, isContentId } from "../_internal/hash.ts";
import type { BlobInfo, BlobStore, BlobWrite } from "./types.ts";

/** Read and write size for blob files: large enough that syscalls do not dominate. */
export const IO_CHUNK = 1 << 20;

/**
 * What a backend implements; the rest of the contract is derived from it, once for every backend.
 * `putMany` and `getBytes` are optional: a backend supplies them when it can do better than the
 * derived versions.
 */
export type BlobBackend = Pick<BlobStore, "location" | "put" | "get" | "stat" | "list" | "delete" | "close"> &
  Partial<Pick<BlobStore, "putMany" | "getBytes">>;

export function completeBlobStore(backend: BlobBackend): BlobStore {
  return {
    ...backend,
    putFile: (path) => backend.put(createReadStream(path, { highWaterMark: IO_CHUNK })),
    getBytes: backend.getBytes ?? ((id) => readAll(backend.get(id))),
    has: async (id) => (await backend.stat(id)) !== undefined,
    putMany: backend.putMany ?? ((items) => putEach(backend, items)),
  };
}

/** putMany from put: one blob at a time, each hashed again, so a wrong id is caught. */
async function putEach(backend: BlobBackend, items: readonly BlobWrite[]): Promise<BlobInfo[]> {
  const out: BlobInfo[] = [];
  for (const item of items) {
    assertContentId(item.id);
    if ((await backend.stat(item.id)) === item.bytes.length) {
      out.push({ id: item.id, size: item.bytes.length, created: false });
      continue;
    }
    const info = await backend.put(item.bytes);
    if (info.id !== item.id) {
      if (info.created) await backend.delete(info.id);
      throw wrongId(item.id, info.id, backend.location);
    }
    out.push(info);
  }
  return out;
}

export function wrongId(claimed: string, actual: string, location: string): LoopmlError {
  return new LoopmlError(
    "INTERNAL",
    `A blob written to ${location} as ${claimed} hashes to ${actual}: the caller's id is wrong (this is a bug).`,
    { id: claimed, actual },
  );
}

export function assertContentId(id: string): void {
  if (!isContentId(id)) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `"${id.slice(0, 80)}" is not a blob id (64 lowercase hex characters).`,
    );
  }
}

export function toReadable(source: Readable | Uint8Array): Readable {
  return source instanceof Uint8Array ? Readable.from([source]) : source;
}

/** Passes bytes through while hashing and counting them; `digest()` gives the blob id once the stream ended. */
export function createHashingStream(): {
  readonly stream: Transform;
  digest(): { id: string; size: number };
} {
  const hash = createHash(HASH_ALGORITHM);
  let size = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  return { stream, digest: () => ({ id: hash.digest("hex"), size }) };
}

/** Passes bytes through and fails at the end when they do not hash to `id`. */
export function createVerifier(id: string, location: string): Transform {
  const hash = createHash(HASH_ALGORITHM);
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      hash.update(chunk);
      done(null, chunk);
    },
    flush(done: TransformCallback) {
      const actual = hash.digest("hex");
      if (actual !== id) done(corruptBlob(id, actual, location));
      else done();
    },
  });
}

export function corruptBlob(id: string, actual: string, location: string): LoopmlError {
  return new LoopmlError(
    "INTERNAL",
    `Corrupt blob ${id} in ${location}: its bytes hash to ${actual}. Restore it from a remote (loopml data pull) or delete it and re-add the data.`,
    { id, actual },
  );
}

export function blobNotFound(id: string, location: string): LoopmlError {
  return new LoopmlError("NOT_FOUND", `Blob ${id} is not in ${location}.`, { id });
}

/** Maps write failures that a user can fix to clear errors; others become INTERNAL with the cause kept. */
export function writeError(e: unknown, location: string): LoopmlError {
  if (e instanceof LoopmlError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOSPC" || code === "EDQUOT") {
    return new LoopmlError(
      "RESOURCE_EXHAUSTED",
      `The disk holding ${location} is full. Free space (loopml data gc) and retry.`,
      undefined,
      {
        cause: e,
      },
    );
  }
  if (code === "EFBIG") {
    return new LoopmlError(
      "RESOURCE_EXHAUSTED",
      `A file written to ${location} grew past the file size limit (ulimit -f, a quota or the filesystem's maximum). Raise the limit or put blobs elsewhere (LOOPML_ARTIFACTS), and retry.`,
      undefined,
      { cause: e },
    );
  }
  if (code === "EROFS" || code === "EACCES" || code === "EPERM") {
    return new LoopmlError(
      "FAILED_PRECONDITION",
      `Cannot write to ${location} (${code}): make it writable or choose another location.`,
      undefined,
      {
        cause: e,
      },
    );
  }
  return new LoopmlError(
    "INTERNAL",
    `Writing a blob to ${location} failed: ${(e as Error).message}`,
    undefined,
    { cause: e },
  );
}

/** Collects a readable into one buffer (for small blobs only). */
export async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}
