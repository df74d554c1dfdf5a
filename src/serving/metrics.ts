// Prometheus instruments of the prediction server, in a registry of its own so that two servers never share counts.
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export interface ServingMetrics {
  readonly registry: Registry;
  readonly requests: Counter<"model" | "version" | "protocol">;
  readonly errors: Counter<"model" | "code">;
  readonly latency: Histogram<"model" | "version">;
  readonly batchRows: Histogram<"model">;
  readonly queueRows: Gauge<"model">;
  readonly loadSeconds: Gauge<"model" | "version">;
  readonly served: Gauge<"model" | "version" | "role">;
  readonly swaps: Counter<"model" | "role">;
  readonly loadFailures: Counter<"model" | "role">;
  readonly rollbacks: Counter<"model" | "reason">;
  readonly shadowErrors: Counter<"model">;
  readonly logRows: Counter<"model" | "outcome">;
  readonly logBufferedRows: Gauge;
}

/** Per-model children, looked up once per model instead of once per request. */
export interface ModelInstruments {
  readonly latency: { observe(seconds: number): void };
  readonly batchRows: { observe(rows: number): void };
  readonly requests: Readonly<Record<"loopml" | "mlflow" | "v2", { inc(): void }>>;
}

/**
 * @example
 * const metrics = createServingMetrics();
 * reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
 */
export function createServingMetrics(): ServingMetrics {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: "loopml_serving_requests_total",
      help: "Prediction requests answered successfully, by model, version and protocol.",
      labelNames: ["model", "version", "protocol"],
      registers,
    }),
    errors: new Counter({
      name: "loopml_serving_errors_total",
      help: "Requests answered with an error, by model (empty when unknown) and loopml error code.",
      labelNames: ["model", "code"],
      registers,
    }),
    latency: new Histogram({
      name: "loopml_serving_request_duration_seconds",
      help: "Time from receiving a prediction request to sending its answer.",
      labelNames: ["model", "version"],
      buckets: [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    batchRows: new Histogram({
      name: "loopml_serving_batch_rows",
      help: "Rows per predict call after micro-batching.",
      labelNames: ["model"],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096],
      registers,
    }),
    queueRows: new Gauge({
      name: "loopml_serving_queue_rows",
      help: "Rows waiting in the micro-batching queue.",
      labelNames: ["model"],
      registers,
    }),
    loadSeconds: new Gauge({
      name: "loopml_serving_model_load_seconds",
      help: "Time taken to load the served model version.",
      labelNames: ["model", "version"],
      registers,
    }),
    served: new Gauge({
      name: "loopml_serving_model_served",
      help: "1 for each model version loaded, by role (primary, canary, shadow).",
      labelNames: ["model", "version", "role"],
      registers,
    }),
    swaps: new Counter({
      name: "loopml_serving_model_swaps_total",
      help: "Model versions swapped in after an alias or deployment change.",
      labelNames: ["model", "role"],
      registers,
    }),
    loadFailures: new Counter({
      name: "loopml_serving_model_load_failures_total",
      help: "Model versions that failed to load or warm up; the previous version kept serving.",
      labelNames: ["model", "role"],
      registers,
    }),
    rollbacks: new Counter({
      name: "loopml_serving_canary_rollbacks_total",
      help: "Canaries taken out of traffic because their error rate or p99 latency exceeded the primary's.",
      labelNames: ["model", "reason"],
      registers,
    }),
    shadowErrors: new Counter({
      name: "loopml_serving_shadow_errors_total",
      help: "Shadow predictions that failed or were refused (never visible to clients).",
      labelNames: ["model"],
      registers,
    }),
    logRows: new Counter({
      name: "loopml_serving_inference_log_rows_total",
      help: "Inference log rows by outcome: written, dropped (buffer full) or failed (write error).",
      labelNames: ["model", "outcome"],
      registers,
    }),
    logBufferedRows: new Gauge({
      name: "loopml_serving_inference_log_buffered_rows",
      help: "Inference log rows held in memory, waiting or being written.",
      registers,
    }),
  };
}

export function instrumentsFor(metrics: ServingMetrics, model: string, version: string): ModelInstruments {
  return {
    latency: metrics.latency.labels(model, version),
    batchRows: metrics.batchRows.labels(model),
    requests: {
      loopml: metrics.requests.labels(model, version, "loopml"),
      mlflow: metrics.requests.labels(model, version, "mlflow"),
      v2: metrics.requests.labels(model, version, "v2"),
    },
  };
}
