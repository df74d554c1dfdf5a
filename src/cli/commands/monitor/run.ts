// loopml monitor run | history | report | alerts: check a window now, look back at past windows, write reports.
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import { LoopmlError } from "../../../errors.ts";
import { renderMonitorReportHtml } from "../../../monitoring/monitor-report.ts";
import { createMonitorService, type MonitorResult } from "../../../monitoring/monitors.ts";
import { globalOptions, withWorkspace } from "../../context.ts";
import { emit, table } from "../../output.ts";

export function registerMonitorRunCommands(monitor: Command): void {
  monitor
    .command("run")
    .argument("[name]", "monitor name (or --due for every scheduled monitor that is due)")
    .description(
      "check the monitor's current window now: drift, data quality, performance; apply alert rules",
    )
    .option("--due", "run every monitor whose schedule is due (for cron or the scheduler)")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExamples:\n  loopml monitor run churn\n  loopml monitor run --due --json")
    .exitOverride()
    .action(async (name: string | undefined, opts: { due?: boolean; json?: boolean }, cmd: Command) => {
      if ((name === undefined) === (opts.due !== true)) {
        throw new LoopmlError(
          "INVALID_ARGUMENT",
          "Give a monitor name, or --due to run every scheduled monitor that is due.",
        );
      }
      const results = await withWorkspace(cmd, async (ws) => {
        const monitors = createMonitorService(ws);
        return name === undefined ? monitors.runDue() : [await monitors.run(name)];
      });
      emit(opts.json === true, name === undefined ? results : results[0], () =>
        results.length === 0 ? "no monitor is due" : results.map(describeResult).join("\n\n"),
      );
    });

  monitor
    .command("history")
    .argument("<name>", "monitor name")
    .description("past windows of a monitor, newest first")
    .option("--limit <n>", "at most this many windows", (v) => Number(v), 50)
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  loopml monitor history churn --limit 10")
    .exitOverride()
    .action(async (name: string, opts: { limit: number; json?: boolean }, cmd: Command) => {
      const runs = await withWorkspace(cmd, (ws) =>
        createMonitorService(ws).history(name, { limit: opts.limit }),
      );
      emit(opts.json === true, runs, () =>
        runs.length === 0
          ? `monitor ${name} has not run yet`
          : table(
              ["RUN", "TIME", "STATUS", "ROWS", "DRIFT SHARE", "WINDOW"],
              runs.map((r) => [
                String(r.seq),
                new Date(r.at).toISOString(),
                r.status,
                String(r.rows),
                r.driftShare === null ? "-" : r.driftShare.toFixed(2),
                r.windowStart === null
                  ? "-"
                  : `${new Date(r.windowStart).toISOString()} – ${new Date(r.windowEnd ?? r.windowStart).toISOString()}`,
              ]),
            ),
      );
    });

  monitor
    .command("report")
    .argument("<name>", "monitor name")
    .description("a monitor window as one self-contained HTML page (no network at view time) or JSON")
    .option("--run <n>", "which window (default: the newest)", (v) => Number(v))
    .option("--html <file>", "write the HTML report here")
    .option("--json", "print the stored result as JSON")
    .addHelpText("after", "\nExample:\n  loopml monitor report churn --html churn.html")
    .exitOverride()
    .action(async (name: string, opts: { run?: number; html?: string; json?: boolean }, cmd: Command) => {
      if (opts.html === undefined && opts.json !== true) {
        throw new LoopmlError("INVALID_ARGUMENT", "Say where the report goes: --html FILE and/or --json.");
      }
      const result = await withWorkspace(cmd, (ws) => createMonitorService(ws).result(name, opts.run));
      if (opts.html !== undefined) {
        await writeFile(resolve(globalOptions(cmd).dir, opts.html), renderMonitorReportHtml(result));
      }
      emit(
        opts.json === true,
        result,
        () => `report of ${name} window ${result.seq} written to ${opts.html ?? ""}`,
      );
    });

  monitor
    .command("alerts")
    .argument("<name>", "monitor name")
    .description("each alert rule's state: ok or firing, consecutive windows, last value")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  loopml monitor alerts churn")
    .exitOverride()
    .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
      const alerts = await withWorkspace(cmd, (ws) => createMonitorService(ws).alerts(name));
      emit(opts.json === true, alerts, () =>
        alerts.length === 0
          ? `monitor ${name} has no alert state yet (rules are evaluated on each run)`
          : table(
              ["RULE", "SEVERITY", "STATE", "CONSECUTIVE", "LAST VALUE", "SINCE"],
              alerts.map((a) => [
                a.rule,
                a.severity,
                a.state,
                String(a.consecutive),
                a.lastValue === null ? "-" : a.lastValue.toPrecision(4),
                a.since === null ? "-" : new Date(a.since).toISOString(),
              ]),
            ),
      );
    });
}

function describeResult(r: MonitorResult): string {
  const lines = [
    `monitor ${r.monitor} window ${r.seq}: ${r.status.replace(/_/g, " ").toUpperCase()} — ${r.window.rows} rows from ${r.window.source} vs ${r.reference.source} (${r.reference.rows} rows)`,
  ];
  if (r.status === "not_enough_data") {
    lines.push(
      "not enough data in the window for a verdict (no alarm); widen the window or wait for traffic",
    );
  }
  const cols = [...r.check.columns, ...(r.check.prediction ? [r.check.prediction] : [])];
  if (cols.length > 0) {
    lines.push(
      table(
        ["COLUMN", "TYPE", "TEST", "STATISTIC", "P-VALUE", "DRIFT", "MISSING", "OUT OF SCHEMA"],
        cols.map((c) => [
          c.column,
          c.kind,
          c.result?.test ?? "-",
          c.result ? c.result.statistic.toPrecision(4) : "-",
          c.result?.pValue == null ? "-" : c.result.pValue.toPrecision(4),
          c.result === null ? (c.note ?? "not enough data") : c.result.drifted ? "DRIFTED" : "no",
          `${(c.missingShare.current * 100).toFixed(1)}%`,
          c.newCategories.length > 0
            ? `new: ${c.newCategories.slice(0, 3).join(", ")}${c.newCategories.length > 3 ? "…" : ""}`
            : c.outOfRange && c.outOfRange.share > 0
              ? `${(c.outOfRange.share * 100).toFixed(1)}% out of range`
              : "",
        ]),
      ),
    );
  }
  const d = r.check.dataset;
  if (d)
    lines.push(
      `dataset ${d.drifted ? "DRIFTED" : "not drifted"}: ${d.driftedColumns}/${d.totalColumns} columns (share ${d.share.toFixed(2)})`,
    );
  const s = r.check.schema;
  if (s.missingColumns.length > 0)
    lines.push(`schema drift: columns missing from the window: ${s.missingColumns.join(", ")}`);
  if (s.typeChanges.length > 0)
    lines.push(`schema drift: type changed: ${s.typeChanges.map((t) => t.column).join(", ")}`);
  if (r.labels) {
    lines.push(
      `labels: ${r.labels.labelled} joined, ${r.labels.unlabelled} predictions unlabelled, ${r.labels.unknown} labels for unknown request ids`,
    );
  }
  for (const [name, m] of Object.entries(r.performance?.metrics ?? {})) {
    const decay =
      m.validation === undefined
        ? ""
        : ` (validation ${m.validation.toPrecision(4)}, change ${m.change! >= 0 ? "+" : ""}${m.change!.toPrecision(3)})`;
    lines.push(
      `${name} ${m.value.toPrecision(4)} [${m.low.toPrecision(4)}, ${m.high.toPrecision(4)}]${decay}`,
    );
  }
  for (const a of r.alerts) {
    lines.push(
      `ALERT ${a.transition === "fire" ? "FIRING" : "RESOLVED"} [${a.severity}] ${a.rule} (value ${a.value.toPrecision(4)})`,
    );
  }
  for (const d of r.deliveries.filter((x) => !x.ok))
    lines.push(`alert delivery failed: ${d.sink}: ${d.detail ?? ""}`);
  return lines.join("\n");
}
