// Chooses a backend by URI scheme: sqlite:/postgres:// for metadata, file:/s3:// for blobs.
import { resolve } from "node:path";
import { LoopmlError } from "../errors.ts";
import { createFsBlobs } from "./fs/fs-blobs.ts";
import { redactUrl } from "./redact.ts";
import { createSqliteStore } from "./sqlite/sqlite-store.ts";
import type { BlobStore, MetadataStore } from "./types.ts";

/**
 * @example
 * await openStore("sqlite:.loopml/loopml.db");
 * await openStore("postgres://loopml@127.0.0.1:5432/loopml");
 */
export async function openStore(uri: string, options: { baseDir?: string } = {}): Promise<MetadataStore> {
  if (uri.startsWith("sqlite:")) {
    const path = uri.slice("sqlite:".length).replace(/^\/\/(?=\/)/, "");
    if (path === "")
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Store URI "${uri}" has no path. Example: sqlite:.loopml/loopml.db`,
      );
    return createSqliteStore({ path: path === ":memory:" ? path : resolve(options.baseDir ?? ".", path) });
  }
  if (uri.startsWith("postgres://") || uri.startsWith("postgresql://")) {
    // Loaded on demand: the PostgreSQL client costs start-up time that SQLite users should not pay.
    const { createPostgresStore } = await import("./postgres/postgres-store.ts");
    return createPostgresStore({ url: uri });
  }
  throw new LoopmlError(
    "INVALID_ARGUMENT",
    `Unknown store "${schemeOf(uri)}". Use sqlite:PATH or postgres://USER@HOST:PORT/DB.`,
  );
}

/**
 * @example
 * await openBlobs("file:.loopml/objects");
 * await openBlobs("s3://bucket/prefix");
 */
export async function openBlobs(uri: string, options: { baseDir?: string } = {}): Promise<BlobStore> {
  if (uri.startsWith("file:")) {
    const path = uri.slice("file:".length).replace(/^\/\/(?=\/)/, "");
    if (path === "")
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Blob store URI "${uri}" has no path. Example: file:.loopml/objects`,
      );
    return createFsBlobs({ root: resolve(options.baseDir ?? ".", path) });
  }
  if (uri.startsWith("s3://")) {
    // The AWS SDK is large; only S3 users load it.
    const { createS3Blobs, parseS3Uri } = await import("./s3/s3-blobs.ts");
    return createS3Blobs(parseS3Uri(uri));
  }
  throw new LoopmlError(
    "INVALID_ARGUMENT",
    `Unknown blob store "${schemeOf(uri)}". Use file:PATH or s3://BUCKET/PREFIX.`,
  );
}

function schemeOf(uri: string): string {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*:)/.exec(uri);
  return m?.[1] ?? redactUrl(uri);
}
