// The one error type of loopml: a code from a closed set, a message that names the fix, optional details.

export type ErrorCode =
  | "INVALID_ARGUMENT"
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "CONFLICT"
  | "FAILED_PRECONDITION"
  | "UNAUTHENTICATED"
  | "PERMISSION_DENIED"
  | "RESOURCE_EXHAUSTED"
  | "UNAVAILABLE"
  | "INTERNAL";

/** HTTP status for each code; the server's error handler and the REST client both use it. */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  CONFLICT: 409,
  FAILED_PRECONDITION: 412,
  RESOURCE_EXHAUSTED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
};

/**
 * @example
 * throw new LoopmlError("NOT_FOUND", 'Dataset "flights" has no version 7 (latest is 5).', { latest: 5 });
 */
export class LoopmlError extends Error {
  override readonly name = "LoopmlError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Readonly<Record<string, unknown>>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get httpStatus(): number {
    return HTTP_STATUS[this.code];
  }

  toJSON(): { code: ErrorCode; message: string; details?: Readonly<Record<string, unknown>> } {
    return this.details
      ? { code: this.code, message: this.message, details: this.details }
      : { code: this.code, message: this.message };
  }
}

export function isLoopmlError(e: unknown, code?: ErrorCode): e is LoopmlError {
  return e instanceof LoopmlError && (code === undefined || e.code === code);
}

/** Wraps anything thrown by a dependency into a LoopmlError, keeping LoopmlErrors as they are. */
export function toLoopmlError(e: unknown): LoopmlError {
  if (e instanceof LoopmlError) return e;
  const message = e instanceof Error ? e.message : String(e);
  if (isConnectionLoss(e))
    return new LoopmlError(
      "UNAVAILABLE",
      `A backing service (metadata store or blob store) is unreachable right now: ${message}. Retry shortly.`,
      undefined,
      { cause: e },
    );
  return new LoopmlError(
    "INTERNAL",
    `Unexpected error (this is a bug in loopml, please report it): ${message}`,
    undefined,
    {
      cause: e,
    },
  );
}

/** PostgreSQL connection-exception (08…) and shutdown (57P0…) states, and refused or reset sockets. */
const CONNECTION_LOSS_CODE = /^(08...|57P0[1-3]|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT)$/;

/** A database restarting or a dropped connection is temporary (a retry can succeed), not a bug. */
function isConnectionLoss(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === "string" && CONNECTION_LOSS_CODE.test(code)) return true;
  // pg reports a connection that died under a query, or a pool that could not connect, without a code.
  return (
    e instanceof Error &&
    /^Connection terminated|timeout exceeded when trying to connect|encountered a connection error and is not queryable/.test(
      e.message,
    )
  );
}
