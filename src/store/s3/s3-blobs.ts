// Content-addressed blobs in an S3 bucket: PREFIX/ab/cdef…, hashed through a temp file, then uploaded whole or not at all.
import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  PutObjectCommand,
  paginateListObjectsV2,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { LoopmlError } from "../../errors.ts";
import type { BlobInfo, BlobStore, BlobWrite } from "../types.ts";
import {
  assertContentId,
  blobNotFound,
  completeBlobStore,
  createHashingStream,
  createVerifier,
  IO_CHUNK,
  toReadable,
  writeError,
} from "../blob-common.ts";
import { isNotFound, parseUrl, printableUrl, toS3Error, type S3Place } from "./s3-errors.ts";

export interface S3BlobsOptions {
  readonly bucket: string;
  /** Key prefix without leading or trailing "/"; "" stores blobs at the bucket root. */
  readonly prefix: string;
  /** An S3-compatible endpoint (MinIO, s3rver…); AWS S3 itself when absent. */
  readonly endpoint?: string;
  /** Default us-east-1. */
  readonly region?: string;
  /** Path-style URLs (http://host/bucket/key); default true when `endpoint` is set. */
  readonly forcePathStyle?: boolean;
  /** Explicit keys; by default the SDK's chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, instance roles). */
  readonly credentials?: {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string;
  };
  /** Attempts per request in the SDK's standard retry mode (default 3, the SDK's own). */
  readonly maxAttempts?: number;
  /** Time to open a connection before the attempt fails (default 5 s). */
  readonly connectionTimeoutMs?: number;
  /** Socket inactivity allowed while sending or receiving (default 5 s); no cap on a whole transfer. */
  readonly idleTimeoutMs?: number;
  /** Keys per ListObjectsV2 page (default 1000, the S3 maximum; some compatible servers allow fewer). */
  readonly listPageSize?: number;
  /** Where put() hashes the incoming bytes before uploading (default: the OS temp folder). */
  readonly tmpDir?: string;
}

const PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 4;
const STALE_TMP_MS = 24 * 3600_000;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const KEY_TAIL = /^([0-9a-f]{2})\/([0-9a-f]{62})$/;
const EXAMPLE = "Example: s3://my-bucket/loopml/objects";

/**
 * Reads an `s3://BUCKET/PREFIX` URI; the endpoint and region come from the environment
 * (LOOPML_S3_ENDPOINT or AWS_ENDPOINT_URL, AWS_REGION), credentials from the SDK's default chain.
 *
 * @example
 * parseS3Uri("s3://ml-artifacts/loopml"); // { bucket: "ml-artifacts", prefix: "loopml", region: "us-east-1" }
 */
export function parseS3Uri(uri: string, env: NodeJS.ProcessEnv = process.env): S3BlobsOptions {
  if (uri.includes("@")) {
    // Keys in the URI would end up in configs and logs, so the message repeats none of it.
    throw invalid(
      `The blob store URI contains "@": credentials do not belong in it (and prefixes cannot contain "@"). Put them in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. ${EXAMPLE}`,
    );
  }
  const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/.exec(uri);
  if (!m) throw invalid(`Blob store URI "${uri}" is not an s3:// URI. ${EXAMPLE}`);
  const host = m[1] ?? "";
  if (!BUCKET_NAME.test(host)) {
    throw invalid(
      `"${host}" in "${uri}" is not a valid bucket name (3-63 lowercase letters, digits, "." or "-"). ${EXAMPLE}`,
    );
  }
  const path = (m[2] ?? "").replace(/\/+$/, "");
  if (
    /[?#]/.test(path) ||
    path.split("/").some((s, _i, all) => (s === "" && all.length > 1) || s === "." || s === "..")
  ) {
    throw invalid(
      `Prefix "${path}" in "${uri}" must be plain path segments (no "//", ".", "..", "?" or "#"). ${EXAMPLE}`,
    );
  }
  const endpoint =
    env["LOOPML_S3_ENDPOINT"] || env["AWS_ENDPOINT_URL_S3"] || env["AWS_ENDPOINT_URL"] || undefined;
  if (endpoint !== undefined && !/^https?:$/.test(parseUrl(endpoint)?.protocol ?? "")) {
    throw invalid(
      `LOOPML_S3_ENDPOINT / AWS_ENDPOINT_URL ${printableUrl(endpoint)} is not an http(s) URL. Example: http://127.0.0.1:9000`,
    );
  }
  const region = env["AWS_REGION"] || env["AWS_DEFAULT_REGION"] || "us-east-1";
  return endpoint === undefined
    ? { bucket: host, prefix: path, region }
    : { bucket: host, prefix: path, endpoint, region, forcePathStyle: true };
}

/**
 * Opens the bucket (checking once that it answers) and returns a BlobStore over it.
 *
 * @example
 * const blobs = await createS3Blobs(parseS3Uri("s3://ml-artifacts/loopml"));
 * const { id } = await blobs.putFile("model.onnx");
 */
export async function createS3Blobs(options: S3BlobsOptions): Promise<BlobStore> {
  const { bucket, prefix } = options;
  const location = prefix === "" ? `s3://${bucket}` : `s3://${bucket}/${prefix}`;
  const place: S3Place = {
    location,
    bucket,
    endpoint: options.endpoint,
    region: options.region ?? "us-east-1",
  };
  const tmpRoot = join(options.tmpDir ?? tmpdir(), "loopml-s3-put");
  const client = new S3Client({
    region: place.region,
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
    forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
    // Transient failures are retried with backoff; an endpoint that stays down still ends a command
    // within about 3 × 5 s, whether the host is unreachable (connection timeout) or a frozen server
    // accepts connections and never answers (idle timeout); a refused connection within a second.
    retryMode: "standard",
    maxAttempts: options.maxAttempts ?? 3,
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? 5_000,
      // An idle timeout rather than requestTimeout: that one caps the whole request (bad for large
      // parts on slow links) and, in this SDK, only logs a warning unless told to throw. Any byte
      // sent or received resets it, so a slow link is fine; S3 answers in milliseconds, and AWS
      // advises retrying slow requests early rather than waiting on them. (The SDK arms idle timers
      // of 6 s or more only 3 s after the request starts; 5 s is armed at once.)
      socketTimeout: options.idleTimeoutMs ?? 5_000,
    },
    // S3-compatible servers often reject the SDK's default CRC checksum headers; send them only
    // where S3 requires them. Integrity does not depend on them: every read is verified by sha256.
    ...(options.endpoint !== undefined
      ? { requestChecksumCalculation: "WHEN_REQUIRED", responseChecksumValidation: "WHEN_REQUIRED" }
      : {}),
  });

  try {
    // A one-key listing rather than HeadBucket: HEAD answers carry no error code, so a bad key, a
    // missing bucket and a denied one would all look alike. list() needs this permission anyway.
    await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 1 }));
  } catch (e) {
    client.destroy();
    throw toS3Error(e, place);
  }
  try {
    await mkdir(tmpRoot, { recursive: true });
  } catch (e) {
    client.destroy();
    throw writeError(e, `the temp folder ${tmpRoot}`);
  }
  await removeStaleTempFiles(tmpRoot);

  const keyOf = (id: string): string =>
    `${prefix === "" ? "" : `${prefix}/`}${id.slice(0, 2)}/${id.slice(2)}`;

  async function headSize(id: string): Promise<number | undefined> {
    try {
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: keyOf(id) }));
      return head.ContentLength ?? 0;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw toS3Error(e, place);
    }
  }

  async function put(source: Readable | Uint8Array): Promise<BlobInfo> {
    // The id is only known once every byte is hashed, so the bytes wait in a temp file rather
    // than in memory; the key is then written once, whole.
    const tmpPath = join(tmpRoot, `${randomBytes(8).toString("hex")}.part`);
    const hasher = createHashingStream();
    try {
      try {
        await pipeline(
          toReadable(source),
          hasher.stream,
          createWriteStream(tmpPath, { flags: "wx", highWaterMark: IO_CHUNK }),
        );
      } catch (e) {
        throw writeError(e, `the temp folder ${tmpRoot}`);
      }
      const { id, size } = hasher.digest();
      const existing = await headSize(id);
      // An object of another size under this key is damaged; uploading replaces it.
      if (existing === size) return { id, size, created: false };
      const upload = new Upload({
        client,
        params: {
          Bucket: bucket,
          Key: keyOf(id),
          Body: createReadStream(tmpPath, { highWaterMark: IO_CHUNK }),
        },
        partSize: PART_SIZE,
        queueSize: QUEUE_SIZE,
        // We abort ourselves: when lib-storage's own abort fails it throws that failure instead of
        // the one that broke the upload.
        leavePartsOnError: true,
      });
      try {
        await upload.done();
      } catch (e) {
        // A multipart upload becomes an object only when completed, so the key never holds partial
        // bytes; aborting frees the parts. Parts an abort cannot free stay invisible until the
        // bucket's AbortIncompleteMultipartUpload lifecycle rule removes them.
        if (upload.uploadId !== undefined) {
          await client
            .send(
              new AbortMultipartUploadCommand({ Bucket: bucket, Key: keyOf(id), UploadId: upload.uploadId }),
            )
            .catch(() => undefined);
        }
        throw toS3Error(e, place);
      }
      return { id, size, created: true };
    } finally {
      await rm(tmpPath, { force: true });
    }
  }

  /**
   * The bytes are in memory and the ids known, so each missing blob is one PutObject (no temp
   * file, no second hash), several in flight: many small blobs cost one round trip each, in parallel.
   */
  async function putMany(items: readonly BlobWrite[]): Promise<BlobInfo[]> {
    for (const item of items) assertContentId(item.id);
    const out = items.map((item) => ({ id: item.id, size: item.bytes.length, created: false }));
    const first = new Map<string, number>();
    items.forEach((item, i) => {
      if (!first.has(item.id)) first.set(item.id, i);
    });
    const todo = [...first.values()];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < todo.length) {
        const i = todo[next++]!;
        const item = items[i]!;
        if ((await headSize(item.id)) === item.bytes.length) continue;
        try {
          await client.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: keyOf(item.id),
              Body: item.bytes,
              ContentLength: item.bytes.length,
            }),
          );
        } catch (e) {
          throw toS3Error(e, place);
        }
        out[i]!.created = true;
      }
    };
    await Promise.all(Array.from({ length: Math.min(QUEUE_SIZE * 2, todo.length) }, worker));
    return out;
  }

  function get(id: string): Readable {
    assertContentId(id);
    const verifier = createVerifier(id, location);
    const abort = new AbortController();
    let body: Readable | undefined;
    // Whoever stops reading early frees the connection.
    verifier.once("close", () => {
      if (body === undefined) abort.abort();
      else body.destroy();
    });
    client.send(new GetObjectCommand({ Bucket: bucket, Key: keyOf(id) }), { abortSignal: abort.signal }).then(
      (out) => {
        if (!(out.Body instanceof Readable)) {
          verifier.destroy(
            new LoopmlError("INTERNAL", `S3 returned no stream for ${id} in ${location} (this is a bug).`),
          );
          return;
        }
        body = out.Body;
        if (verifier.destroyed) {
          body.destroy();
          return;
        }
        body.once("error", (e) => verifier.destroy(toS3Error(e, place)));
        body.pipe(verifier);
      },
      (e: unknown) => {
        if (verifier.destroyed) return;
        verifier.destroy(isNotFound(e) ? blobNotFound(id, location) : toS3Error(e, place));
      },
    );
    return verifier;
  }

  async function statBlob(id: string): Promise<number | undefined> {
    assertContentId(id);
    return headSize(id);
  }

  async function* list(): AsyncIterable<string> {
    const keyPrefix = prefix === "" ? "" : `${prefix}/`;
    try {
      for await (const page of paginateListObjectsV2(
        { client, pageSize: options.listPageSize ?? 1000 },
        { Bucket: bucket, Prefix: keyPrefix },
      )) {
        for (const object of page.Contents ?? []) {
          // Foreign keys that share the prefix are not blobs and are skipped.
          const m = KEY_TAIL.exec(object.Key?.slice(keyPrefix.length) ?? "");
          if (m) yield `${m[1]}${m[2]}`;
        }
      }
    } catch (e) {
      throw toS3Error(e, place);
    }
  }

  async function deleteBlob(id: string): Promise<void> {
    assertContentId(id);
    try {
      // S3 answers 204 for an absent key, which is what the contract wants.
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: keyOf(id) }));
    } catch (e) {
      if (!isNotFound(e)) throw toS3Error(e, place);
    }
  }

  return completeBlobStore({
    location,
    put,
    putMany,
    get,
    stat: statBlob,
    list,
    delete: deleteBlob,
    close: () => {
      client.destroy();
      return Promise.resolve();
    },
  });
}

function invalid(message: string): LoopmlError {
  return new LoopmlError("INVALID_ARGUMENT", message);
}

/** Temp files of writers that died (kill -9) were never uploaded; old ones are swept here. */
async function removeStaleTempFiles(dir: string): Promise<void> {
  const cutoff = Date.now() - STALE_TMP_MS;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const p = join(dir, name);
    const s = await stat(p).catch(() => undefined);
    if (s && s.mtimeMs < cutoff) await rm(p, { force: true });
  }
}
