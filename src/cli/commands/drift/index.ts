// loopml drift REFERENCE CURRENT: compare two CSV/Parquet files column by column, like Evidently's DataDriftPreset.
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import { readFrame } from "../../../data/read-frame.ts";
import { LoopmlError } from "../../../errors.ts";
import { buildDriftReport } from "../../../monitoring/drift-report.ts";
import { renderDriftReportHtml } from "../../../monitoring/report-html.ts";
import type { DriftTestName } from "../../../monitoring/stats/index.ts";
import { globalOptions } from "../../context.ts";
import { emit, table } from "../../output.ts";

const TESTS: readonly DriftTestName[] = [
  "ks",
  "chisquare",
  "z",
  "wasserstein",
  "jensenshannon",
  "psi",
  "kl_div",
  "hellinger",
  "anderson",
  "cramer_von_mises",
  "mannw",
  "fisher_exact",
  "mmd",
];

interface DriftOptions {
  columns?: string;
  test: string[];
  threshold?: number;
  share?: number;
  html?: string;
  json?: boolean;
}

export function registerDriftCommand(program: Command): void {
  program
    .command("drift")
    .argument("<reference>", "reference data: a CSV or Parquet file")
    .argument("<current>", "current data: a CSV or Parquet file")
    .description(
      "compare two tables column by column with Evidently's default tests and give the dataset verdict",
    )
    .option("--columns <list>", "comma-separated columns to compare (default: all columns both have)")
    .option("--test <column=test>", `override a column's test (${TESTS.join(", ")}); repeatable`, collect, [])
    .option("--threshold <x>", "threshold for every column (p-value or distance, per test)", parseNumber)
    .option(
      "--share <x>",
      "share of drifted columns that makes the dataset drifted (default 0.5)",
      parseNumber,
    )
    .option("--html <file>", "also write a self-contained HTML report")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExample:\n  loopml drift january.parquet june.parquet --test delay=psi --html drift.html",
    )
    .exitOverride()
    .action(async (referencePath: string, currentPath: string, opts: DriftOptions, cmd: Command) => {
      const dir = globalOptions(cmd).dir;
      const [ref, cur] = await Promise.all([
        readFrame(resolve(dir, referencePath)),
        readFrame(resolve(dir, currentPath)),
      ]);
      for (const [path, frame] of [
        [referencePath, ref.frame],
        [currentPath, cur.frame],
      ] as const) {
        if (frame.nRows === 0)
          throw new LoopmlError("INVALID_ARGUMENT", `${path} has no rows: there is nothing to compare.`);
      }
      const report = buildDriftReport(ref.frame, cur.frame, {
        ...(opts.columns !== undefined && {
          columns: opts.columns
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean),
        }),
        tests: parseTests(opts.test),
        ...(opts.threshold !== undefined && { thresholds: { "*": opts.threshold } }),
        ...(opts.share !== undefined && { shareThreshold: opts.share }),
      });
      if (opts.html) {
        const html = renderDriftReportHtml(report, {
          title: "Data drift report",
          reference: referencePath,
          current: currentPath,
          generatedAt: new Date().toISOString(),
        });
        await writeFile(resolve(dir, opts.html), html);
      }
      emit(opts.json === true, report, () => {
        const d = report.dataset;
        const lines = [
          table(
            ["COLUMN", "TYPE", "TEST", "STATISTIC", "P-VALUE", "THRESHOLD", "DRIFT"],
            report.columns.map((c) =>
              c.result === null
                ? [c.column, c.kind, "-", "-", "-", "-", "not enough data"]
                : [
                    c.column,
                    c.kind,
                    c.result.test,
                    c.result.statistic.toPrecision(4),
                    c.result.pValue === null ? "-" : c.result.pValue.toPrecision(4),
                    String(c.result.threshold),
                    c.result.drifted ? "DRIFTED" : "no",
                  ],
            ),
          ),
          "",
          `dataset ${d.drifted ? "DRIFTED" : "not drifted"}: ${d.driftedColumns}/${d.totalColumns} columns drifted (share ${d.share.toFixed(2)})`,
        ];
        if (report.missingColumns.length > 0)
          lines.push(`columns missing from current: ${report.missingColumns.join(", ")}`);
        if (report.extraColumns.length > 0)
          lines.push(`columns only in current: ${report.extraColumns.join(", ")}`);
        if (opts.html) lines.push(`HTML report written to ${opts.html}`);
        return lines.join("\n");
      });
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parseNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw new LoopmlError("INVALID_ARGUMENT", `"${value}" is not a non-negative number.`);
  return n;
}

function parseTests(specs: readonly string[]): Record<string, DriftTestName> {
  const out: Record<string, DriftTestName> = {};
  for (const spec of specs) {
    const [column, test] = spec.split("=");
    if (!column || !test || !(TESTS as readonly string[]).includes(test)) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `--test "${spec}" must be COLUMN=TEST with TEST one of ${TESTS.join(", ")}.`,
      );
    }
    out[column] = test as DriftTestName;
  }
  return out;
}
