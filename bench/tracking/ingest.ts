// Metric ingestion over HTTP: the batching client logs N points into a SQLite-backed loopml server on a real socket.
import { join } from "node:path";
import { createApp } from "../../src/server/app.ts";
import { createHttpTracking } from "../../src/tracking/http-client.ts";
import { openWorkspace } from "../../src/workspace.ts";

export interface IngestResult {
  readonly points: number;
  readonly seconds: number;
  readonly pointsPerSecond: number;
  readonly batchSize: number;
  readonly requests: number;
  readonly runs: number;
}

export async function benchIngest(
  dir: string,
  points: number,
  batchSize = 5000,
  runs = 4,
): Promise<IngestResult> {
  const ws = await openWorkspace({
    dir,
    store: `sqlite:${join(dir, "ingest.db")}`,
    artifacts: `file:${join(dir, "objects")}`,
  });
  const app = await createApp({ workspace: ws, auth: { allowAnonymous: true } });
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  try {
    const client = createHttpTracking({ url });
    const keys = [
      "loss",
      "val_loss",
      "auc",
      "val_auc",
      "lr",
      "grad_norm",
      "acc",
      "val_acc",
      "f1",
      "precision",
    ];
    const perRun = Math.ceil(points / runs);
    const t0 = performance.now();
    // Several runs log at once, as parallel training jobs would; each run's batches stay in order.
    await Promise.all(
      Array.from({ length: runs }, async (_, r) => {
        const run = await client.startRun({ experiment: "ingest-bench", name: `run-${r}`, batchSize });
        for (let i = 0; i < perRun; i++) {
          const step = Math.floor(i / keys.length);
          await run.logMetric(keys[i % keys.length] as string, Math.sin(i) + step * 1e-6, step);
        }
        await run.end();
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const total = perRun * runs;
    return {
      points: total,
      seconds,
      pointsPerSecond: total / seconds,
      batchSize,
      requests: Math.ceil(perRun / batchSize) * runs,
      runs,
    };
  } finally {
    await app.close();
    await ws.close();
  }
}
