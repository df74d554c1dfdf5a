// Starts the control plane on a socket, refusing a non-loopback address unless API tokens are configured.
import type { FastifyInstance } from "fastify";
import { LoopmlError } from "../errors.ts";
import type { Workspace } from "../workspace.ts";
import { createApp } from "./app.ts";
import { createTokenService } from "./auth.ts";

export interface StartServerOptions {
  readonly workspace: Workspace;
  readonly host?: string;
  readonly port?: number;
  /** Require a token even on 127.0.0.1. */
  readonly requireToken?: boolean;
  readonly logger?: boolean;
}

export function isLoopback(host: string): boolean {
  return host === "127.0.0.1" || host === "::1" || host === "localhost" || /^127\./.test(host);
}

/**
 * @example
 * const { app, url } = await startServer({ workspace: ws, port: 5000 });
 */
export async function startServer(
  options: StartServerOptions,
): Promise<{ app: FastifyInstance; url: string; anonymous: boolean }> {
  const host = options.host ?? "127.0.0.1";
  const loopback = isLoopback(host);
  if (!loopback && !(await createTokenService(options.workspace).any())) {
    // Like a database that will not listen publicly without a password: anyone on the network could write.
    throw new LoopmlError(
      "FAILED_PRECONDITION",
      `Refusing to listen on ${host} without authentication: create a token first (loopml server token create NAME --role admin), or bind to 127.0.0.1.`,
      { host },
    );
  }
  const anonymous = loopback && options.requireToken !== true;
  const app = await createApp({
    workspace: options.workspace,
    auth: { allowAnonymous: anonymous },
    logger: options.logger ?? false,
  });
  const url = await app.listen({ host, port: options.port ?? 5000 });
  return { app, url, anonymous };
}
