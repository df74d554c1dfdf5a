// loopml data add | status | checkout | versions | show | diff (push, pull, gc, query in maintenance.ts)
import { resolve } from "node:path";
import type { Command } from "commander";
import { createDataService } from "../../../data/service.ts";
import { withWorkspace } from "../../context.ts";
import { emit, table } from "../../output.ts";
import {
  formatAdd,
  formatCheckout,
  formatDiff,
  formatShow,
  formatStatus,
  formatVersions,
  lazyProgress,
} from "./format.ts";
import { registerDataMaintenanceCommands } from "./maintenance.ts";

interface JsonOpt {
  json?: boolean;
}

export function registerDataCommands(program: Command): void {
  const data = program
    .command("data")
    .description("version datasets: chunk-deduplicated snapshots, pointer files for git, diff, profiles")
    .exitOverride();

  data
    .command("add")
    .argument("<path>", "a file or folder inside the project")
    .description("snapshot a file or folder as a new dataset version (none if nothing changed)")
    .option("--name <name>", "dataset name (default: the file name without extension, or the folder name)")
    .option("-m, --message <text>", "what this version is")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      '\nExample:\n  loopml data add data/flights.csv --name flights -m "January to June"',
    )
    .exitOverride()
    .action(async (path: string, opts: JsonOpt & { name?: string; message?: string }, cmd: Command) => {
      const progress = lazyProgress("adding");
      const result = await withWorkspace(cmd, (ws) =>
        createDataService(ws).add(resolve(process.cwd(), path), {
          ...(opts.name !== undefined && { name: opts.name }),
          ...(opts.message !== undefined && { message: opts.message }),
          onProgress: (done, total) => progress.update(done, total),
        }),
      );
      progress.finish();
      emit(opts.json === true, result, () => formatAdd(result));
    });

  data
    .command("status")
    .argument("[name]", "one dataset (default: all)")
    .description("what changed on disk since the last add or checkout")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  loopml data status flights")
    .exitOverride()
    .action(async (name: string | undefined, opts: JsonOpt, cmd: Command) => {
      const all = await withWorkspace(cmd, (ws) => createDataService(ws).status(name));
      emit(opts.json === true, all, () => formatStatus(all));
    });

  data
    .command("checkout")
    .argument("<ref>", "NAME or NAME@VERSION (a number, latest, or an id prefix)")
    .description("make the files on disk exactly that version, hash-verified")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  loopml data checkout flights@2")
    .exitOverride()
    .action(async (ref: string, opts: JsonOpt, cmd: Command) => {
      const progress = lazyProgress("checking out");
      const result = await withWorkspace(cmd, (ws) =>
        createDataService(ws).checkout(ref, { onProgress: (d, t) => progress.update(d, t) }),
      );
      progress.finish();
      emit(opts.json === true, result, () => formatCheckout(result));
    });

  data
    .command("versions")
    .argument("[name]", "a dataset (default: list the datasets)")
    .description("list a dataset's versions, or all datasets")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  loopml data versions flights")
    .exitOverride()
    .action(async (name: string | undefined, opts: JsonOpt, cmd: Command) => {
      await withWorkspace(cmd, async (ws) => {
        const svc = createDataService(ws);
        if (name !== undefined) {
          const versions = await svc.versions(name);
          emit(opts.json === true, versions, () => formatVersions(versions));
          return;
        }
        const datasets = await svc.datasets();
        emit(opts.json === true, datasets, () =>
          datasets.length === 0
            ? "no datasets yet: add one with loopml data add PATH"
            : table(
                ["DATASET", "PATH", "KIND", "LATEST"],
                datasets.map((d) => [d.name, d.path, d.kind, `@${d.latestSeq}`]),
              ),
        );
      });
    });

  data
    .command("show")
    .argument("<ref>", "NAME or NAME@VERSION")
    .description("a version's files and, for CSV/Parquet, its schema and column profile")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  loopml data show flights@3")
    .exitOverride()
    .action(async (ref: string, opts: JsonOpt, cmd: Command) => {
      const details = await withWorkspace(cmd, (ws) => createDataService(ws).show(ref));
      emit(opts.json === true, details, () => formatShow(details));
    });

  data
    .command("diff")
    .argument("<from>", "NAME@A")
    .argument("<to>", "NAME@B (or just B)")
    .description("files added/removed/changed, and for tables: row count, schema and statistic changes")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  loopml data diff flights@1 flights@2")
    .exitOverride()
    .action(async (from: string, to: string, opts: JsonOpt, cmd: Command) => {
      const diff = await withWorkspace(cmd, (ws) => createDataService(ws).diff(from, to));
      emit(opts.json === true, diff, () => formatDiff(diff));
    });

  registerDataMaintenanceCommands(data);
}
