// loopml server [--host] [--port] and loopml server token create | list | revoke
import type { Command } from "commander";
import { LoopmlError } from "../../../errors.ts";
import { checkRole, createTokenService } from "../../../server/auth.ts";
import { startServer } from "../../../server/listen.ts";
import { openWorkspace } from "../../../workspace.ts";
import { globalOptions, withWorkspace } from "../../context.ts";
import { emit, table } from "../../output.ts";

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new LoopmlError("INVALID_ARGUMENT", `"${v}" is not a port (0–65535).`);
  return n;
}

export function registerServerCommands(program: Command): void {
  const server = program
    .command("server")
    .description("the HTTP control plane: REST API, MLflow-compatible routes, OpenAPI at /openapi.json")
    .option("--host <address>", "address to bind (anything but loopback needs API tokens)", "127.0.0.1")
    .option("--port <n>", "port", port, 5000)
    .option("--require-token", "require an API token even on 127.0.0.1")
    .addHelpText(
      "after",
      "\nExample:\n  loopml server --port 5000\n  MLFLOW_TRACKING_URI=http://127.0.0.1:5000 python train.py",
    )
    .exitOverride()
    .action(async (opts: { host: string; port: number; requireToken?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const ws = await openWorkspace({
        dir: g.dir,
        ...(g.store !== undefined && { store: g.store }),
        ...(g.artifacts !== undefined && { artifacts: g.artifacts }),
      });
      let started;
      try {
        started = await startServer({
          workspace: ws,
          host: opts.host,
          port: opts.port,
          ...(opts.requireToken === true && { requireToken: true }),
        });
      } catch (e) {
        await ws.close();
        throw e;
      }
      const { app, url, anonymous } = started;
      process.stderr.write(
        `loopml server listening on ${url} (${anonymous ? "anonymous local access allowed" : "API token required"})\n`,
      );
      const stop = (): void => {
        void app.close().then(() => ws.close());
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      await new Promise<void>((resolve) => app.server.once("close", () => resolve()));
    });

  const token = server.command("token").description("API tokens: hashed at rest, shown once").exitOverride();
  token
    .command("create")
    .description("create a token and print it (it cannot be shown again)")
    .argument("<name>", "the principal written to the audit log, e.g. ci or alice")
    .option("--role <role>", "viewer | editor | approver | admin", "viewer")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  loopml server token create ci --role editor")
    .exitOverride()
    .action(async (name: string, opts: { role: string; json?: boolean }, cmd: Command) => {
      const role = checkRole(opts.role);
      const r = await withWorkspace(cmd, (ws) => createTokenService(ws).create(name, role));
      emit(
        opts.json === true,
        r,
        () => `${r.token}\n(token "${name}" with role ${role}; store it now, it is not shown again)`,
      );
    });
  token
    .command("list")
    .description("list tokens (never their values)")
    .option("--json", "print JSON")
    .exitOverride()
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const list = await withWorkspace(cmd, (ws) => createTokenService(ws).list());
      emit(opts.json === true, list, () =>
        table(
          ["NAME", "ROLE", "CREATED", "BY", "REVOKED"],
          list.map((t) => [
            t.name,
            t.role,
            new Date(t.createdAt).toISOString(),
            t.createdBy,
            t.revokedAt ? new Date(t.revokedAt).toISOString() : "-",
          ]),
        ),
      );
    });
  token
    .command("revoke")
    .description("revoke a token at once")
    .argument("<name>")
    .exitOverride()
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await withWorkspace(cmd, (ws) => createTokenService(ws).revoke(name));
      process.stdout.write(`revoked token ${name}\n`);
    });
}
