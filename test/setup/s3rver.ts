// Starts a throwaway s3rver (local S3) on a free loopback port for tests that need a real S3 endpoint.
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";

/** s3rver accepts only these keys; they are test fixtures, not secrets. */
export const S3RVER_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;
export const S3RVER_REGION = "us-east-1";

export interface S3rverHandle {
  /** http://127.0.0.1:PORT */
  readonly endpoint: string;
  /** A bucket created at start. */
  readonly bucket: string;
  /** Where the objects live on disk. */
  readonly directory: string;
  readonly port: number;
  /** The server process, e.g. to freeze it with SIGSTOP. */
  readonly pid: number;
  /** Kills the server by PID and removes its data folder (unless the caller passed `directory`). */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 20_000;

/**
 * @example
 * const s3 = await startS3rver();
 * const blobs = await createS3Blobs({ bucket: s3.bucket, prefix: "t", endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS });
 * await s3.stop();
 */
export async function startS3rver(
  options: {
    bucket?: string;
    /** Reuse a data folder (kept on stop), e.g. to restart a stopped endpoint with its objects. */
    directory?: string;
    /** A fixed port, e.g. the one of an endpoint stopped earlier; a free one when absent. */
    port?: number;
  } = {},
): Promise<S3rverHandle> {
  const bucket = options.bucket ?? "loopml-test";
  const dir = options.directory ?? (await mkdtemp(join(tmpdir(), "loopml-s3rver-")));
  const port = options.port ?? (await freePort());
  const script = join(
    dirname(createRequire(import.meta.url).resolve("s3rver/package.json")),
    "bin",
    "s3rver.js",
  );
  // Started with node directly so that child.pid is the server itself; without the legacy OpenSSL
  // provider s3rver's paginated listings fail with 500 on Node ≥ 17.
  const child = spawn(
    process.execPath,
    [
      "--openssl-legacy-provider",
      script,
      "--address",
      "127.0.0.1",
      "--port",
      String(port),
      "--directory",
      dir,
      "--silent",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr = (stderr + s).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // If the test process ends without calling stop() (a crash, an interrupted run), the server must
  // not outlive it on the shared machine.
  const killOnExit = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  process.once("exit", killOnExit);

  const stop = async (): Promise<void> => {
    process.off("exit", killOnExit);
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      process.kill(child.pid, "SIGTERM");
      await exited;
    }
    if (options.directory === undefined) await rm(dir, { recursive: true, force: true });
  };

  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitForPort(port, () => (child.exitCode !== null ? `s3rver exited early: ${stderr}` : undefined));
    const client = new S3Client({
      endpoint,
      region: S3RVER_REGION,
      credentials: S3RVER_CREDENTIALS,
      forcePathStyle: true,
    });
    try {
      await client.send(new CreateBucketCommand({ Bucket: bucket })).catch((e: unknown) => {
        // a restart on a kept folder finds its bucket already there
        if ((e as Error).name !== "BucketAlreadyExists" && (e as Error).name !== "BucketAlreadyOwnedByYou")
          throw e;
      });
    } finally {
      client.destroy();
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { endpoint, bucket, directory: dir, port, pid: child.pid ?? 0, stop };
}

async function freePort(): Promise<number> {
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

async function waitForPort(port: number, failure: () => string | undefined): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (await answers(port)) return;
    const reason = failure();
    if (reason !== undefined) throw new Error(reason);
    if (Date.now() > deadline)
      throw new Error(`s3rver did not answer on port ${port} within ${START_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
