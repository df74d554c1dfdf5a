// loopml ci init: GitHub Actions workflows for test on push, training on schedule or new data, and deployment.
import { mkdir, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Command } from "commander";
import { LoopmlError } from "../../../errors.ts";
import { githubWorkflows } from "../../../loop/ci-workflows.ts";
import { loadDesiredState } from "../../../loop/project.ts";
import { globalOptions } from "../../context.ts";
import { emit } from "../../output.ts";

export function registerCiCommands(program: Command): void {
  const ci = program.command("ci").description("CI/CD workflows for the project").exitOverride();
  ci.command("init")
    .description(
      "write GitHub Actions workflows: ci.yml (lint, test), train.yml (schedule or dataset change → train, promote), deploy.yml (apply, manifests)",
    )
    .option("--force", "overwrite workflow files that exist")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExample:\n  loopml ci init && git add .github && git commit -m 'CI for the loop'\n  # then set the repository secrets LOOPML_STORE, LOOPML_ARTIFACTS (and KUBECONFIG to deploy)",
    )
    .exitOverride()
    .action(async (opts: { force?: boolean; json?: boolean }, cmd: Command) => {
      const dir = globalOptions(cmd).dir;
      const files = githubWorkflows(await loadDesiredState(dir));
      if (opts.force !== true) {
        const existing: string[] = [];
        for (const f of files) if (await exists(join(dir, f.path))) existing.push(f.path);
        if (existing.length > 0)
          throw new LoopmlError(
            "ALREADY_EXISTS",
            `${existing.join(", ")} already exist. Nothing was written; run with --force to overwrite them.`,
            { existing },
          );
      }
      for (const f of files) {
        await mkdir(dirname(join(dir, f.path)), { recursive: true });
        await writeFile(join(dir, f.path), f.content);
      }
      emit(opts.json === true, { written: files.map((f) => f.path) }, () =>
        [
          "Wrote:",
          ...files.map((f) => `  ${f.path}`),
          "",
          "Set the repository secrets LOOPML_STORE and LOOPML_ARTIFACTS (a shared store), and KUBECONFIG to deploy.",
        ].join("\n"),
      );
    });
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
