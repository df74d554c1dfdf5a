// loopml scheduler: runs the schedules and triggers of loopml.yaml until stopped (or one pass with --once).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import type { Command } from "commander";
import { CONFIG_FILE } from "../../../config.ts";
import { LoopmlError } from "../../../errors.ts";
import { nextFireTime } from "../../../pipeline/cron.ts";
import { createScheduler, type Firing } from "../../../pipeline/scheduler.ts";
import { parseAutomationYaml } from "../../../pipeline/schedules.ts";
import { loadPipelines, pipelineDeps } from "../../../pipeline/service.ts";
import { withWorkspace } from "../../context.ts";

export function registerSchedulerCommand(program: Command): void {
  program
    .command("scheduler")
    .description("run pipelines on their schedules and triggers from loopml.yaml (each firing is audited)")
    .option("--once", "check once, wait for the runs it started, then exit")
    .option("--interval <seconds>", "seconds between checks", parseSeconds, 15)
    .option("--jobs <n>", "steps at once within each run", parseJobs)
    .option("--json", "print each firing as a JSON line")
    .addHelpText(
      "after",
      '\nExample loopml.yaml:\n  schedules:\n    nightly: { pipeline: train, cron: "0 2 * * *", timezone: Europe/Paris }\n  triggers:\n    fresh-data: { pipeline: train, on: { dataset: flights } }\n\n  loopml scheduler --interval 30',
    )
    .exitOverride()
    .action(
      async (opts: { once?: boolean; interval: number; jobs?: number; json?: boolean }, cmd: Command) => {
        const json = opts.json === true;
        const controller = new AbortController();
        const onSignal = (): void => controller.abort();
        process.once("SIGINT", onSignal);
        process.once("SIGTERM", onSignal);
        try {
          await withWorkspace(cmd, async (ws) => {
            const automation = parseAutomationYaml(readConfigText(ws.config.projectDir), CONFIG_FILE);
            if (automation.schedules.length === 0 && automation.triggers.length === 0)
              throw new LoopmlError(
                "FAILED_PRECONDITION",
                `${CONFIG_FILE} has no schedules: or triggers: to run. See loopml scheduler --help for an example.`,
              );
            const print = (f: Firing): void => {
              process.stdout.write(
                json
                  ? `${JSON.stringify(f)}\n`
                  : `${new Date(ws.clock.now()).toISOString()} ${f.kind} ${f.name}: ${f.action} pipeline ${f.pipeline} ${JSON.stringify(f.cause)}\n`,
              );
            };
            const scheduler = createScheduler(pipelineDeps(ws), {
              automation,
              pipelines: loadPipelines(ws),
              ...(opts.jobs !== undefined && { jobs: opts.jobs }),
              onFiring: print,
              onRunEnd: (pipeline, r) => {
                const line =
                  r instanceof Error
                    ? { pipeline, status: "error", error: r.message }
                    : { pipeline, status: r.status, run: r.runId };
                process.stdout.write(
                  json ? `${JSON.stringify(line)}\n` : `  run of ${pipeline}: ${JSON.stringify(line)}\n`,
                );
              },
            });
            if (!json) {
              for (const s of automation.schedules)
                process.stdout.write(
                  `schedule ${s.name}: ${s.pipeline} at "${s.cron.source}" (${s.cron.timeZone}), next ${new Date(nextFireTime(s.cron, ws.clock.now())).toISOString()}\n`,
                );
              for (const t of automation.triggers)
                process.stdout.write(
                  `trigger ${t.name}: ${t.pipeline} on ${t.action} ${t.targetPrefix ?? ""}\n`,
                );
            }
            for (;;) {
              await scheduler.tick();
              if (opts.once === true || controller.signal.aborted) break;
              await delay(opts.interval * 1000, undefined, { signal: controller.signal }).catch(
                () => undefined,
              );
              if (controller.signal.aborted) break;
            }
            await scheduler.idle();
          });
        } finally {
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
        }
      },
    );
}

function readConfigText(dir: string): string {
  try {
    return readFileSync(join(dir, CONFIG_FILE), "utf8");
  } catch {
    throw new LoopmlError("FAILED_PRECONDITION", `No ${CONFIG_FILE} in ${dir}: run loopml init first.`);
  }
}

function parseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new LoopmlError("INVALID_ARGUMENT", `"${value}" must be a number > 0.`);
  return n;
}

function parseJobs(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new LoopmlError("INVALID_ARGUMENT", `--jobs "${value}" must be a whole number ≥ 1.`);
  return n;
}
