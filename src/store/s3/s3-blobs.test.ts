// The S3 blob backend against a real s3rver: the shared contract, URI parsing, failures and multipart uploads.
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  S3RVER_CREDENTIALS,
  S3RVER_REGION,
  startS3rver,
  type S3rverHandle,
} from "../../../test/setup/s3rver.ts";
import { isLoopmlError } from "../../errors.ts";
import { readAll } from "../blob-common.ts";
import { testBlobStore } from "../contract/blobs.contract.ts";
import { createS3Blobs, parseS3Uri, type S3BlobsOptions } from "./s3-blobs.ts";

let s3: S3rverHandle;
let raw: S3Client;
let tmp: string;
let stores = 0;

beforeAll(async () => {
  s3 = await startS3rver();
  raw = new S3Client({
    endpoint: s3.endpoint,
    region: S3RVER_REGION,
    credentials: S3RVER_CREDENTIALS,
    forcePathStyle: true,
  });
  tmp = await mkdtemp(join(tmpdir(), "loopml-s3-test-"));
});

afterAll(async () => {
  raw?.destroy();
  await s3?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Each store gets its own prefix, so it starts empty. */
function optionsFor(extra: Partial<S3BlobsOptions> = {}): S3BlobsOptions {
  stores++;
  return {
    bucket: s3.bucket,
    prefix: `t${stores}/objects`,
    endpoint: s3.endpoint,
    region: S3RVER_REGION,
    credentials: S3RVER_CREDENTIALS,
    tmpDir: tmp,
    ...extra,
  };
}

testBlobStore("s3 (s3rver)", {
  create: () => createS3Blobs(optionsFor()),
  corrupt: async (store, id) => {
    const key = `${store.location.slice(`s3://${s3.bucket}/`.length)}/${id.slice(0, 2)}/${id.slice(2)}`;
    await raw.send(
      new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: Buffer.from("tampered bytes") }),
    );
  },
  tmpDir: () => tmp,
});

describe("parseS3Uri", () => {
  it("reads bucket and prefix, and endpoint and region from the environment", () => {
    expect(parseS3Uri("s3://ml-artifacts/loopml/objects/", {})).toEqual({
      bucket: "ml-artifacts",
      prefix: "loopml/objects",
      region: "us-east-1",
    });
    expect(parseS3Uri("s3://ml-artifacts", { AWS_REGION: "eu-west-3" })).toEqual({
      bucket: "ml-artifacts",
      prefix: "",
      region: "eu-west-3",
    });
    expect(
      parseS3Uri("s3://b1k/p", {
        LOOPML_S3_ENDPOINT: "http://127.0.0.1:9000",
        AWS_ENDPOINT_URL: "http://x:1",
      }),
    ).toEqual({
      bucket: "b1k",
      prefix: "p",
      endpoint: "http://127.0.0.1:9000",
      region: "us-east-1",
      forcePathStyle: true,
    });
    expect(parseS3Uri("s3://b1k/p", { AWS_ENDPOINT_URL: "https://minio.local" }).endpoint).toBe(
      "https://minio.local",
    );
  });

  it.each([
    ["file:objects", /not an s3:\/\/ URI/],
    ["s3:/bucket/x", /not an s3:\/\/ URI/],
    ["s3://", /not a valid bucket name/],
    ["s3://Bad_Bucket/x", /not a valid bucket name/],
    ["s3://ab/x", /not a valid bucket name/],
    ["s3://bucket//x", /plain path segments/],
    ["s3://bucket/a/../b", /plain path segments/],
    ["s3://bucket/a?versionId=1", /plain path segments/],
  ])("rejects %s with INVALID_ARGUMENT and an example", (uri, message) => {
    const err = catchSync(() => parseS3Uri(uri, {}));
    expect(isLoopmlError(err, "INVALID_ARGUMENT")).toBe(true);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toMatch(/s3:\/\/my-bucket\/loopml\/objects|http:\/\/127\.0\.0\.1:9000/);
  });

  it.each([
    ["s3://AKIAEXAMPLE:hunter2secret@bucket/x", {}],
    // AWS secret keys often contain "/", which ends a naive user:password@ match early.
    ["s3://AKIAEXAMPLE:hunter2/secret@bucket/x", {}],
    ["s3://bucket/x", { LOOPML_S3_ENDPOINT: "ftp://user:hunter2secret@h" }],
    ["s3://bucket/x", { AWS_ENDPOINT_URL: "http://user:hunter2/secret@h" }],
  ])("never repeats credentials written into %s or the endpoint", (uri, env: NodeJS.ProcessEnv) => {
    const err = catchSync(() => parseS3Uri(uri, env));
    expect(isLoopmlError(err, "INVALID_ARGUMENT")).toBe(true);
    expect((err as Error).message).not.toMatch(/hunter2|secret@|AKIAEXAMPLE/);
  });
});

describe('openBlobs("s3://…")', () => {
  it("takes the endpoint, region and keys from the environment", async () => {
    vi.stubEnv("LOOPML_S3_ENDPOINT", s3.endpoint);
    vi.stubEnv("AWS_REGION", S3RVER_REGION);
    vi.stubEnv("AWS_ACCESS_KEY_ID", S3RVER_CREDENTIALS.accessKeyId);
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", S3RVER_CREDENTIALS.secretAccessKey);
    try {
      const { openBlobs } = await import("../open.ts");
      const blobs = await openBlobs(`s3://${s3.bucket}/from-env`);
      try {
        const { id } = await blobs.put(Buffer.from("configured by env"));
        expect(blobs.location).toBe(`s3://${s3.bucket}/from-env`);
        expect((await blobs.getBytes(id)).toString()).toBe("configured by env");
      } finally {
        await blobs.close();
      }
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe("S3 failures", () => {
  it("answers UNAVAILABLE quickly, naming the endpoint and the fix, when nothing listens", async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const started = Date.now();
    const err = await createS3Blobs(
      optionsFor({ endpoint, connectionTimeoutMs: 500, idleTimeoutMs: 1_000 }),
    ).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(isLoopmlError(err, "UNAVAILABLE")).toBe(true);
    expect((err as Error).message).toContain(endpoint);
    expect((err as Error).message).toMatch(/LOOPML_S3_ENDPOINT/);
  });

  it("answers UNAVAILABLE when the endpoint accepts connections but never answers", async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const address = silent.address();
    const endpoint = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
    try {
      const started = Date.now();
      const err = await createS3Blobs(optionsFor({ endpoint, idleTimeoutMs: 300, maxAttempts: 2 })).catch(
        (e: unknown) => e,
      );
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(isLoopmlError(err, "UNAVAILABLE")).toBe(true);
      expect((err as Error).message).toContain(endpoint);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("answers UNAUTHENTICATED without printing the secret when the keys are wrong", async () => {
    const err = await createS3Blobs(
      optionsFor({
        credentials: { accessKeyId: "NOTAKEY", secretAccessKey: "hunter2secret" },
        maxAttempts: 1,
      }),
    ).catch((e: unknown) => e);
    expect(isLoopmlError(err, "UNAUTHENTICATED")).toBe(true);
    expect((err as Error).message).not.toMatch(/hunter2secret/);
  });

  it("answers FAILED_PRECONDITION with the fix when the bucket does not exist", async () => {
    const err = await createS3Blobs(optionsFor({ bucket: "no-such-bucket" })).catch((e: unknown) => e);
    expect(isLoopmlError(err, "FAILED_PRECONDITION")).toBe(true);
    expect((err as Error).message).toMatch(/aws s3 mb s3:\/\/no-such-bucket/);
  });
});

describe("S3 listing", () => {
  it("pages through every key and skips keys that are not blobs", async () => {
    const options = optionsFor({ listPageSize: 7 });
    const blobs = await createS3Blobs(options);
    try {
      const ids = Array.from({ length: 40 }, (_, i) =>
        createHash("sha256").update(`blob ${i}`).digest("hex"),
      );
      const keys = [
        ...ids.map((id) => `${options.prefix}/${id.slice(0, 2)}/${id.slice(2)}`),
        `${options.prefix}/README`,
      ];
      // Written behind the store's back: listing looks at keys only, and 40 verified puts would be slower.
      await Promise.all(
        keys.map((Key) => raw.send(new PutObjectCommand({ Bucket: s3.bucket, Key, Body: "x" }))),
      );
      const listed: string[] = [];
      for await (const id of blobs.list()) listed.push(id);
      expect(listed.sort()).toEqual([...ids].sort());
    } finally {
      await blobs.close();
    }
  });
});

describe("S3 large blobs", () => {
  it("uploads a > 16 MiB stream in 8 MiB parts and reads it back verified", async () => {
    const blobs = await createS3Blobs(optionsFor());
    try {
      const chunk = 1024 * 1024;
      const total = 17 * chunk + 123;
      const hash = createHash("sha256");
      const parts: Buffer[] = [];
      for (let sent = 0; sent < total; sent += chunk) {
        const part = randomBytes(Math.min(chunk, total - sent));
        hash.update(part);
        parts.push(part);
      }
      const expected = hash.digest("hex");
      const send = vi.spyOn(S3Client.prototype, "send");
      const info = await blobs.put(Readable.from(parts));
      const sent = send.mock.calls.map(([command]) => command.constructor.name);
      send.mockRestore();
      expect(info).toEqual({ id: expected, size: total, created: true });
      // 17 MiB in 8 MiB parts is 3 parts, joined only by the final CompleteMultipartUpload.
      expect(sent.filter((n) => n === "UploadPartCommand")).toHaveLength(3);
      expect(sent.at(-1)).toBe("CompleteMultipartUploadCommand");
      expect(sent).not.toContain("PutObjectCommand");

      const head = await raw.send(
        new HeadObjectCommand({
          Bucket: s3.bucket,
          Key: `${keyPrefix(blobs.location)}/${expected.slice(0, 2)}/${expected.slice(2)}`,
        }),
      );
      expect(head.ContentLength).toBe(total);

      const back = await readAll(blobs.get(expected));
      expect(createHash("sha256").update(back).digest("hex")).toBe(expected);
      expect((await blobs.put(Readable.from(parts))).created).toBe(false);
    } finally {
      await blobs.close();
    }
  });

  it("aborts a multipart upload that fails midway: no object, no temp file", async () => {
    const putTmp = join(tmp, "failing-upload");
    const blobs = await createS3Blobs(optionsFor({ tmpDir: putTmp }));
    type Send = (this: S3Client, ...args: Parameters<S3Client["send"]>) => Promise<unknown>;
    const original = Reflect.get(S3Client.prototype, "send") as Send;
    let partsSeen = 0;
    const send = vi.spyOn(S3Client.prototype, "send").mockImplementation(function (
      this: S3Client,
      ...args: Parameters<S3Client["send"]>
    ) {
      if (args[0].constructor.name === "UploadPartCommand" && ++partsSeen === 2) {
        return Promise.reject(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }));
      }
      return original.apply(this, args) as never;
    } as never);
    try {
      const bytes = randomBytes(17 * 1024 * 1024);
      const id = createHash("sha256").update(bytes).digest("hex");
      const err = await blobs.put(bytes).catch((e: unknown) => e);
      const sent = send.mock.calls.map(([command]) => command.constructor.name);
      send.mockRestore();
      expect(isLoopmlError(err, "UNAVAILABLE")).toBe(true);
      expect(sent).toContain("AbortMultipartUploadCommand");
      expect(sent).not.toContain("CompleteMultipartUploadCommand");
      expect(await blobs.has(id)).toBe(false);
      expect(await readdir(join(putTmp, "loopml-s3-put"))).toEqual([]);
    } finally {
      send.mockRestore();
      await blobs.close();
    }
  });
});

function keyPrefix(location: string): string {
  return location.slice(`s3://${s3.bucket}/`.length);
}

function catchSync(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

/** A port that was free a moment ago and has nothing listening on it. */
async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
