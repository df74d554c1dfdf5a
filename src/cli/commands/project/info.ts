// loopml info: where this project's state lives and whether it is healthy.
import type { Command } from "commander";
import { withWorkspace } from "../../context.ts";
import { emit } from "../../output.ts";

export function registerInfoCommand(program: Command): void {
  program
    .command("info")
    .description("show the project's stores, schema version and audit chain status")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  LOOPML_STORE=postgres://loopml@127.0.0.1/loopml loopml info")
    .exitOverride()
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const info = await withWorkspace(cmd, async (ws) => ({
        projectDir: ws.config.projectDir,
        store: ws.store.location,
        schemaVersion: await ws.store.schemaVersion(),
        artifacts: ws.blobs.location,
        actor: ws.config.actor,
        audit: await ws.audit.verify(),
      }));
      emit(opts.json === true, info, () =>
        [
          `project      ${info.projectDir}`,
          `store        ${info.store} (schema v${info.schemaVersion})`,
          `artifacts    ${info.artifacts}`,
          `actor        ${info.actor}`,
          `audit chain  ${info.audit.ok ? `OK, ${info.audit.events} events` : `BROKEN at event ${info.audit.brokenAt}`}`,
        ].join("\n"),
      );
    });
}
