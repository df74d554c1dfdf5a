// The S3 endpoint goes down in the middle of `loopml data push`: the push ends soon with a clear error (no hang, no
// stack, no keys), no version lands without its chunks, and once the endpoint is back the same push sends only
// what is missing and a fresh clone checks the data out byte for byte. A frozen endpoint (accepts connections,
// never answers) also ends the push within the retry budget instead of hanging.
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { openBlobs } from "../../src/store/open.ts";
import { createS3Blobs } from "../../src/store/s3/s3-blobs.ts";
import { startS3rver, S3RVER_CREDENTIALS, S3RVER_REGION, type S3rverHandle } from "../setup/s3rver.ts";
import { makeTempDir } from "../setup/tmp.ts";
import { loopmlOk, runLoopml, startLoopml, until, type LoopmlChild } from "../scale/procs.ts";

const tmp = makeTempDir("loopml-fault-s3-");
const running = new Set<S3rverHandle>();
afterAll(async () => {
  for (const s3 of running) await s3.stop();
  tmp.remove();
});

const PREFIX = "outage";

interface Scene {
  readonly cwd: string;
  readonly s3: S3rverHandle;
  readonly env: NodeJS.ProcessEnv;
  readonly uri: string;
  readonly versionId: string;
  readonly push: LoopmlChild;
}

function envFor(s3: S3rverHandle): NodeJS.ProcessEnv {
  return {
    LOOPML_S3_ENDPOINT: s3.endpoint,
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    AWS_REGION: S3RVER_REGION,
  };
}

async function startS3(options: { directory: string; port?: number }): Promise<S3rverHandle> {
  const s3 = await startS3rver(options);
  running.add(s3);
  return s3;
}

async function stopS3(s3: S3rverHandle): Promise<void> {
  running.delete(s3);
  await s3.stop();
}

/**
 * Objects s3rver has finished receiving under the prefix (it writes an object's metadata after its
 * content), counted on its disk so that polling costs it nothing.
 */
function objectsOnDisk(s3: S3rverHandle): number {
  const root = join(s3.directory, s3.bucket, PREFIX);
  try {
    return readdirSync(root, { recursive: true }).filter((f) => String(f).endsWith("._S3rver_metadata.json"))
      .length;
  } catch {
    return 0;
  }
}

/** A project with a 32 MiB dataset (~32 chunks, far more than the 8 a push sends at once) and a push under way that has landed a few. */
async function pushUnderWay(name: string): Promise<Scene> {
  const cwd = join(tmp.path, name);
  mkdirSync(join(cwd, "data"), { recursive: true });
  const s3 = await startS3({ directory: join(tmp.path, `${name}-s3`) });
  const env = envFor(s3);
  writeFileSync(join(cwd, "data", "big.bin"), randomBytes(32 << 20));
  const added = JSON.parse(await loopmlOk(["data", "add", "data/big.bin", "--json"], { cwd, env })) as {
    version: { id: string };
  };
  const uri = `s3://${s3.bucket}/${PREFIX}`;
  const push = startLoopml(["data", "push", "--remote", uri, "--json"], { cwd, env });
  await until("the first chunks to land", () => objectsOnDisk(s3) >= 2 || push.child.exitCode !== null);
  expect(push.child.exitCode, "the push finished before the endpoint could be stopped").toBeNull();
  return { cwd, s3, env, uri, versionId: added.version.id, push };
}

/**
 * S3's PUT is atomic; s3rver stopped mid-write can leave an object whose metadata is missing or cut,
 * which makes its listings answer 500. Removing those files gives the endpoint S3's view on restart.
 */
function dropTornObjects(s3: S3rverHandle): void {
  const root = join(s3.directory, s3.bucket, PREFIX);
  for (const f of readdirSync(root, { recursive: true }).map(String)) {
    if (!f.endsWith("._S3rver_object")) continue;
    const meta = join(root, f.replace(/\._S3rver_object$/, "._S3rver_metadata.json"));
    try {
      JSON.parse(readFileSync(meta, "utf8"));
    } catch {
      rmSync(join(root, f), { force: true });
      rmSync(meta, { force: true });
    }
  }
}

/** The JSON error a failed `--json` command printed last. */
function lastError(output: string): { code: string; message: string } {
  return (JSON.parse(output.trim().split("\n").at(-1) ?? "") as { error: { code: string; message: string } })
    .error;
}

/** Blob ids on the remote whose size is the local one: what really arrived (not a torn write). */
async function completeOnRemote(s3: S3rverHandle, project: string): Promise<Set<string>> {
  const remote = await createS3Blobs({
    bucket: s3.bucket,
    prefix: PREFIX,
    endpoint: s3.endpoint,
    region: S3RVER_REGION,
    credentials: S3RVER_CREDENTIALS,
  });
  const local = await openBlobs(`file:${join(project, ".loopml", "objects")}`);
  try {
    const out = new Set<string>();
    for await (const id of remote.list()) {
      if ((await remote.stat(id)) === (await local.stat(id))) out.add(id);
    }
    return out;
  } finally {
    await remote.close();
    await local.close();
  }
}

it("[slow] S3 endpoint down during data push: clear error soon, no torn version, the re-push resumes", async () => {
  const { cwd, s3, env, uri, versionId, push } = await pushUnderWay("stopped");
  await stopS3(s3);
  const downAt = Date.now();
  const status = await push.exited;
  const failedAfterMs = Date.now() - downAt;

  expect(status).toBe(1);
  // a refused connection is retried with backoff and then reported, within seconds (wide margin: loaded machine)
  expect(failedAfterMs).toBeLessThan(30_000);
  const output = push.output();
  const error = lastError(output);
  expect(error.code).toBe("UNAVAILABLE");
  expect(error.message).toContain(uri);
  expect(error.message).toContain(s3.endpoint);
  expect(error.message).toMatch(/cannot reach/i);
  expect(error.message).toMatch(/run the same push again/i);
  expect(output).not.toMatch(/\n\s+at /);
  expect(output).not.toContain(S3RVER_CREDENTIALS.secretAccessKey);

  // the endpoint comes back on the same port with what it had
  dropTornObjects(s3);
  const back = await startS3({ directory: s3.directory, port: s3.port });
  const landed = await completeOnRemote(back, cwd);
  expect(landed.size).toBeGreaterThan(0);
  // data before manifests: the version is not on the remote without its chunks
  expect(landed.has(versionId)).toBe(false);

  const resumed = JSON.parse(await loopmlOk(["data", "push", "--remote", uri, "--json"], { cwd, env })) as {
    blobs: number;
    copied: number;
  };
  expect(resumed.copied).toBe(resumed.blobs - landed.size);
  expect(resumed.copied).toBeLessThan(resumed.blobs);
  expect((await completeOnRemote(back, cwd)).size).toBe(resumed.blobs);

  // a fresh clone with only the pointer file pulls and checks out the same bytes
  const clone = join(tmp.path, "clone");
  mkdirSync(join(clone, "data"), { recursive: true });
  writeFileSync(join(clone, "data", "big.loopml.json"), readFileSync(join(cwd, "data", "big.loopml.json")));
  await loopmlOk(["data", "pull", "--remote", uri, "--json"], { cwd: clone, env });
  await loopmlOk(["data", "checkout", "big", "--json"], { cwd: clone, env });
  expect(
    readFileSync(join(clone, "data", "big.bin")).equals(readFileSync(join(cwd, "data", "big.bin"))),
  ).toBe(true);
  const verify = await runLoopml(["audit", "verify", "--json"], { cwd, env });
  expect((JSON.parse(verify.stdout) as { ok: boolean }).ok).toBe(true);
}, 120_000);

it("[slow] a frozen S3 endpoint (connections accepted, never answered) ends the push within the retry budget", async () => {
  const { s3, push } = await pushUnderWay("frozen");
  process.kill(s3.pid, "SIGSTOP");
  const frozenAt = Date.now();
  try {
    const status = await push.exited;
    const failedAfterMs = Date.now() - frozenAt;
    expect(status).toBe(1);
    // 3 attempts × 5 s of silence ≈ 15 s; the margin is for the loaded machine, the point is "not minutes"
    expect(failedAfterMs).toBeLessThan(30_000);
    const error = lastError(push.output());
    expect(error.code).toBe("UNAVAILABLE");
    expect(error.message).toContain(s3.endpoint);
    expect(error.message).toMatch(/run the same push again/i);
  } finally {
    process.kill(s3.pid, "SIGCONT");
    await stopS3(s3);
  }
}, 120_000);
