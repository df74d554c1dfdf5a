// The tracking client for a remote `loopml server`: the same run handle, sending each flushed batch as one request.
import { randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { HTTP_STATUS, isLoopmlError, LoopmlError, type ErrorCode } from "../errors.ts";
import { createRunHandle, type RunHandle, type RunHandleOptions, type RunSink } from "./run-handle.ts";
import type { LogBatch, RunInfo, RunStatus } from "./types.ts";
import { LITTLE_ENDIAN, POINTS_CONTENT_TYPE, encodePointsBinary, encodePointsJson } from "./wire.ts";
import { columnsFromPoints, concatColumns } from "./columns.ts";

/** The header src/server/idempotency.ts honours (the client does not load the server's code). */
const IDEMPOTENCY_HEADER = "idempotency-key";
/** Waits between attempts: about 32 s in all, longer than the server's lease on a key whose server crashed. */
const RETRY_DELAYS_MS = [200, 500, 1_000, 2_000, 4_000, 8_000, 8_000, 8_000];
const REQUEST_TIMEOUT_MS = 60_000;

/** Worth another attempt: the server was unreachable or restarting, or the same key is still in flight. */
function retryable(e: LoopmlError): boolean {
  return e.code === "UNAVAILABLE" || (e.code === "CONFLICT" && e.details?.["inProgress"] === true);
}

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

  /**
   * `body` is sent as JSON (a string is JSON text already written); bytes are binary points. A lost
   * answer, a 502/503/504 or a key still in flight is retried with backoff, each POST under one
   * Idempotency-Key for all its attempts, so a retry never creates a second run or logs a batch twice.
   */
  async function call<T>(method: string, path: string, body: unknown, answerless = false): Promise<T> {
    const key = method === "POST" ? randomUUID() : undefined;
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= RETRY_DELAYS_MS.length;
      try {
        return await callOnce<T>(method, path, body, key);
      } catch (e) {
        // The server crashed between committing this write and storing its answer: for a write whose
        // answer carries nothing (a batch, inputs), knowing it was applied is all the caller needs.
        if (answerless && isLoopmlError(e, "CONFLICT") && e.details?.["applied"] === true) return {} as T;
        if (last || !isLoopmlError(e) || !retryable(e)) throw e;
      }
      await delay(RETRY_DELAYS_MS[attempt]! * (0.75 + Math.random() / 2));
    }
  }

  async function callOnce<T>(
    method: string,
    path: string,
    body: unknown,
    key: string | undefined,
  ): Promise<T> {
    const sent = {
      ...headers,
      ...(body instanceof Uint8Array && { "content-type": POINTS_CONTENT_TYPE }),
      ...(key !== undefined && { [IDEMPOTENCY_HEADER]: key }),
    };
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: sent,
        body:
          body instanceof Uint8Array
            ? (body as Uint8Array<ArrayBuffer>)
            : typeof body === "string"
              ? body
              : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (e) {
      throw new LoopmlError(
        "UNAVAILABLE",
        `Cannot reach the loopml server at ${base}: ${(e as Error).message}.`,
        undefined,
        { cause: e },
      );
    }
    const text = await res.text().catch((e: unknown) => {
      throw new LoopmlError("UNAVAILABLE", `The loopml server at ${base} broke off its answer.`, undefined, {
        cause: e,
      });
    });
    const json = parseJson(text, res.ok);
    if (!res.ok) {
      // The server's { code, message, details } becomes the same LoopmlError here, so errors round-trip.
      const code = (
        typeof json["code"] === "string" && json["code"] in HTTP_STATUS ? json["code"] : "INTERNAL"
      ) as ErrorCode;
      throw new LoopmlError(
        res.status >= 502 && res.status <= 504 ? "UNAVAILABLE" : code,
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
        await call(
          "POST",
          `/api/v1/runs/${encodeURIComponent(runId)}/batch`,
          encodePointsBinary(columns),
          true,
        );
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
      await call("POST", `/api/v1/runs/${encodeURIComponent(runId)}/batch`, body, true);
    },
    endRun: async (runId: string, status: RunStatus) => {
      await call("PATCH", `/api/v1/runs/${encodeURIComponent(runId)}`, { status });
    },
    logInputs: async (runId: string, refs: readonly string[], context?: string) => {
      await call(
        "POST",
        `/api/v1/runs/${encodeURIComponent(runId)}/inputs`,
        { inputs: refs, ...(context !== undefined && { context }) },
        true,
      );
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

/** An error page that is not JSON (a proxy's 502) still becomes a LoopmlError; a success must be JSON. */
function parseJson(text: string, ok: boolean): Record<string, unknown> {
  if (text === "") return {};
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    if (ok)
      throw new LoopmlError(
        "INTERNAL",
        "The loopml server answered with invalid JSON (this is a bug).",
        undefined,
        { cause: e },
      );
    return {};
  }
}
