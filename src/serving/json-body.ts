// JSON request bodies kept as bytes until a route knows the model: the fast decoder reads them directly, the rest JSON.parse them.
import type { FastifyRequest } from "fastify";

/** A JSON body not parsed yet; `value()` parses it once, with the same 400 error the parser always gave. */
export class JsonBody {
  private parsed: unknown;
  private done = false;

  constructor(readonly raw: Buffer) {}

  value(): unknown {
    if (!this.done) {
      try {
        this.parsed = JSON.parse(this.raw.toString("utf8"));
      } catch (e) {
        throw badJson(`The body is not valid JSON (${(e as Error).message})`);
      }
      this.done = true;
    }
    return this.parsed;
  }
}

/** The content-type parser of the serving scope: an empty body fails at once, the rest waits for the route. */
export function parseJsonBody(
  _request: FastifyRequest,
  body: string | Buffer,
  done: (err: Error | null, body?: unknown) => void,
): void {
  const raw = typeof body === "string" ? Buffer.from(body) : body;
  if (raw.length === 0) return done(badJson("The body is empty"));
  done(null, new JsonBody(raw));
}

/** The parsed body: JSON.parse of a JsonBody, anything else (a CSV string) as it is. */
export function bodyValue(body: unknown): unknown {
  return body instanceof JsonBody ? body.value() : body;
}

/**
 * Runs `route` (which may answer 404); a body that is not valid JSON still fails first with its 400, as
 * when bodies were parsed before routing.
 */
export function routeWithBody<T>(body: unknown, route: () => T): T {
  try {
    return route();
  } catch (e) {
    bodyValue(body);
    throw e;
  }
}

/** Shaped like Fastify's own JSON error, so the serving error handler words it the same way. */
function badJson(message: string): Error {
  return Object.assign(new Error(message), {
    statusCode: 400,
    code: "FST_ERR_CTP_INVALID_JSON",
  });
}
