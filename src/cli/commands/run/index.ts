// loopml run PIPELINE and loopml pipeline list | lineage: thin wrappers over the pipeline service.
import type { Command } from "commander";
import { LoopmlError } from "../../../errors.ts";
import {
  planPipeline,
  runPipeline,
  type PipelineRunResult,
  type StepResult,
} from "../../../pipeline/executor.ts";
import { parseParamArgs } from "../../../pipeline/params.ts";
import { loadPipeline, loadPipelines, withPipelineDeps } from "../../../pipeline/service.ts";
import { withWorkspace } from "../../context.ts";
import { emit, table } from "../../output.ts";
import { registerPipelineCommands } from "./pipeline.ts";
import { registerSchedulerCommand } from "./scheduler.ts";

interface RunFlags {
  dryRun?: boolean;
  step: string[];
  force: string[];
  param: string[];
  jobs?: number;
  keepGoing?: boolean;
  verbose?: boolean;
  cacheRemote?: string;
  json?: boolean;
}

export function registerPipelineRunCommands(program: Command): void {
  program
    .command("run")
    .description(
      "run a pipeline from loopml.yaml: changed steps run (in parallel), unchanged ones are reused",
    )
    .argument("<pipeline>", "a pipeline name under pipelines: in loopml.yaml")
    .option("--dry-run", "print the DAG with each step's cache key and whether it would run or be reused")
    .option("--step <name>", "run only this step and what it depends on (repeatable)", collect, [])
    .option("--force <name>", "run this step even when its result is cached (repeatable)", collect, [])
    .option("--param <key=value>", "override a param, e.g. --param train.lr=0.05 (repeatable)", collect, [])
    .option("--jobs <n>", "steps at once (default: the number of cores)", parsePositiveInt)
    .option("--keep-going", "keep starting independent steps after a step fails")
    .option("-v, --verbose", "stream each step's output live to stderr")
    .option(
      "--cache-remote <uri>",
      "shared step cache (file:PATH of a shared folder; env LOOPML_CACHE_REMOTE): reuse teammates' and CI's results, share yours",
    )
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  loopml run train --dry-run\n  loopml run train --jobs 4 --param train.lr=0.05\n  loopml run train --step evaluate --force evaluate\n  loopml run train --cache-remote file:/mnt/team/loopml-cache\n  LOOPML_QUEUE=redis://10.0.0.5:6379 loopml run train   # steps run on loopml worker processes",
    )
    .exitOverride()
    .action(async (name: string, opts: RunFlags, cmd: Command) => {
      const json = opts.json === true;
      const remote = opts.cacheRemote !== undefined ? { cacheRemote: opts.cacheRemote } : {};
      const common = {
        ...(opts.step.length > 0 && { targets: opts.step }),
        ...(opts.force.length > 0 && { force: opts.force }),
        params: parseParamArgs(opts.param),
      };
      if (opts.dryRun === true) {
        const { dag, plan } = await withWorkspace(cmd, (ws) =>
          withPipelineDeps(ws, remote, (deps) => planPipeline(deps, loadPipeline(ws, name), common)),
        );
        const steps = plan.map((s) => ({
          name: s.name,
          action: s.action,
          key: s.key ?? null,
          reason: s.reason,
          upstream: dag.steps.get(s.name)?.upstream ?? [],
        }));
        emit(json, { pipeline: name, version: dag.version, steps }, () =>
          [
            `pipeline ${name} version ${dag.version.slice(0, 12)} (dry run: nothing runs)`,
            table(
              ["STEP", "ACTION", "CACHE KEY", "AFTER", "WHY"],
              steps.map((s) => [
                s.name,
                s.action,
                s.key?.slice(0, 12) ?? "(after upstream)",
                s.upstream.join(",") || "-",
                s.reason,
              ]),
            ),
          ].join("\n"),
        );
        return;
      }
      const controller = new AbortController();
      const onSignal = (): void => controller.abort();
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      let result: PipelineRunResult;
      try {
        result = await withWorkspace(cmd, (ws) =>
          withPipelineDeps(ws, remote, (deps) =>
            runPipeline(deps, loadPipeline(ws, name), {
              ...common,
              ...(opts.jobs !== undefined && { jobs: opts.jobs }),
              keepGoing: opts.keepGoing === true,
              signal: controller.signal,
              onEvent: (e) => {
                if (json) return;
                if (e.type === "run-start")
                  process.stdout.write(
                    `pipeline ${e.pipeline} version ${e.version.slice(0, 12)} run ${e.runId}\n`,
                  );
                else if (e.type === "step-end") process.stdout.write(`${stepLine(e.result)}\n`);
                else if (e.type === "step-retry")
                  process.stderr.write(
                    `  ${e.step}: attempt ${e.attempt - 1} failed, retrying in ${e.delayMs} ms\n`,
                  );
                else if (e.type === "warning")
                  process.stderr.write(`warning: ${e.step !== undefined ? `${e.step}: ` : ""}${e.message}\n`);
              },
              ...(opts.verbose === true && {
                onOutput: (step: string, _stream: "stdout" | "stderr", chunk: Buffer) => {
                  for (const line of chunk.toString("utf8").split("\n"))
                    if (line !== "") process.stderr.write(`[${step}] ${line}\n`);
                },
              }),
            }),
          ),
        );
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
      emit(json, result, () => summary(result));
      if (result.status !== "succeeded") process.exitCode = 1;
    });
  registerPipelineCommands(program, loadPipelines);
  registerSchedulerCommand(program);
}

const MARK: Record<StepResult["status"], string> = { succeeded: "✓", cached: "↺", failed: "✗", skipped: "-" };

function stepLine(s: StepResult): string {
  const what =
    s.status === "succeeded"
      ? `ran in ${(s.durationMs / 1000).toFixed(1)} s${s.attempts > 1 ? ` (${s.attempts} attempts)` : ""}`
      : s.status === "cached"
        ? s.cacheSource === "remote"
          ? "reused from the remote cache"
          : "reused from cache"
        : s.status;
  const key = s.cacheKey !== undefined ? `  key ${s.cacheKey.slice(0, 12)}` : "";
  const err = s.error !== undefined ? `\n    ${s.error.replace(/\n/g, "\n    ")}` : "";
  return `${MARK[s.status]} ${s.step}  ${what}${key}${err}`;
}

function summary(r: PipelineRunResult): string {
  const n = (st: StepResult["status"]): number => r.steps.filter((s) => s.status === st).length;
  return `${r.status === "succeeded" ? "succeeded" : "FAILED"}: ${n("succeeded")} ran, ${n("cached")} reused, ${n("failed")} failed, ${n("skipped")} skipped in ${(r.durationMs / 1000).toFixed(1)} s (run ${r.runId}${r.trackingRunId !== undefined ? `, tracked as ${r.trackingRunId}` : ""})`;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new LoopmlError("INVALID_ARGUMENT", `--jobs "${value}" must be a whole number ≥ 1.`);
  return n;
}
