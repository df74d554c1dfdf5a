// The tracking client for a remote `loopml server`: the same run handle, sending each flushed batch as one request.
import { HTTP_STATUS, LoopmlError, type ErrorCode } from "../errors.ts";
import { createRunHandle, type RunHandle, type RunHandleOptions, type RunSink } from "./run-handle.ts";
import type { LogBatch, MetricInput, RunInfo, RunStatus } from "./types.ts";

export interface HttpTrackingOptions {
  /** e.g. http://127.0.0.1:5000 */
  readonly url: string;
  readonly token?: string;
}

export interface HttpTracking {
  startRun(
    options?: { experiment?: string; name?: string; tags?: Record<string, string> } & RunHandleOptions,
  ): Promise<RunHandle>;
}

/** JSON has no NaN or ±Infinity; they travel as the strings the server accepts. */
function encodeValue(v: number): number | string {
  if (Number.isFinite(v)) return v;
  return Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
}

/** The compact wire form of a batch: keys once, one array per column (the server's parseMetricColumns). */
function encodeColumns(metrics: readonly MetricInput[], now: number): Record<string, unknown> {
  const keys: string[] = [];
  const index = new Map<string, number>();
  const n = metrics.length;
  const key = new Array<number>(n);
  const value = new Array<number | string>(n);
  const step = new Array<number>(n);
  const timestamp = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const m = metrics[i] as MetricInput;
    let k = index.get(m.key);
    if (k === undefined) {
      k = keys.push(m.key) - 1;
      index.set(m.key, k);
    }
    key[i] = k;
    value[i] = encodeValue(m.value);
    step[i] = m.step ?? 0;
    timestamp[i] = m.timestamp ?? now;
  }
  return { keys, key, value, step, timestamp };
}

/**
 * @example
 * const tracking = createHttpTracking({ url: "http://127.0.0.1:5000", token: process.env.LOOPML_TOKEN });
 * const run = await tracking.startRun({ experiment: "churn", batchSize: 5000 });
 * await run.logMetric("loss", 0.3, 1);
 * await run.end();
 */
export function createHttpTracking(options: HttpTrackingOptions): HttpTracking {
  const base = options.url.replace(/\/+$/, "");
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (options.token !== undefined) headers["authorization"] = `Bearer ${options.token}`;

  async function call<T>(method: string, path: string, body: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, { method, headers, body: JSON.stringify(body) });
    } catch (e) {
      throw new LoopmlError(
        "UNAVAILABLE",
        `Cannot reach the loopml server at ${base}: ${(e as Error).message}.`,
        undefined,
        { cause: e },
      );
    }
    const text = await res.text();
    const json = (text === "" ? {} : JSON.parse(text)) as Record<string, unknown>;
    if (!res.ok) {
      // The server's { code, message, details } becomes the same LoopmlError here, so errors round-trip.
      const code = (
        typeof json["code"] === "string" && json["code"] in HTTP_STATUS ? json["code"] : "INTERNAL"
      ) as ErrorCode;
      throw new LoopmlError(
        code,
        typeof json["message"] === "string" ? json["message"] : `HTTP ${res.status}`,
        json["details"] as Record<string, unknown> | undefined,
      );
    }
    return json as T;
  }

  const sink: RunSink = {
    logBatch: async (runId: string, batch: LogBatch) => {
      const { metrics, ...rest } = batch;
      await call("POST", `/api/v1/runs/${encodeURIComponent(runId)}/batch`, {
        ...rest,
        ...(metrics && metrics.length > 0 && { points: encodeColumns(metrics, Date.now()) }),
      });
    },
    endRun: async (runId: string, status: RunStatus) => {
      await call("PATCH", `/api/v1/runs/${encodeURIComponent(runId)}`, { status });
    },
    logInputs: async (runId: string, refs: readonly string[], context?: string) => {
      await call("POST", `/api/v1/runs/${encodeURIComponent(runId)}/inputs`, {
        inputs: refs,
        ...(context !== undefined && { context }),
      });
    },
  };

  return {
    startRun: async (opts = {}) => {
      const info = await call<RunInfo>("POST", "/api/v1/runs", {
        ...(opts.experiment !== undefined && { experiment: opts.experiment }),
        ...(opts.name !== undefined && { name: opts.name }),
        ...(opts.tags !== undefined && { tags: opts.tags }),
      });
      return createRunHandle(sink, { id: info.id, experimentId: info.experimentId }, opts);
    },
  };
}
