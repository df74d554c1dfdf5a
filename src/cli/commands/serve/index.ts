// loopml serve MODEL_FILE…: the prediction server alone (loopml, MLflow and Open Inference V2 protocols).
import cluster from "node:cluster";
import { basename, extname } from "node:path";
import { performance } from "node:perf_hooks";
import type { Command } from "commander";
import Fastify from "fastify";
import { LoopmlError } from "../../../errors.ts";
import { DEFAULT_BATCHING } from "../../../serving/batcher.ts";
import { DEFAULT_LIMITS } from "../../../serving/decode.ts";
import type { ServedModelSpec } from "../../../serving/models.ts";
import { loadRuntimeFromFile } from "../../../serving/runtimes/load.ts";
import { registerServingRoutes } from "../../../serving/server.ts";

interface ServeOptions {
  port: number;
  host: string;
  name?: string;
  modelVersion: string;
  alias: string[];
  maxBatch: number;
  maxWaitMs: number;
  maxQueue: number;
  maxRows: number;
  workers: number;
  accessLog: boolean;
}

export function registerServeCommand(program: Command): void {
  program
    .command("serve")
    .description("serve model files over HTTP: /v1/models/NAME/predict, /invocations, /v2 (KServe), /metrics")
    .argument("<models...>", "model files (XGBoost JSON or loopml GBDT JSON), optionally as NAME=FILE")
    .option("-p, --port <port>", "port to listen on", parseCount, 8080)
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--name <name>", "model name when serving one file (default: the file name)")
    .option("--model-version <v>", "version reported for the model(s)", "1")
    .option("--alias <alias...>", 'aliases that NAME@ALIAS resolves, e.g. "production"', [])
    .option(
      "--max-batch <rows>",
      "most rows merged into one predict call",
      parseCount,
      DEFAULT_BATCHING.maxBatchRows,
    )
    .option(
      "--max-wait-ms <ms>",
      "how long a request waits for others to batch with (0: adaptive)",
      parseCount,
      DEFAULT_BATCHING.maxWaitMs,
    )
    .option(
      "--max-queue <rows>",
      "rows allowed to wait before answering 503",
      parseCount,
      DEFAULT_BATCHING.maxQueueRows,
    )
    .option("--max-rows <rows>", "most rows in one request (413 beyond)", parseCount, DEFAULT_LIMITS.maxRows)
    .option("--workers <n>", "server processes sharing the port (one per core is typical)", parseCount, 1)
    .option("--no-access-log", "do not write a JSON access log line per request")
    .addHelpText(
      "after",
      `\nExample:\n  loopml serve churn=model.json --port 8080 --alias production\n  curl -s localhost:8080/v1/models/churn@production/predict -d '{"instances": [[0.1, 2, 3]]}' -H 'content-type: application/json'`,
    )
    .exitOverride()
    .action(async (files: string[], opts: ServeOptions) => {
      if (opts.workers > 1 && cluster.isPrimary) return runPrimary(opts.workers);
      await runServer(files, opts);
    });
}

async function runServer(files: string[], opts: ServeOptions): Promise<void> {
  if (opts.name !== undefined && files.length !== 1) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      "--name applies to a single model; write NAME=FILE for each of several.",
    );
  }
  const specs: ServedModelSpec[] = [];
  for (const arg of files) {
    const eq = arg.indexOf("=");
    const file = eq > 0 ? arg.slice(eq + 1) : arg;
    const name = eq > 0 ? arg.slice(0, eq) : (opts.name ?? basename(file, extname(file)));
    const started = performance.now();
    const runtime = await loadRuntimeFromFile(file);
    specs.push({
      name,
      version: opts.modelVersion,
      aliases: opts.alias,
      runtime,
      loadSeconds: (performance.now() - started) / 1000,
    });
  }
  const app = Fastify({ logger: opts.accessLog, bodyLimit: 32 * 1024 * 1024 });
  await registerServingRoutes(app, {
    models: specs,
    limits: { maxRows: opts.maxRows },
    batching: { maxBatchRows: opts.maxBatch, maxWaitMs: opts.maxWaitMs, maxQueueRows: opts.maxQueue },
  });
  const address = await app.listen({ port: opts.port, host: opts.host });
  if (!cluster.isWorker || cluster.worker?.id === 1) {
    const list = specs.map((s) => `${s.name} (${s.runtime.kind}, version ${s.version})`).join(", ");
    process.stderr.write(`serving ${list} on ${address}\n`);
  }
  await stopSignal();
  await app.close();
}

/** Forks the workers and waits; each worker loads the models and shares the listening port. */
async function runPrimary(workers: number): Promise<void> {
  for (let i = 0; i < workers; i++) cluster.fork();
  const stop = stopSignal();
  cluster.on("exit", (worker, code) => {
    if (code !== 0) process.stderr.write(`serve worker ${worker.id} exited with ${code}\n`);
  });
  await stop;
  for (const w of Object.values(cluster.workers ?? {})) w?.kill("SIGTERM");
}

function stopSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
}

function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw new LoopmlError("INVALID_ARGUMENT", `"${value}" is not a whole number; pass e.g. 8080.`);
  }
  return n;
}
