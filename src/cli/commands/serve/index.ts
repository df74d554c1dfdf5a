// loopml serve MODEL…: the prediction server alone (loopml, MLflow and Open Inference V2 protocols), following registry aliases.
import cluster from "node:cluster";
import { performance } from "node:perf_hooks";
import type { Command } from "commander";
import Fastify, { type FastifyInstance } from "fastify";
import { LoopmlError } from "../../../errors.ts";
import { createRegistryEvents } from "../../../registry/events.ts";
import { createRegistryService } from "../../../registry/service.ts";
import { DEFAULT_BATCHING } from "../../../serving/batcher.ts";
import { DEFAULT_LIMITS } from "../../../serving/decode.ts";
import {
  createDeploymentService,
  retentionOf,
  splitModelRef,
  type DeploymentSpec,
} from "../../../serving/deployments.ts";
import {
  createFollower,
  headSeq,
  loadDeploymentSpec,
  loadEndpointSpec,
  type Binding,
  type Follower,
} from "../../../serving/follow.ts";
import { appendInferenceLog } from "../../../serving/inference-log.ts";
import { retentionAge, type LogRetention } from "../../../serving/log-retention.ts";
import type { ModelSet, ServedModelSpec } from "../../../serving/models.ts";
import { loadRuntimeFromFile } from "../../../serving/runtimes/load.ts";
import { registerServingRoutes, type ServingOptions } from "../../../serving/server.ts";
import type { Workspace } from "../../../workspace.ts";
import { isLoopback } from "../../../server/listen.ts";
import { withWorkspace } from "../../context.ts";
import { requireToken, servingGuard, type RequestGuard } from "./auth.ts";
import { startLogPruning } from "./log-pruning.ts";
import {
  parseCanary,
  parsePositive,
  parseRef,
  parseServeArgument,
  parseShare,
  type ServeSource,
} from "./plan.ts";

interface ServeOptions {
  allowAnonymous?: boolean;
  port: number;
  host: string;
  name?: string;
  modelVersion: string;
  alias: string[];
  deployment?: string;
  canary?: NonNullable<DeploymentSpec["canary"]>;
  shadow?: string;
  rollbackErrorDelta?: number;
  rollbackP99Ratio?: number;
  inferenceLog: boolean;
  logSampleRate: number;
  logMaxAge?: number;
  logMaxRows?: number;
  logLabelWindow?: number;
  logPruneMs: number;
  pollMs: number;
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
    .description(
      "serve models over HTTP (/v1/models/NAME/predict, /invocations, /v2 KServe, /metrics); NAME@ALIAS follows the registry and swaps in new versions without downtime",
    )
    .argument(
      "[models...]",
      "NAME@ALIAS of a registered model, or model files (XGBoost JSON, loopml GBDT JSON) as FILE or NAME=FILE",
    )
    .option("-p, --port <port>", "port to listen on", parseCount, 8080)
    .option(
      "--host <host>",
      "address to listen on; beyond 127.0.0.1 every request but the health probes needs an API token",
      "127.0.0.1",
    )
    .option(
      "--allow-anonymous",
      "serve a public address without tokens: only behind a gateway or mesh that authenticates callers",
    )
    .option(
      "--deployment <name>",
      "serve a stored deployment (its model, canary, shadow, rollback and logging) and follow its changes",
    )
    .option(
      "--canary <ref:share>",
      "also serve NAME@ALIAS for a share of traffic, e.g. churn@challenger:10% (sticky by the x-loopml-key header)",
      parseCanary,
    )
    .option(
      "--shadow <ref>",
      "send a copy of every request to NAME@ALIAS; its answers are logged, never returned",
      (v: string) => parseRef(v, "--shadow"),
    )
    .option(
      "--rollback-error-delta <d>",
      "roll the canary back when its error rate exceeds the primary's by more than this (e.g. 0.02)",
      (v: string) => parseShare(v, "--rollback-error-delta"),
    )
    .option(
      "--rollback-p99-ratio <r>",
      "roll the canary back when its p99 latency exceeds this × the primary's (e.g. 1.5)",
      (v: string) => parsePositive(v, "--rollback-p99-ratio"),
    )
    .option("--no-inference-log", "do not write predictions to the inference log (registered models only)")
    .option(
      "--log-sample-rate <rate>",
      "share of requests written to the inference log",
      (v: string) => parseShare(v, "--log-sample-rate"),
      1,
    )
    .option(
      "--log-max-age <span>",
      "prune inference-log batches older than this, e.g. 7d (default: a --deployment's logging.retention, else keep all)",
      (v: string) => retentionAge(/^\d+(\.\d+)?$/.test(v) ? Number(v) : v),
    )
    .option(
      "--log-max-rows <rows>",
      "prune inference-log batches beyond the newest N rows of each model (a monitor's window is always kept)",
      parseCount,
    )
    .option(
      "--log-label-window <span>",
      "keep a labelled model's predictions this long past --log-max-age/--log-max-rows so late labels still find them, e.g. 7d; 0 turns it off (default 30d)",
      (v: string) => (v === "0" ? 0 : retentionAge(/^\d+(\.\d+)?$/.test(v) ? Number(v) : v)),
    )
    .option("--log-prune-ms <ms>", "how often to prune the inference log", parseCount, 600_000)
    .option(
      "--poll-ms <ms>",
      "how often to look for alias and deployment changes made by other processes",
      parseCount,
      2000,
    )
    .option("--name <name>", "model name when serving one file (default: the file name)")
    .option("--model-version <v>", "version reported for model files", "1")
    .option("--alias <alias...>", 'aliases that NAME@ALIAS resolves for model files, e.g. "production"', [])
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
      `\nExamples:\n  loopml serve churn@production --canary churn@challenger:10% --rollback-error-delta 0.02 --rollback-p99-ratio 1.5\n  loopml serve --deployment web\n  loopml serve churn=model.json --port 8080 --alias production\n  curl -s localhost:8080/v1/models/churn@production/predict -H 'content-type: application/json' -d '{"instances": [[0.1, 2, 3]]}'`,
    )
    .exitOverride()
    .action(async (args: string[], opts: ServeOptions, cmd: Command) => {
      if (opts.workers > 1 && cluster.isPrimary) return runPrimary(opts.workers);
      const sources = args.map((a) => parseServeArgument(a, opts.name));
      if (sources.length === 0 && opts.deployment === undefined) {
        throw new LoopmlError(
          "INVALID_ARGUMENT",
          "Name what to serve: NAME@ALIAS, a model file, or --deployment NAME.",
        );
      }
      if (opts.name !== undefined && args.length !== 1) {
        throw new LoopmlError(
          "INVALID_ARGUMENT",
          "--name applies to a single model; write NAME=FILE for each of several.",
        );
      }
      const followsRegistry = opts.deployment !== undefined || sources.some((s) => s.kind === "registry");
      if (!followsRegistry) {
        if (opts.canary || opts.shadow) {
          throw new LoopmlError(
            "INVALID_ARGUMENT",
            "--canary and --shadow name registered models: serve NAME@ALIAS too.",
          );
        }
        const specs = await loadFiles(sources, opts);
        // Beyond 127.0.0.1 the tokens live in the project's store, so only then is a workspace opened.
        if (isLoopback(opts.host) || opts.allowAnonymous === true) await runServer(opts, { models: specs });
        else
          await withWorkspace(cmd, async (ws) =>
            runServer(opts, { models: specs }, undefined, await servingGuard(ws, opts.host)),
          );
        return;
      }
      await withWorkspace(cmd, (ws) => serveRegistry(ws, sources, opts));
    });
}

async function loadFiles(sources: readonly ServeSource[], opts: ServeOptions): Promise<ServedModelSpec[]> {
  const specs: ServedModelSpec[] = [];
  for (const s of sources) {
    if (s.kind !== "file") continue;
    const started = performance.now();
    const runtime = await loadRuntimeFromFile(s.file);
    specs.push({
      name: s.name,
      version: opts.modelVersion,
      aliases: opts.alias,
      runtime,
      loadSeconds: (performance.now() - started) / 1000,
    });
  }
  return specs;
}

async function serveRegistry(
  ws: Workspace,
  sources: readonly ServeSource[],
  opts: ServeOptions,
): Promise<void> {
  const guard = opts.allowAnonymous === true ? null : await servingGuard(ws, opts.host);
  const events = createRegistryEvents();
  const registry = createRegistryService({ ...ws, events }, { actor: ws.config.actor });
  const source = { registry, blobs: ws.blobs };
  // Read before loading, so an alias moved while the models load is still seen.
  const afterSeq = await headSeq(ws);
  const specs = await loadFiles(sources, opts);
  const bindings: Binding[] = [];
  const deployments = new Map<string, string>();
  const retentions = new Map<string, LogRetention>();
  const rollback =
    opts.rollbackErrorDelta !== undefined || opts.rollbackP99Ratio !== undefined
      ? {
          maxErrorRateDelta: opts.rollbackErrorDelta ?? 1,
          maxP99Ratio: opts.rollbackP99Ratio ?? Number.MAX_VALUE,
        }
      : undefined;
  if (opts.deployment !== undefined) {
    const d = await createDeploymentService(ws).get(opts.deployment);
    const name = splitModelRef(d.model).model;
    const loaded = await loadDeploymentSpec(source, d);
    specs.push(loaded.spec);
    bindings.push(...loaded.bindings);
    deployments.set(d.name, name);
    const kept = retentionOf(d);
    if (kept) retentions.set(name, kept);
  }
  const refs = sources.filter((s) => s.kind === "registry");
  if ((opts.canary || opts.shadow || rollback) && refs.length !== 1) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      "--canary, --shadow and --rollback-* apply to exactly one NAME@ALIAS argument.",
    );
  }
  for (const r of refs) {
    const loaded = await loadEndpointSpec(source, {
      name: splitModelRef(r.ref).model,
      primary: r.ref,
      ...(opts.canary && { canary: opts.canary }),
      ...(opts.shadow && { shadow: opts.shadow }),
      ...(rollback && { rollback }),
    });
    specs.push(loaded.spec);
    bindings.push(...loaded.bindings);
  }
  let follower: Follower | undefined;
  await runServer(
    opts,
    {
      models: specs,
      ...(opts.inferenceLog && {
        inferenceLog: {
          write: (records) => appendInferenceLog(ws, records),
          options: { sampleRate: opts.logSampleRate },
        },
      }),
      onRollback: (endpoint, report) => follower?.rolledBack(endpoint, report),
      onBackgroundError: (what, e) => ws.logger.warn({ err: e }, `${what} failed`),
    },
    (app, handle) => {
      follower = createFollower(
        { ws, source, events, models: handle.models, metrics: handle.metrics },
        { bindings, deployments, afterSeq },
        {
          pollMs: opts.pollMs,
          onEvent: (e) => {
            const line =
              e.kind === "swap"
                ? `${e.endpoint}: ${e.role} ${e.model}@${e.alias} is now version ${e.to} (was ${e.from ?? "none"})`
                : e.kind === "load-failed"
                  ? `${e.endpoint}: ${e.role} ${e.model}@${e.alias} failed to load, still serving the previous version: ${e.error}`
                  : e.kind === "rollback"
                    ? `${e.report.endpoint}: canary version ${e.report.canaryVersion} rolled back (${e.report.reason})`
                    : `deployment ${e.deployment} changed`;
            app.log.info(line);
            process.stderr.write(`${line}\n`);
          },
        },
      );
      follower.start();
      const pruning = logPruning(ws, opts, handle.models, retentions);
      return () => {
        follower?.stop();
        pruning?.stop();
      };
    },
    guard,
  );
}

/** Prunes the logged models' inference logs in the background (one process of a --workers group). */
function logPruning(
  ws: Workspace,
  opts: ServeOptions,
  models: ModelSet,
  fromDeployments: ReadonlyMap<string, LogRetention>,
): { stop(): void } | null {
  if (!opts.inferenceLog || (cluster.isWorker && cluster.worker?.id !== 1)) return null;
  const flags: LogRetention | undefined =
    opts.logMaxAge !== undefined || opts.logMaxRows !== undefined
      ? {
          ...(opts.logMaxAge !== undefined && { maxAgeMs: opts.logMaxAge }),
          ...(opts.logMaxRows !== undefined && { maxRows: opts.logMaxRows }),
        }
      : undefined;
  if (!flags && fromDeployments.size === 0) return null;
  return startLogPruning(ws, {
    models: () => models.list().flatMap((m) => (m.logAs ? [m.logAs.name] : [])),
    retention: (model) => {
      const r = flags ?? fromDeployments.get(model);
      return r && opts.logLabelWindow !== undefined ? { ...r, labelWindowMs: opts.logLabelWindow } : r;
    },
    intervalMs: Math.max(opts.logPruneMs, 1000),
    onPruned: (r) =>
      process.stderr.write(
        `inference log of ${r.model}: pruned ${r.batches} batches (${r.rows} rows)${r.keptForMonitors > 0 ? `, kept ${r.keptForMonitors} past the limit for monitors ${r.keptBy.join(", ")}` : ""}${r.keptForLabels > 0 ? `, kept ${r.keptForLabels} awaiting late labels` : ""}\n`,
      ),
    onError: (e) => ws.logger.warn({ err: e }, "inference log pruning failed"),
  });
}

async function runServer(
  opts: ServeOptions,
  serving: ServingOptions,
  onStarted?: (app: FastifyInstance, handle: Awaited<ReturnType<typeof registerServingRoutes>>) => () => void,
  guard: RequestGuard | null = null,
): Promise<void> {
  const app = Fastify({ logger: opts.accessLog, bodyLimit: 32 * 1024 * 1024 });
  if (guard) requireToken(app, guard);
  const handle = await registerServingRoutes(app, {
    ...serving,
    limits: { maxRows: opts.maxRows },
    batching: { maxBatchRows: opts.maxBatch, maxWaitMs: opts.maxWaitMs, maxQueueRows: opts.maxQueue },
  });
  const stop = onStarted?.(app, handle);
  const address = await app.listen({ port: opts.port, host: opts.host });
  if (!cluster.isWorker || cluster.worker?.id === 1) {
    const list = handle.models
      .list()
      .map(
        (m) =>
          `${m.name} (${m.runtime.kind}, version ${m.version}${m.role === "primary" ? "" : `, ${m.role}`})`,
      )
      .join(", ");
    process.stderr.write(`serving ${list} on ${address}\n`);
  }
  await stopSignal();
  stop?.();
  await app.close();
  await handle.close();
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
