// The prediction server as a Fastify plugin: loopml, MLflow and Open Inference V2 protocols, health, /metrics, inference logging, canary and shadow.
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { LoopmlError, toLoopmlError } from "../errors.ts";
import { DEFAULT_BATCHING, type BatchingOptions } from "./batcher.ts";
import {
  createCanaryGuard,
  DEFAULT_CANARY_GUARD,
  type CanaryGuardOptions,
  type RollbackReport,
} from "./canary-guard.ts";
import { DEFAULT_LIMITS, type DecodeLimits } from "./decode.ts";
import { parseJsonBody } from "./json-body.ts";
import type { InferenceRecords } from "./inference-log.ts";
import {
  createInferenceLogger,
  DEFAULT_INFERENCE_LOGGING,
  type InferenceLogger,
  type InferenceLoggerOptions,
} from "./inference-logger.ts";
import { createServingMetrics, type ServingMetrics } from "./metrics.ts";
import {
  createModelSet,
  type Endpoint,
  type ModelSet,
  type ServedModel,
  type ServedModelSpec,
} from "./models.ts";
import { registerLoopmlRoutes } from "./routes/loopml.ts";
import { registerMlflowRoutes } from "./routes/mlflow.ts";
import { registerOpenInferenceRoutes } from "./routes/open-inference.ts";
import type { Batch, ModelSignature, PredictResult } from "./types.ts";

export interface ServingOptions {
  readonly models: readonly ServedModelSpec[];
  readonly limits?: DecodeLimits;
  readonly batching?: BatchingOptions;
  /** Also mount /healthz, /readyz and /metrics (default true); off when the host app has its own. */
  readonly operational?: boolean;
  /** Writes sampled predictions to the inference log in the background (e.g. appendInferenceLog bound to a workspace). */
  readonly inferenceLog?: {
    readonly write: (records: InferenceRecords) => Promise<void>;
    readonly options?: Partial<InferenceLoggerOptions>;
  };
  /** The header whose value keeps a client on one side of a canary split (default x-loopml-key). */
  readonly routingKeyHeader?: string;
  readonly canaryGuard?: Partial<CanaryGuardOptions>;
  /** Called after a canary was taken out of traffic (the server already stopped sending it requests). */
  readonly onRollback?: (endpoint: Endpoint, report: RollbackReport) => void;
  /** Where failures that never reach a client (shadow, inference log) are reported. */
  readonly onBackgroundError?: (what: string, error: unknown) => void;
  /** The time stamped on inference-log rows (default Date.now): the workspace clock, so replays and tests control it. */
  readonly now?: () => number;
}

export type Protocol = "loopml" | "mlflow" | "v2";

/** What the protocol route files share. */
export interface ServingContext {
  readonly models: ModelSet;
  readonly metrics: ServingMetrics;
  readonly limits: DecodeLimits;
  /** Picks the model that answers (primary or canary) and remembers it for the request's metrics. */
  route(request: FastifyRequest, ref: string, version?: string): ServedModel;
  /** The one model of /invocations, picked like `route`. */
  routeSingle(request: FastifyRequest): ServedModel;
  /** Remembers which model a request is for, so latency and errors are counted against it. */
  bind(request: FastifyRequest, model: ServedModel): void;
  /** Predicts, then (never delaying the answer) logs the request and sends a copy to the shadow. */
  predict(model: ServedModel, batch: Batch, protocol: Protocol, requestId?: string): Promise<PredictResult>;
}

export interface ServingHandle {
  readonly models: ModelSet;
  readonly metrics: ServingMetrics;
  readonly logger: InferenceLogger | null;
  /** Flushes the inference log; call before closing the workspace. */
  close(): Promise<void>;
}

/**
 * Mounts the serving endpoints on a Fastify app (in their own encapsulated scope, so their CSV parser
 * and error format stay local).
 *
 * @example
 * const app = Fastify();
 * await registerServingRoutes(app, { models: [{ name: "churn", runtime: await loadRuntimeFromFile("m.json") }] });
 * await app.inject({ method: "POST", url: "/v1/models/churn/predict", payload: { instances: [[1, 2, 3]] } });
 */
export async function registerServingRoutes(
  app: FastifyInstance,
  options: ServingOptions,
): Promise<ServingHandle> {
  const metrics = createServingMetrics();
  const models = createModelSet(options.models, metrics, options.batching ?? DEFAULT_BATCHING);
  const background = options.onBackgroundError ?? (() => undefined);
  const now = options.now ?? Date.now;
  const logger = options.inferenceLog
    ? createInferenceLogger(
        options.inferenceLog.write,
        { ...DEFAULT_INFERENCE_LOGGING, ...options.inferenceLog.options },
        {
          onRows: (model, outcome, rows) => metrics.logRows.labels(model, outcome).inc(rows),
          onError: (e) => background("inference log write", e),
        },
      )
    : null;
  const guard = createCanaryGuard(
    (endpoint, report) => {
      const canary = endpoint.canary;
      if (!canary) return;
      models.install(endpoint.name, "canary", null, 0);
      metrics.rollbacks.labels(endpoint.name, report.reason).inc();
      options.onRollback?.(endpoint, report);
    },
    { ...DEFAULT_CANARY_GUARD, ...options.canaryGuard },
  );
  const keyHeader = (options.routingKeyHeader ?? "x-loopml-key").toLowerCase();
  const routingKey = (request: FastifyRequest): string | undefined => {
    const v = request.headers[keyHeader];
    return typeof v === "string" && v !== "" ? v : undefined;
  };
  const bound = new WeakMap<FastifyRequest, ServedModel>();
  const shadowOk = new WeakMap<ServedModel, WeakMap<ModelSignature, boolean>>();

  const shadowCopy = (primary: ServedModel, shadow: ServedModel, batch: Batch, requestId: string): void => {
    let known = shadowOk.get(shadow);
    if (!known) shadowOk.set(shadow, (known = new WeakMap()));
    let same = known.get(primary.runtime.signature);
    if (same === undefined) {
      same = sameInputs(primary.runtime.signature, shadow.runtime.signature);
      known.set(primary.runtime.signature, same);
    }
    if (!same) {
      metrics.shadowErrors.labels(shadow.name).inc();
      return;
    }
    const ts = now();
    shadow.batcher.submit(batch).then(
      (result) => {
        if (logger && shadow.logAs) logger.log(shadow.logAs, batch, result, requestId, ts);
      },
      (e: unknown) => {
        metrics.shadowErrors.labels(shadow.name).inc();
        if (!(e instanceof LoopmlError && e.code === "UNAVAILABLE")) background("shadow prediction", e);
      },
    );
  };

  const context: ServingContext = {
    models,
    metrics,
    limits: options.limits ?? DEFAULT_LIMITS,
    route(request, ref, version) {
      const model = models.route(ref, version, routingKey(request));
      bound.set(request, model);
      return model;
    },
    routeSingle(request) {
      const model = models.single(routingKey(request));
      bound.set(request, model);
      return model;
    },
    bind: (request, model) => bound.set(request, model),
    async predict(model, batch, protocol, requestId) {
      const guarded = model.endpoint.rollback !== null && model.endpoint.canary !== null;
      const started = guarded ? performance.now() : 0;
      let result: PredictResult;
      try {
        result = await model.batcher.submit(batch);
      } catch (e) {
        if (guarded && !(e instanceof LoopmlError && e.code !== "INTERNAL")) guard.record(model, false, 0);
        throw e;
      }
      if (guarded) guard.record(model, true, performance.now() - started);
      model.instruments.requests[protocol].inc();
      const shadow = model.endpoint.shadow;
      if (logger !== null || shadow !== null) {
        const id = requestId ?? randomUUID();
        if (logger !== null && model.logAs !== null) {
          logger.log(model.logAs, batch, result, id, now(), model.endpoint.sampleRate);
        }
        if (shadow !== null && model.role !== "shadow") shadowCopy(model, shadow, batch, id);
      }
      return result;
    },
  };

  await app.register((scope, _opts, done) => {
    scope.addContentTypeParser(["text/csv", "application/csv"], { parseAs: "string" }, (_req, body, done) => {
      done(null, body);
    });
    // The bytes stay unparsed until the route knows the model: the hot shapes are read straight into
    // typed arrays (fast-json.ts), the rest with plain JSON.parse (Fastify's default also scans every
    // body twice for "__proto__" and "constructor"; the routes only read named fields and never merge a
    // body into another object, so those keys are harmless).
    scope.removeContentTypeParser("application/json");
    scope.addContentTypeParser("application/json", { parseAs: "buffer" }, parseJsonBody);
    scope.addHook("onResponse", (request, reply, done) => {
      const model = bound.get(request);
      if (model && reply.statusCode < 400) model.instruments.latency.observe(reply.elapsedTime / 1000);
      done();
    });
    scope.setErrorHandler((error: FastifyError | LoopmlError, request, reply) => {
      const err = asLoopmlError(error);
      const model = bound.get(request);
      metrics.errors.inc({ model: model?.name ?? "", code: err.code });
      if (err.code === "INTERNAL") request.log.error({ err: error }, "prediction failed");
      sendError(reply, err, protocolOf(request.url));
    });
    registerLoopmlRoutes(scope, context);
    registerMlflowRoutes(scope, context);
    registerOpenInferenceRoutes(scope, context);
    if (options.operational !== false) {
      scope.get("/healthz", () => ({ status: "ok" }));
      scope.get("/readyz", (_request, reply) => {
        const ready = models.list().length > 0;
        return reply
          .code(ready ? 200 : 503)
          .send({ ready, models: models.list().map((m) => `${m.name}:${m.version}`) });
      });
      scope.get("/metrics", async (_request, reply) => {
        for (const e of models.endpoints()) {
          metrics.queueRows
            .labels(e.name)
            .set(e.primary.batcher.queuedRows + (e.canary?.batcher.queuedRows ?? 0));
        }
        metrics.logBufferedRows.set(logger?.bufferedRows ?? 0);
        return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
      });
    }
    done();
  });
  return { models, metrics, logger, close: async () => logger?.close() };
}

function sameInputs(a: ModelSignature, b: ModelSignature): boolean {
  return (
    a.inputs.length === b.inputs.length &&
    a.inputs.every((c, i) => c.name === b.inputs[i]?.name && c.type === b.inputs[i]?.type)
  );
}

function protocolOf(url: string): Protocol {
  if (url.startsWith("/v2")) return "v2";
  if (url.startsWith("/invocations")) return "mlflow";
  return "loopml";
}

/** Fastify's own errors (bad JSON, body too large, unknown content type) become loopml errors with a fix. */
function asLoopmlError(error: FastifyError | LoopmlError): LoopmlError {
  if (error instanceof LoopmlError) return error;
  const status = error.statusCode ?? 500;
  if (status === 413) {
    return new LoopmlError(
      "RESOURCE_EXHAUSTED",
      "The request body is larger than this server accepts; split the batch into smaller requests.",
      { tooLarge: true },
    );
  }
  if (status === 415) {
    return new LoopmlError(
      "INVALID_ARGUMENT",
      `${error.message}; send application/json (or text/csv to /invocations).`,
    );
  }
  if (status >= 400 && status < 500) {
    return new LoopmlError(
      "INVALID_ARGUMENT",
      `${error.message.replace(/\.$/, "")}; send a valid JSON body.`,
    );
  }
  return toLoopmlError(error);
}

function sendError(reply: FastifyReply, err: LoopmlError, protocol: Protocol): FastifyReply {
  const status = err.details?.tooLarge === true ? 413 : err.httpStatus;
  const retryAfter = err.details?.retryAfterSeconds;
  if (typeof retryAfter === "number") void reply.header("retry-after", String(retryAfter));
  reply.code(status);
  if (protocol === "v2") return reply.send({ error: err.message });
  if (protocol === "mlflow") {
    return reply.send({
      error_code: err.code === "INVALID_ARGUMENT" ? "BAD_REQUEST" : err.code,
      message: err.message,
    });
  }
  return reply.send({ error: err.toJSON() });
}
