// loopml runs list | show | search | compare
import type { Command } from "commander";
import { LoopmlError } from "../../../errors.ts";
import { createTrackingService } from "../../../tracking/service.ts";
import type { Run, RunsPage } from "../../../tracking/types.ts";
import { withWorkspace } from "../../context.ts";
import { emit, table } from "../../output.ts";
import { registerRunsLineageCommand } from "./lineage.ts";

function fmt(n: number | null | undefined): string {
  if (n === null || n === undefined) return "-";
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(6)));
}

function duration(r: Run): string {
  if (r.info.endTime === null) return "-";
  return `${((r.info.endTime - r.info.startTime) / 1000).toFixed(1)}s`;
}

function runsTable(page: RunsPage, columns: { metrics: string[]; params: string[] }): string {
  if (page.runs.length === 0) return "no runs";
  const body = table(
    [
      "RUN",
      "NAME",
      "STATUS",
      "STARTED",
      "DURATION",
      ...columns.params.map((p) => `params.${p}`),
      ...columns.metrics.map((m) => `metrics.${m}`),
    ],
    page.runs.map((r) => [
      r.info.id,
      r.info.name,
      r.info.status,
      new Date(r.info.startTime).toISOString(),
      duration(r),
      ...columns.params.map((p) => r.params[p] ?? "-"),
      ...columns.metrics.map((m) => fmt(r.metrics[m]?.last)),
    ]),
  );
  return page.nextPageToken ? `${body}\n(more: --page-token ${page.nextPageToken})` : body;
}

/** The few metric and param keys worth a column: those of the first runs shown. */
function columnsOf(page: RunsPage): { metrics: string[]; params: string[] } {
  const metrics = new Set<string>();
  const params = new Set<string>();
  for (const r of page.runs.slice(0, 20)) {
    Object.keys(r.metrics).forEach((k) => metrics.add(k));
    Object.keys(r.params).forEach((k) => params.add(k));
  }
  return { metrics: [...metrics].sort().slice(0, 4), params: [...params].sort().slice(0, 3) };
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new LoopmlError("INVALID_ARGUMENT", `"${v}" is not a whole number ≥ 1.`);
  return n;
}

interface SearchOpts {
  experiment: string[];
  filter?: string;
  orderBy: string[];
  max: number;
  pageToken?: string;
  json?: boolean;
}

export function registerRunCommands(program: Command): void {
  const runs = program
    .command("runs")
    .description("tracked training runs: params, metrics, artifacts")
    .exitOverride();
  registerRunsLineageCommand(runs);

  const search = async (opts: SearchOpts, cmd: Command): Promise<void> => {
    const page = await withWorkspace(cmd, (ws) =>
      createTrackingService(ws).searchRuns({
        ...(opts.experiment.length > 0 && { experiments: opts.experiment }),
        ...(opts.filter !== undefined && { filter: opts.filter }),
        orderBy: opts.orderBy,
        maxResults: opts.max,
        ...(opts.pageToken !== undefined && { pageToken: opts.pageToken }),
      }),
    );
    emit(opts.json === true, page, () => runsTable(page, columnsOf(page)));
  };
  const collect = (v: string, prev: string[]): string[] => [...prev, v];

  for (const [verb, description, example] of [
    ["list", "list runs, newest first", "loopml runs list --experiment churn --max 20"],
    [
      "search",
      "find runs with a filter, ordered by any metric, param or attribute",
      'loopml runs search --experiment churn --filter \'metrics.auc > 0.9 and params.model = "gbdt"\' --order-by "metrics.auc DESC"',
    ],
  ] as const) {
    runs
      .command(verb)
      .description(description)
      .option("-e, --experiment <name-or-id>", "only this experiment (repeatable)", collect, [])
      .option(
        "-f, --filter <expr>",
        'e.g. metrics.auc > 0.9 and params.model = "gbdt" and status = "FINISHED"',
      )
      .option("-o, --order-by <term>", 'e.g. "metrics.auc DESC" (repeatable)', collect, [])
      .option("--max <n>", "runs per page", positiveInt, 100)
      .option("--page-token <token>", "the next page, as printed by the previous one")
      .option("--json", "print JSON")
      .addHelpText("after", `\nExample:\n  ${example}`)
      .exitOverride()
      .action(search);
  }

  runs
    .command("show")
    .description("a run's params, metrics (last/min/max), tags, inputs and artifacts")
    .argument("<run-id>")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  loopml runs show 3f2a… --json")
    .exitOverride()
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const { run, artifacts } = await withWorkspace(cmd, async (ws) => {
        const t = createTrackingService(ws);
        return { run: await t.getRun(id), artifacts: await t.listArtifacts(id) };
      });
      emit(opts.json === true, { ...run, artifacts }, () => {
        const i = run.info;
        const lines = [
          `run ${i.id}  ${i.name}  ${i.status}`,
          `experiment ${i.experimentId}  started ${new Date(i.startTime).toISOString()}  duration ${duration(run)}`,
          ...(i.parentRunId ? [`parent ${i.parentRunId}`] : []),
          ...(i.gitCommit ? [`code ${i.gitCommit}${i.gitDirty ? " (uncommitted changes)" : ""}`] : []),
          "",
          "params:",
          ...Object.entries(run.params).map(([k, v]) => `  ${k} = ${v}`),
          "metrics:",
          table(
            ["  KEY", "LAST", "MIN", "MAX", "STEPS"],
            Object.values(run.metrics).map((m) => [
              `  ${m.key}`,
              fmt(m.last),
              fmt(m.min),
              fmt(m.max),
              String(m.count),
            ]),
          ),
          "tags:",
          ...Object.entries(run.tags).map(([k, v]) => `  ${k} = ${v}`),
          "inputs:",
          ...run.inputs.map((d) => `  ${d.dataset}@${d.version} (${d.context})`),
          "artifacts:",
          ...artifacts.map((a) => `  ${a.path}  ${a.size} B  ${a.blobId.slice(0, 12)}`),
        ];
        return lines.join("\n");
      });
    });

  runs
    .command("compare")
    .description("runs side by side: every param (differences marked) and metric")
    .argument("<run-ids...>")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  loopml runs compare RUN_A RUN_B RUN_C")
    .exitOverride()
    .action(async (ids: string[], opts: { json?: boolean }, cmd: Command) => {
      const cmp = await withWorkspace(cmd, (ws) => createTrackingService(ws).compareRuns(ids));
      emit(opts.json === true, cmp, () =>
        table(
          ["", ...cmp.runs.map((r) => r.name)],
          [
            ["status", ...cmp.runs.map((r) => r.status)],
            ...cmp.params.map((p) => [
              `${p.differs ? "* " : "  "}params.${p.key}`,
              ...p.values.map((v) => v ?? "-"),
            ]),
            ...cmp.metrics.map((m) => [`  metrics.${m.key}`, ...m.last.map(fmt)]),
          ],
        ),
      );
    });
}
