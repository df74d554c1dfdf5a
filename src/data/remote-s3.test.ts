// data push/pull against a real S3 endpoint (s3rver): only missing chunks, resumable after kill -9, small files batched.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  startS3rver,
  S3RVER_CREDENTIALS,
  S3RVER_REGION,
  type S3rverHandle,
} from "../../test/setup/s3rver.ts";
import { makeTempDir } from "../../test/setup/tmp.ts";
import { silentLogger } from "../_internal/logger.ts";
import { createS3Blobs } from "../store/s3/s3-blobs.ts";
import type { BlobStore } from "../store/types.ts";
import { openWorkspace, type Workspace } from "../workspace.ts";
import { blobsOf } from "./manifest.ts";
import { createDataService } from "./service.ts";

const BIN = join(import.meta.dirname, "..", "..", "bin", "loopml.js");

let s3: S3rverHandle;
let env: NodeJS.ProcessEnv;
const saved: Record<string, string | undefined> = {};
let tmp: { path: string; remove(): void };
const open: Workspace[] = [];

beforeAll(async () => {
  s3 = await startS3rver();
  env = {
    LOOPML_S3_ENDPOINT: s3.endpoint,
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    AWS_REGION: S3RVER_REGION,
  };
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
}, 30_000);
afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await s3.stop();
});
beforeEach(() => {
  tmp = makeTempDir();
});
afterEach(async () => {
  for (const ws of open.splice(0)) await ws.close();
  tmp.remove();
});

async function project(name: string): Promise<{ dir: string; ws: Workspace }> {
  const dir = join(tmp.path, name);
  await mkdir(join(dir, "data"), { recursive: true });
  const ws = await openWorkspace({ dir, logger: silentLogger, env: {} });
  open.push(ws);
  return { dir, ws };
}

/** Runs `fn` on the test bucket's blob store under `prefix`, closed afterwards. */
async function withRemote<T>(prefix: string, fn: (blobs: BlobStore) => Promise<T>): Promise<T> {
  const blobs = await createS3Blobs({
    bucket: s3.bucket,
    prefix,
    endpoint: s3.endpoint,
    region: S3RVER_REGION,
    credentials: S3RVER_CREDENTIALS,
  });
  try {
    return await fn(blobs);
  } finally {
    await blobs.close();
  }
}

/** How many of `ids` on the remote have their local size: what really arrived, not a torn write. */
function completeIds(prefix: string, ids: Set<string>, local: BlobStore): Promise<number> {
  return withRemote(prefix, async (blobs) => {
    let n = 0;
    for (const id of ids) if ((await blobs.stat(id)) === (await local.stat(id))) n++;
    return n;
  });
}

function remoteIds(prefix: string): Promise<Set<string>> {
  return withRemote(prefix, async (blobs) => {
    const out = new Set<string>();
    for await (const id of blobs.list()) out.add(id);
    return out;
  });
}

/** Deterministic incompressible bytes (xorshift32), so chunk boundaries are the same on every run. */
function seededBytes(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

describe("data push / pull with S3", () => {
  it("sends only missing chunks, batches small files into packs, and a clone pulls them back", async () => {
    const { dir, ws } = await project("proj");
    const data = createDataService(ws);
    const uri = `s3://${s3.bucket}/only-missing`;
    // Seeded, and large enough for several ~1 MiB chunks: with 3 random MiB the file was sometimes one chunk,
    // and an append then rewrote all of it.
    const big = seededBytes(12 << 20, 7);
    await writeFile(join(dir, "data", "big.bin"), big);
    await data.add("data/big.bin");
    const first = await data.push(uri);
    expect(first.copied).toBe(first.blobs);
    expect(blobsOf((await data.show("big@1")).manifest).size).toBeGreaterThanOrEqual(4);
    expect((await remoteIds("only-missing")).size).toBe(first.blobs);

    // an append changes only the last chunk: the second push sends that and the new manifest
    await writeFile(join(dir, "data", "big.bin"), Buffer.concat([big, seededBytes(10_000, 8)]));
    await data.add("data/big.bin");
    const second = await data.push(uri);
    const v1 = blobsOf((await data.show("big@1")).manifest);
    const v2 = blobsOf((await data.show("big@2")).manifest);
    const newInV2 = [...v2].filter((id) => !v1.has(id)).length;
    expect(second.copied).toBe(newInV2 + 1);
    expect(second.copied).toBeLessThan(v2.size);
    expect((await data.push(uri)).copied).toBe(0);

    // 1000 small files: a handful of pack blobs, not 1000 objects or round trips
    for (let d = 0; d < 2; d++) {
      await mkdir(join(dir, "data", "small", `d${d}`), { recursive: true });
      for (let i = 0; i < 500; i++) {
        await writeFile(join(dir, "data", "small", `d${d}`, `f${i}.txt`), `file ${d}/${i}\n`.repeat(50));
      }
    }
    await data.add("data/small");
    const before = (await remoteIds("only-missing")).size;
    const small = await data.push(uri, { name: "small" });
    expect(small.copied).toBeLessThanOrEqual(3);
    expect((await remoteIds("only-missing")).size).toBe(before + small.copied);

    // a fresh clone with only the pointer files pulls both datasets and checks them out exactly
    const clone = await project("clone");
    await mkdir(join(clone.dir, "data"), { recursive: true });
    for (const p of ["big.loopml.json", "small.loopml.json"]) {
      await writeFile(join(clone.dir, "data", p), await readFile(join(dir, "data", p)));
    }
    const cloneData = createDataService(clone.ws);
    const pulled = await cloneData.pull(uri);
    expect([...pulled.imported].sort()).toEqual(["big@2", "small@1"]);
    await cloneData.checkout("big");
    await cloneData.checkout("small");
    expect(
      (await readFile(join(clone.dir, "data", "big.bin"))).equals(
        await readFile(join(dir, "data", "big.bin")),
      ),
    ).toBe(true);
    expect(await readFile(join(clone.dir, "data", "small", "d1", "f499.txt"), "utf8")).toBe(
      "file 1/499\n".repeat(50),
    );
    expect((await cloneData.pull(uri)).copied).toBe(0);
  }, 60_000);

  it("resumes a push killed midway: the re-push sends only what is missing, manifest last", async () => {
    const { dir, ws } = await project("killed");
    const data = createDataService(ws);
    await writeFile(join(dir, "data", "big.bin"), randomBytes(24 << 20));
    const { version } = await data.add("data/big.bin");
    const needed = blobsOf((await data.show("big@1")).manifest);
    const uri = `s3://${s3.bucket}/resume`;

    const child = spawn(process.execPath, [BIN, "data", "push", "--remote", uri, "--json"], {
      cwd: dir,
      env: { ...process.env, ...env, LOOPML_STORE: undefined, LOOPML_ARTIFACTS: undefined },
      stdio: "ignore",
    });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    try {
      // kill -9 as soon as the first chunk has landed
      for (;;) {
        if (child.exitCode !== null) throw new Error("the push finished before it could be interrupted");
        if ((await remoteIds("resume")).size > 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      child.kill("SIGKILL");
      await exited;
    }
    const landed = await remoteIds("resume");
    expect(landed.size).toBeGreaterThan(0);
    expect(landed.size).toBeLessThan(needed.size + 1);
    // data before manifests: an interrupted push never leaves a version whose chunks are missing
    expect(landed.has(version.id)).toBe(false);

    // an upload cut by the kill can leave a torn object behind: the push sends it again
    const complete = await completeIds("resume", landed, ws.blobs);
    const resumed = await data.push(uri);
    expect(resumed.blobs).toBe(needed.size + 1);
    expect(resumed.copied).toBe(resumed.blobs - complete);
    const all = await remoteIds("resume");
    for (const id of [...needed, version.id]) expect(all.has(id)).toBe(true);
  }, 90_000);
});
