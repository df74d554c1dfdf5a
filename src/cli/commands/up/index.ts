// loopml up: the whole loop in one process from loopml.yaml (or one part of it with --role); SIGTERM drains it.
import type { Command } from "commander";
import { LoopmlError } from "../../../errors.ts";
import { durationMs } from "../../../loop/desired-state.ts";
import { loadDesiredState } from "../../../loop/project.ts";
import { ROLES, startUp, type UpRole } from "../../../loop/up.ts";
import { openWorkspace } from "../../../workspace.ts";
import { globalOptions } from "../../context.ts";

interface UpCliOptions {
  role?: string;
  host: string;
  port: string;
  tick: string;
  apply: boolean;
}

export function registerUpCommand(program: Command): void {
  program
    .command("up")
    .description(
      "run the control plane API, the serving endpoints, the scheduler, the monitors and the retrain loop from loopml.yaml",
    )
    .option("--role <roles>", `only these parts, comma-separated: ${ROLES.join(", ")}`)
    .option("--host <address>", "address to bind (anything but loopback needs API tokens)", "127.0.0.1")
    .option("--port <n>", "port of the API and the endpoints", "8080")
    .option("--tick <duration>", "how often schedules, monitors and the retrain loop look for work", "5s")
    .option(
      "--no-apply",
      "do not apply loopml.yaml at start (by default it is applied, never destroying data)",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  loopml up --port 8080\n  loopml up --role serving --port 8081     # one replica of the endpoints\n  loopml up --role scheduler,monitors,loop # the background workers",
    )
    .exitOverride()
    .action(async (opts: UpCliOptions, cmd: Command) => {
      const roles = parseRoles(opts.role);
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new LoopmlError("INVALID_ARGUMENT", `"${opts.port}" is not a port (0–65535).`);
      const g = globalOptions(cmd);
      const ws = await openWorkspace({
        dir: g.dir,
        ...(g.store !== undefined && { store: g.store }),
        ...(g.artifacts !== undefined && { artifacts: g.artifacts }),
      });
      try {
        const desired = await loadDesiredState(ws.config.projectDir);
        const stopped = new Promise<void>((resolve) => {
          process.once("SIGINT", () => resolve());
          process.once("SIGTERM", () => resolve());
        });
        const up = await startUp({
          ws,
          desired,
          ...(roles !== undefined && { roles }),
          host: opts.host,
          port,
          tickMs: durationMs(opts.tick),
          apply: opts.apply,
          log: (line) => process.stderr.write(`${line}\n`),
        });
        process.stderr.write(
          `loopml up: ${(roles ?? ROLES).join(", ")}${up.url !== null ? ` on ${up.url}` : ""} (Ctrl-C or SIGTERM to stop)\n`,
        );
        await stopped;
        process.stderr.write(
          "loopml up: stopping (finishing requests in flight, flushing the inference log)\n",
        );
        await up.stop();
      } finally {
        await ws.close();
      }
    });
}

function parseRoles(text: string | undefined): UpRole[] | undefined {
  if (text === undefined) return undefined;
  const roles = text.split(",").map((r) => r.trim());
  const bad = roles.find((r) => !(ROLES as readonly string[]).includes(r));
  if (bad !== undefined)
    throw new LoopmlError("INVALID_ARGUMENT", `Unknown role "${bad}"; use some of ${ROLES.join(", ")}.`);
  return roles as UpRole[];
}
