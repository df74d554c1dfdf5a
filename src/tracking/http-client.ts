// The tracking client for a remote `loopml server`: the same run handle, sending each flushed batch as one request.
import { HTTP_STATUS, LoopmlError, type ErrorCode } from "../errors.ts";
import { createRunHandle, type RunHandle, type RunHandleOptions, type RunSink } from "./run-handle.ts";
import type { LogBatch, RunInfo, RunStatus } from "./types.ts";

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
      await call("POST", `/api/v1/runs/${encodeURIComponent(runId)}/batch`, {
        ...batch,
        ...(batch.metrics && { metrics: batch.metrics.map((m) => ({ ...m, value: encodeValue(m.value) })) }),
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
