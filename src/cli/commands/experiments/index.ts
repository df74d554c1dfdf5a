// loopml experiments list | create
import type { Command } from "commander";
import { createTrackingService } from "../../../tracking/service.ts";
import { withWorkspace } from "../../context.ts";
import { emit, table } from "../../output.ts";

export function registerExperimentCommands(program: Command): void {
  const experiments = program.command("experiments").description("groups of tracked runs").exitOverride();

  experiments
    .command("list")
    .description("list experiments with their run counts")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  loopml experiments list --json")
    .exitOverride()
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const rows = await withWorkspace(cmd, async (ws) => {
        const t = createTrackingService(ws);
        const list = await t.listExperiments();
        return Promise.all(list.map(async (e) => ({ ...e, runs: await t.countRuns(e.id) })));
      });
      emit(opts.json === true, rows, () =>
        table(
          ["ID", "NAME", "RUNS", "CREATED"],
          rows.map((e) => [e.id, e.name, String(e.runs), new Date(e.createdAt).toISOString()]),
        ),
      );
    });

  experiments
    .command("create")
    .description("create an experiment")
    .argument("<name>", "experiment name")
    .option("--tag <key=value...>", "tags", [])
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  loopml experiments create churn --tag team=ml")
    .exitOverride()
    .action(async (name: string, opts: { tag: string[]; json?: boolean }, cmd: Command) => {
      const tags = Object.fromEntries(
        opts.tag.map((t) => [t.split("=")[0] ?? t, t.slice(t.indexOf("=") + 1)]),
      );
      const e = await withWorkspace(cmd, (ws) => createTrackingService(ws).createExperiment(name, { tags }));
      emit(opts.json === true, e, () => `created experiment ${e.name} (id ${e.id})`);
    });
}
