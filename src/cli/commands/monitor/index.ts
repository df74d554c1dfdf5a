// loopml monitor list | create | delete | run | history | report | alerts
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import { parse as parseYaml } from "yaml";
import { LoopmlError } from "../../../errors.ts";
import type { AlertRule, AlertSink, Severity } from "../../../monitoring/alert-rules.ts";
import type { MonitorSpec } from "../../../monitoring/monitor-spec.ts";
import { createMonitorService } from "../../../monitoring/monitors.ts";
import { globalOptions, withWorkspace } from "../../context.ts";
import { emit, table } from "../../output.ts";
import { registerMonitorRunCommands } from "./run.ts";

interface CreateOptions {
  file?: string;
  model?: string;
  deployment?: string;
  dataset?: string;
  reference?: string;
  rows?: number;
  span?: string;
  target?: string;
  columns?: string;
  test: string[];
  threshold: string[];
  driftShare?: number;
  minRows?: number;
  schedule?: string;
  task?: string;
  alert: string[];
  webhook?: string;
  allowPrivateWebhook?: boolean;
  json?: boolean;
}

export function registerMonitorCommands(program: Command): void {
  const monitor = program
    .command("monitor")
    .description("watch a model's predictions (or a dataset) for drift, data problems and decay; alert on it")
    .exitOverride();

  monitor
    .command("list")
    .description("monitors with what they watch, their reference and window")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  loopml monitor list --json")
    .exitOverride()
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const monitors = await withWorkspace(cmd, (ws) => createMonitorService(ws).list());
      emit(opts.json === true, monitors, () =>
        monitors.length === 0
          ? "no monitors (create one with loopml monitor create)"
          : table(
              ["NAME", "WATCHES", "REFERENCE", "WINDOW", "SCHEDULE", "ALERTS"],
              monitors.map(({ spec: s }) => [
                s.name,
                s.model !== undefined
                  ? `model:${s.model}`
                  : s.deployment !== undefined
                    ? `deployment:${s.deployment}`
                    : `dataset:${s.dataset ?? ""}`,
                s.reference,
                [s.window.rows !== undefined ? `${s.window.rows} rows` : "", s.window.span ?? ""]
                  .filter(Boolean)
                  .join(", "),
                s.schedule ?? "-",
                String(s.alerts?.length ?? 0),
              ]),
            ),
      );
    });

  monitor
    .command("create")
    .argument("<name>", "monitor name")
    .description("create a monitor, or replace the one with this name (from options or a YAML/JSON file)")
    .option("-f, --file <spec>", "a YAML or JSON MonitorSpec (the options below override its fields)")
    .option("--model <name>", "watch this registered model's inference log")
    .option("--deployment <name>", "watch the model this deployment serves")
    .option("--dataset <name>", "watch the newest version of this dataset")
    .option("--reference <ref>", "dataset:NAME@VERSION or run:RUN_ID (the data the model was trained on)")
    .option("--rows <n>", "window: the newest N rows", parsePositiveInt)
    .option("--span <span>", "window: rows of the last span, e.g. 30m, 24h, 7d")
    .option("--target <column>", "the reference's label column: predictions are compared with it")
    .option("--columns <list>", "comma-separated columns to check (default: all but the target)")
    .option(
      "--test <column=test>",
      'a column\'s drift test ("*" for all, "prediction" for predictions); repeatable',
      collect,
      [],
    )
    .option("--threshold <column=x>", "a column's threshold; repeatable", collect, [])
    .option(
      "--drift-share <x>",
      "share of drifted columns that makes a window drifted (default 0.5)",
      parseNumber,
    )
    .option("--min-rows <n>", "fewer rows is 'not enough data' (default 30)", parsePositiveInt)
    .option("--schedule <cron>", 'when `loopml monitor run --due` runs it, e.g. "0 * * * *" (UTC)')
    .option("--task <task>", "classification or regression (default: inferred)")
    .option(
      "--alert <rule[:severity]>",
      'e.g. "drift_share >= 0.3 for 2 consecutive windows:warning"; repeatable',
      collect,
      [],
    )
    .option("--webhook <url>", "also POST alerts as JSON to this URL")
    .option("--allow-private-webhook", "allow a webhook on a loopback or private address")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      `\nExamples:
  loopml monitor create churn --model churn --reference dataset:churn@1 --target churned --rows 5000 \\
    --alert "drift_share >= 0.3 for 2 consecutive windows:warning" --alert "auc < 0.95 * validation.auc:critical"
  loopml monitor create flights --dataset flights --reference dataset:flights@1 --rows 100000
  loopml monitor create -f monitor.yaml churn`,
    )
    .exitOverride()
    .action(async (name: string, opts: CreateOptions, cmd: Command) => {
      const spec = await specFrom(name, opts, globalOptions(cmd).dir);
      const m = await withWorkspace(cmd, (ws) => createMonitorService(ws).upsert(spec));
      emit(
        opts.json === true,
        m,
        () => `monitor ${m.spec.name} saved; run it with loopml monitor run ${m.spec.name}`,
      );
    });

  monitor
    .command("delete")
    .argument("<name>", "monitor name")
    .description("delete a monitor (its past results are kept)")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  loopml monitor delete churn")
    .exitOverride()
    .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
      await withWorkspace(cmd, (ws) => createMonitorService(ws).remove(name));
      emit(opts.json === true, { deleted: name }, () => `monitor ${name} deleted`);
    });

  registerMonitorRunCommands(monitor);
}

async function specFrom(name: string, o: CreateOptions, dir: string): Promise<MonitorSpec> {
  let base: Record<string, unknown> = {};
  if (o.file !== undefined) {
    const text = await readFile(resolve(dir, o.file), "utf8").catch(() => {
      throw new LoopmlError("INVALID_ARGUMENT", `Cannot read monitor spec ${o.file}.`);
    });
    const parsed: unknown = parseYaml(text);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `${o.file} must hold one monitor spec (a YAML or JSON object).`,
      );
    }
    base = parsed as Record<string, unknown>;
  }
  const window = { ...(base["window"] as object | undefined) } as { rows?: number; span?: string };
  if (o.rows !== undefined) window.rows = o.rows;
  if (o.span !== undefined) window.span = o.span;
  const sinks: AlertSink[] = [{ type: "log" }];
  if (o.webhook !== undefined) {
    sinks.push({
      type: "webhook",
      url: o.webhook,
      ...(o.allowPrivateWebhook === true && { allowPrivate: true }),
    });
  }
  const alerts: AlertRule[] = o.alert.map((a) => {
    const m = /^(.*?)(?::(info|warning|critical))?$/.exec(a)!;
    return { when: m[1]!.trim(), ...(m[2] !== undefined && { severity: m[2] as Severity }), sinks };
  });
  const pairs = (list: string[], what: string): Record<string, string> | undefined => {
    if (list.length === 0) return undefined;
    return Object.fromEntries(
      list.map((s) => {
        const at = s.indexOf("=");
        if (at <= 0) throw new LoopmlError("INVALID_ARGUMENT", `--${what} "${s}" must be COLUMN=VALUE.`);
        return [s.slice(0, at), s.slice(at + 1)];
      }),
    );
  };
  const thresholds = pairs(o.threshold, "threshold");
  const tests = pairs(o.test, "test");
  return {
    ...base,
    name,
    ...(o.model !== undefined && { model: o.model }),
    ...(o.deployment !== undefined && { deployment: o.deployment }),
    ...(o.dataset !== undefined && { dataset: o.dataset }),
    ...(o.reference !== undefined && { reference: o.reference }),
    window,
    ...(o.target !== undefined && { target: o.target }),
    ...(o.columns !== undefined && {
      columns: o.columns
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    }),
    ...(tests && { tests: { ...(base["tests"] as object | undefined), ...tests } }),
    ...(thresholds && {
      thresholds: {
        ...(base["thresholds"] as object | undefined),
        ...Object.fromEntries(Object.entries(thresholds).map(([k, v]) => [k, Number(v)])),
      },
    }),
    ...(o.driftShare !== undefined && { driftShare: o.driftShare }),
    ...(o.minRows !== undefined && { minRows: o.minRows }),
    ...(o.schedule !== undefined && { schedule: o.schedule }),
    ...(o.task !== undefined && { task: o.task as "classification" | "regression" }),
    ...(alerts.length > 0 && { alerts: [...((base["alerts"] as AlertRule[] | undefined) ?? []), ...alerts] }),
  } as MonitorSpec;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parseNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new LoopmlError("INVALID_ARGUMENT", `"${value}" is not a number.`);
  return n;
}

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new LoopmlError("INVALID_ARGUMENT", `"${value}" is not a positive integer.`);
  return n;
}
