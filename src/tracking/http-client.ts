// The tracking client for a remote `loopml server`: the same run handle, sending each flushed batch as one request.
import { HTTP_STATUS, LoopmlError, type ErrorCode } from "../errors.ts";
import { createRunHandle, type RunHandle, type RunHandleOptions, type RunSink } from "./run-handle.ts";
import type { LogBatch, RunInfo, RunStatus } from "./types.ts";
import { LITTLE_ENDIAN, POINTS_CONTENT_TYPE, encodePointsBinary, encodePointsJson } from "./wire.ts";
import { columnsFromPoints, concatColumns } from "./columns.ts";

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

  /** `body` is sent as JSON (a string is JSON text already written); bytes are binary points. */
  async function call<T>(method: string, path: string, body: unknown): Promise<T> {
    let res: Response;
    try {
      res =
        body instanceof Uint8Array
          ? await fetch(`${base}${path}`, {
              method,
              headers: { ...headers, "content-type": POINTS_CONTENT_TYPE },
              body: body as Uint8Array<ArrayBuffer>,
            })
          : await fetch(`${base}${path}`, {
              method,
              headers,
              body: typeof body === "string" ? body : JSON.stringify(body),
            });
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
      const { metrics, points: columns, ...rest } = batch;
      const only = (metrics ?? []).length + (rest.params ?? []).length + (rest.tags ?? []).length === 0;
      if (columns && only && LITTLE_ENDIAN) {
        // A flush of the run handle: points alone, in binary (nothing printed or parsed).
        await call("POST", `/api/v1/runs/${encodeURIComponent(runId)}/batch`, encodePointsBinary(columns));
        return;
      }
      // Points as objects (JSON would turn NaN into null) join the columns.
      const listed = columnsFromPoints(metrics ?? [], Date.now());
      const points = columns ? concatColumns(listed, columns) : listed;
      // The points' JSON is written from the typed arrays and spliced in as text.
      const others = JSON.stringify(rest);
      const body =
        points.key.length > 0
          ? `${others.slice(0, -1)}${others === "{}" ? "" : ","}"points":${encodePointsJson(points)}}`
          : others;
      await call("POST", `/api/v1/runs/${encodeURIComponent(runId)}/batch`, body);
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
