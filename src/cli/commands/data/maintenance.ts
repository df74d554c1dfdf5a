// loopml data push | pull | gc | query
import { mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import { LoopmlError } from "../../../errors.ts";
import type { TransferResult } from "../../../data/remote.ts";
import { createDataService } from "../../../data/service.ts";
import { withWorkspace } from "../../context.ts";
import { emit, table } from "../../output.ts";
import { formatBytes } from "../../progress.ts";
import { lazyProgress } from "./format.ts";

interface TransferOpts {
  remote: string;
  json?: boolean;
}

function formatTransfer(verb: string, r: TransferResult): string {
  const lines = [
    `${verb} ${r.remote}: ${r.copied} of ${r.blobs} blob(s) copied (${formatBytes(r.bytes)}), ${r.versions} version(s)`,
  ];
  if (r.imported.length > 0) lines.push(`registered from pointer files: ${r.imported.join(", ")}`);
  return lines.join("\n");
}

function cellText(v: unknown): string {
  switch (typeof v) {
    case "string":
      return v;
    case "number":
    case "boolean":
    case "bigint":
      return String(v);
    default:
      return v === null || v === undefined ? "" : JSON.stringify(v);
  }
}

function csvCell(v: unknown): string {
  const s = cellText(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function registerDataMaintenanceCommands(data: Command): void {
  for (const verb of ["push", "pull"] as const) {
    data
      .command(verb)
      .argument("[name]", "one dataset (default: all)")
      .description(
        verb === "push"
          ? "copy the chunks of every version that the remote lacks (parallel, resumable)"
          : "fetch missing chunks of known versions and of versions named by pointer files",
      )
      .requiredOption("--remote <uri>", "blob store: file:PATH or s3://BUCKET/PREFIX")
      .option("--json", "print JSON")
      .addHelpText("after", `\nExample:\n  loopml data ${verb} flights --remote s3://team-bucket/loopml`)
      .exitOverride()
      .action(async (name: string | undefined, opts: TransferOpts, cmd: Command) => {
        const progress = lazyProgress(verb === "push" ? "pushing" : "pulling");
        const result = await withWorkspace(cmd, (ws) => {
          const svc = createDataService(ws);
          const o = {
            ...(name !== undefined && { name }),
            onProgress: (d: number, t: number) => progress.update(d, t),
          };
          return verb === "push" ? svc.push(opts.remote, o) : svc.pull(opts.remote, o);
        });
        progress.finish();
        emit(opts.json === true, result, () =>
          formatTransfer(verb === "push" ? "pushed to" : "pulled from", result),
        );
      });
  }

  data
    .command("gc")
    .description(
      "delete chunks that no dataset version references (safe while others add data); with --keep-last, drop old versions that no registered model cites",
    )
    .option("--dry-run", "only list what would be deleted")
    .option(
      "--keep-last <n>",
      "keep the newest N versions of each dataset, plus older ones a model version's lineage names",
    )
    .option("--json", "print JSON")
    .addHelpText("after", "\nExamples:\n  loopml data gc --dry-run\n  loopml data gc --keep-last 5")
    .exitOverride()
    .action(async (opts: { dryRun?: boolean; keepLast?: string; json?: boolean }, cmd: Command) => {
      const keepLast = opts.keepLast === undefined ? undefined : Number(opts.keepLast);
      const result = await withWorkspace(cmd, (ws) =>
        createDataService(ws).gc({
          dryRun: opts.dryRun === true,
          ...(keepLast !== undefined && { keepLast }),
        }),
      );
      emit(opts.json === true, result, () =>
        [
          ...(result.dropped.length > 0
            ? [`${result.dryRun ? "would drop" : "dropped"} version(s): ${result.dropped.join(", ")}`]
            : []),
          ...result.pinned.map((p) => `kept ${p.version}: cited by model version ${p.by.join(", ")}`),
          `${result.dryRun ? "would delete" : "deleted"} ${result.deleted.length} blob(s), ${formatBytes(result.bytes)}; ${result.kept} referenced blob(s) kept`,
          ...(result.dryRun ? result.deleted.map((id) => `  ${id}`) : []),
        ].join("\n"),
      );
    });

  data
    .command("query")
    .argument("<sql>", "SQL where each dataset is a table named after it")
    .description("run SQL (DuckDB) over dataset versions without checking them out")
    .option("--at <ref...>", "query these versions (NAME@VERSION); others use their latest")
    .option("--format <format>", "table, csv or json", "table")
    .option("--save <name>", "store the result as a new version of this dataset (Parquet), with lineage")
    .option("--save-path <path>", "where the saved Parquet file lives (default data/NAME.parquet)")
    .option("--json", "print JSON (same as --format json)")
    .addHelpText(
      "after",
      '\nExamples:\n  loopml data query "SELECT origin, avg(delay) FROM flights GROUP BY 1 ORDER BY 2 DESC LIMIT 5" --at flights@2\n  loopml data query "SELECT * FROM flights WHERE delay > 60" --save late-flights',
    )
    .exitOverride()
    .action(
      async (
        sqlText: string,
        opts: { at?: string[]; format: string; save?: string; savePath?: string; json?: boolean },
        cmd: Command,
      ) => {
        const format = opts.json === true ? "json" : opts.format;
        if (!["table", "csv", "json"].includes(format)) {
          throw new LoopmlError("INVALID_ARGUMENT", `Unknown --format "${format}": use table, csv or json.`);
        }
        await withWorkspace(cmd, async (ws) => {
          const svc = createDataService(ws);
          const at = { ...(opts.at !== undefined && { at: opts.at }) };
          if (opts.save !== undefined) {
            const path = resolve(ws.config.projectDir, opts.savePath ?? `data/${opts.save}.parquet`);
            await mkdir(dirname(path), { recursive: true });
            const q = await svc.query(sqlText, { ...at, toParquet: path });
            const added = await svc.add(path, {
              name: opts.save,
              message: `query over ${q.sources.join(", ")}: ${sqlText}`.slice(0, 2000),
              sources: q.sources,
            });
            emit(
              format === "json",
              { ...added, sources: q.sources },
              () =>
                `saved as ${added.version.dataset}@${added.version.seq} (${added.path}), derived from ${q.sources.join(", ")}`,
            );
            return;
          }
          const r = await svc.query(sqlText, at);
          if (format === "json") {
            emit(
              true,
              r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, row[i]]))),
              () => "",
            );
          } else if (format === "csv") {
            process.stdout.write(
              `${[r.columns.map(csvCell).join(","), ...r.rows.map((row) => row.map(csvCell).join(","))].join("\n")}\n`,
            );
          } else {
            emit(false, r, () =>
              table(
                r.columns,
                r.rows.map((row) => row.map((v) => (v === null ? "NULL" : cellText(v)))),
              ),
            );
          }
        });
      },
    );
}
