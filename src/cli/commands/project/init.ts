// loopml init [dir]
import type { Command } from "commander";
import { initProject } from "../../../deploy/init-project.ts";
import { emit } from "../../output.ts";

export function registerInitCommand(program: Command): void {
  program
    .command("init")
    .argument("[dir]", "folder for the new project", ".")
    .description(
      "scaffold a new ML project: loopml.yaml, Makefile, sample data and pipeline, a test, a CI workflow",
    )
    .option("--force", "overwrite files that already exist")
    .option("--name <name>", "project name (default: the folder's name)")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  loopml init churn-model && cd churn-model && make test")
    .exitOverride()
    .action(async (dir: string, opts: { force?: boolean; name?: string; json?: boolean }) => {
      const result = await initProject(dir, {
        force: opts.force === true,
        ...(opts.name !== undefined && { name: opts.name }),
      });
      emit(opts.json === true, result, () =>
        [
          `Created a loopml project in ${result.dir}:`,
          ...result.written.map((p) => `  ${p}`),
          "",
          "Next: cd into it and run `make test`.",
        ].join("\n"),
      );
    });
}
