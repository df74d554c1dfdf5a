// The prediction server as a Fastify plugin: loopml, MLflow and Open Inference V2 protocols, health and /metrics.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { LoopmlError, toLoopmlError } from "../errors.ts";
import { DEFAULT_BATCHING, type BatchingOptions } from "./batcher.ts";
import { DEFAULT_LIMITS, type DecodeLimits } from "./decode.ts";
import { createServingMetrics, type ServingMetrics } from "./metrics.ts";
import { createModelSet, type ModelSet, type ServedModel, type ServedModelSpec } from "./models.ts";
import { registerLoopmlRoutes } from "./routes/loopml.ts";
import { registerMlflowRoutes } from "./routes/mlflow.ts";
import { registerOpenInferenceRoutes } from "./routes/open-inference.ts";
import type { Batch, PredictResult } from "./types.ts";

export interface ServingOptions {
  readonly models: readonly ServedModelSpec[];
  readonly limits?: DecodeLimits;
  readonly batching?: BatchingOptions;
  /** Also mount /healthz, /readyz and /metrics (default true); off when the host app has its own. */
  readonly operational?: boolean;
}

export type Protocol = "loopml" | "mlflow" | "v2";

/** What the protocol route files share. */
export interface ServingContext {
  readonly models: ModelSet;
  readonly metrics: ServingMetrics;
  readonly limits: DecodeLimits;
  /** Remembers which model a request is for, so latency and errors are counted against it. */
  bind(request: FastifyRequest, model: ServedModel): void;
  predict(model: ServedModel, batch: Batch, protocol: Protocol): Promise<PredictResult>;
}

export interface ServingHandle {
  readonly models: ModelSet;
  readonly metrics: ServingMetrics;
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
  const bound = new WeakMap<FastifyRequest, ServedModel>();
  const context: ServingContext = {
    models,
    metrics,
    limits: options.limits ?? DEFAULT_LIMITS,
    bind: (request, model) => bound.set(request, model),
    async predict(model, batch, protocol) {
      const result = await model.batcher.submit(batch);
      metrics.requests.inc({ model: model.name, version: model.version, protocol });
      return result;
    },
  };

  await app.register((scope, _opts, done) => {
    scope.addContentTypeParser(["text/csv", "application/csv"], { parseAs: "string" }, (_req, body, done) => {
      done(null, body);
    });
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
        for (const m of models.list()) metrics.queueRows.labels(m.name).set(m.batcher.queuedRows);
        return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
      });
    }
    done();
  });
  return { models, metrics };
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
