// Metric ingestion over HTTP: the batching client logs N points into a SQLite-backed loopml server in its own process.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { createHttpTracking } from "../../src/tracking/http-client.ts";

export interface IngestResult {
  readonly points: number;
  readonly seconds: number;
  readonly pointsPerSecond: number;
  readonly batchSize: number;
  readonly requests: number;
  readonly runs: number;
  /** CPU seconds spent by the client (this process) and the server process while logging. */
  readonly clientCpuSeconds: number;
  readonly serverCpuSeconds: number;
  readonly pointsPerCpuSecond: number;
}

const KEYS = ["loss", "val_loss", "auc", "val_auc", "lr", "grad_norm", "acc", "val_acc", "f1", "precision"];

/**
 * The server runs as `loopml server` would, in a process of its own, so the client's work (training
 * code, batching, encoding) and the server's (parsing, validating, writing) proceed side by side.
 */
export async function benchIngest(
  dir: string,
  points: number,
  batchSize = 5000,
  runs = 4,
): Promise<IngestResult> {
  const server = spawn(
    process.execPath,
    [
      ...(process.env["BENCH_SERVER_NODE_ARGS"]?.split(" ") ?? []),
      "--import",
      "tsx",
      new URL("./ingest-server.ts", import.meta.url).pathname,
      dir,
    ],
    {
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  const lines = createInterface({ input: server.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done === true) throw new Error("the ingest server exited before printing its URL");
  const url = first.value;
  try {
    const client = createHttpTracking({ url });
    const perRun = Math.ceil(points / runs);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    // Several runs log at once, as parallel training jobs would; each run's batches stay in order.
    await Promise.all(
      Array.from({ length: runs }, async (_, r) => {
        const run = await client.startRun({ experiment: "ingest-bench", name: `run-${r}`, batchSize });
        for (let i = 0; i < perRun; i++) {
          const step = Math.floor(i / KEYS.length);
          await run.logMetric(KEYS[i % KEYS.length] as string, Math.sin(i) + step * 1e-6, step);
        }
        await run.end();
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    server.stdin.end();
    const last = await lines.next();
    const serverCpuSeconds =
      last.done === true
        ? Number.NaN
        : (JSON.parse(last.value) as { serverCpuSeconds: number }).serverCpuSeconds;
    const clientCpuSeconds = (cpu.user + cpu.system) / 1e6;
    const total = perRun * runs;
    return {
      points: total,
      seconds,
      pointsPerSecond: total / seconds,
      batchSize,
      requests: Math.ceil(perRun / batchSize) * runs,
      runs,
      clientCpuSeconds,
      serverCpuSeconds,
      pointsPerCpuSecond: total / (clientCpuSeconds + serverCpuSeconds),
    };
  } finally {
    if (server.exitCode === null) server.stdin.end();
  }
}
