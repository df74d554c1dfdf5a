// Serving on AWS Lambda: an API Gateway event (REST v1 or HTTP API v2 payload) in, the same routes as `loopml serve` answer it.
import Fastify, { type FastifyInstance } from "fastify";
import { registerServingRoutes, type ServingOptions } from "./server.ts";

/** The fields of API Gateway proxy events (payload format 1.0 and 2.0) the handler reads. */
export interface ApiGatewayEvent {
  readonly version?: string;
  /** 1.0 */
  readonly httpMethod?: string;
  readonly path?: string;
  readonly queryStringParameters?: Readonly<Record<string, string | undefined>> | null;
  /** 2.0 */
  readonly rawPath?: string;
  readonly rawQueryString?: string;
  readonly requestContext?: { readonly http?: { readonly method?: string } };
  readonly headers?: Readonly<Record<string, string | undefined>> | null;
  readonly body?: string | null;
  readonly isBase64Encoded?: boolean;
}

export interface ApiGatewayResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: boolean;
}

/**
 * Builds the serving app once per container (the cold start) and answers each event through it.
 *
 * @example
 * import model from "./model.json" with { type: "json" };
 * export const handler = createLambdaHandler({ models: [{ name: "churn", version: "3", runtime: loadRuntime(model) }] });
 */
export function createLambdaHandler(
  options: ServingOptions,
): (event: ApiGatewayEvent) => Promise<ApiGatewayResult> {
  let app: Promise<FastifyInstance> | undefined;
  const build = async (): Promise<FastifyInstance> => {
    const fastify = Fastify({ logger: false, bodyLimit: 6 * 1024 * 1024 });
    // One invocation carries one request: nothing to batch with, so never wait.
    await registerServingRoutes(fastify, {
      batching: { maxBatchRows: 64, maxWaitMs: 0, maxQueueRows: 4096 },
      ...options,
    });
    await fastify.ready();
    return fastify;
  };
  return async (event) => {
    app ??= build();
    const fastify = await app;
    const v2 = event.version === "2.0";
    const method = (v2 ? event.requestContext?.http?.method : event.httpMethod) ?? "GET";
    const path = (v2 ? event.rawPath : event.path) ?? "/";
    const query = v2
      ? (event.rawQueryString ?? "")
      : new URLSearchParams(
          Object.entries(event.queryStringParameters ?? {}).filter(
            (e): e is [string, string] => e[1] !== undefined,
          ),
        ).toString();
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(event.headers ?? {}))
      if (v !== undefined) headers[k.toLowerCase()] = v;
    const body = event.body
      ? event.isBase64Encoded
        ? Buffer.from(event.body, "base64")
        : event.body
      : undefined;
    const res = await fastify.inject({
      method: method as "GET",
      url: query ? `${path}?${query}` : path,
      headers,
      ...(body !== undefined && { payload: body }),
    });
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) {
      if (v !== undefined) out[k] = Array.isArray(v) ? v.join(", ") : String(v);
    }
    return { statusCode: res.statusCode, headers: out, body: res.body, isBase64Encoded: false };
  };
}
