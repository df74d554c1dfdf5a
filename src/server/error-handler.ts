// The one error mapping of the HTTP API: LoopmlError → status + { code, message, details }, MLflow routes → { error_code, message }.
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { HTTP_STATUS, LoopmlError, toLoopmlError, type ErrorCode } from "../errors.ts";

const MLFLOW_CODES: Readonly<Record<ErrorCode, string>> = {
  INVALID_ARGUMENT: "INVALID_PARAMETER_VALUE",
  NOT_FOUND: "RESOURCE_DOES_NOT_EXIST",
  ALREADY_EXISTS: "RESOURCE_ALREADY_EXISTS",
  CONFLICT: "RESOURCE_CONFLICT",
  FAILED_PRECONDITION: "INVALID_STATE",
  UNAUTHENTICATED: "UNAUTHENTICATED",
  PERMISSION_DENIED: "PERMISSION_DENIED",
  RESOURCE_EXHAUSTED: "REQUEST_LIMIT_EXCEEDED",
  UNAVAILABLE: "TEMPORARILY_UNAVAILABLE",
  INTERNAL: "INTERNAL_ERROR",
};

export function isMlflowPath(url: string): boolean {
  return url.startsWith("/api/2.0/mlflow") || url.startsWith("/ajax-api/2.0/mlflow");
}

/** Fastify's own errors (bad JSON, too large, unsupported type) become LoopmlErrors with the status Fastify chose. */
function fromFastify(e: FastifyError): { err: LoopmlError; status: number } | undefined {
  if (e.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
    return {
      err: new LoopmlError(
        "RESOURCE_EXHAUSTED",
        `The request body is larger than this server accepts (${e.message}). Send smaller batches.`,
      ),
      status: 413,
    };
  }
  if (typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) {
    const code: ErrorCode =
      e.statusCode === 404 ? "NOT_FOUND" : e.statusCode === 415 ? "INVALID_ARGUMENT" : "INVALID_ARGUMENT";
    return { err: new LoopmlError(code, e.message), status: e.statusCode };
  }
  return undefined;
}

export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  let err: LoopmlError;
  let status: number;
  const mapped = error instanceof LoopmlError ? undefined : fromFastify(error as FastifyError);
  if (mapped) {
    ({ err, status } = mapped);
  } else {
    err = toLoopmlError(error);
    status = HTTP_STATUS[err.code];
  }
  if (err.code === "INTERNAL") request.log.error({ err: error }, "unexpected error");
  // Never a stack trace: the body is the code, the message and the details only.
  const body = isMlflowPath(request.url)
    ? { error_code: MLFLOW_CODES[err.code], message: err.message }
    : err.toJSON();
  return reply.status(status).send(body);
}
