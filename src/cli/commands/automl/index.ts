// loopml automl: search learners and hyperparameters for a CSV/Parquet table under a time budget and print the leaderboard.
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import { automl, type AutomlResult } from "../../../automl/automl.ts";
import { formatLeaderboard, formatProblem } from "../../../automl/leaderboard.ts";
import { METRIC_NAMES } from "../../../automl/metric.ts";
import { startAutomlTracking } from "../../../automl/track.ts";
import type { MetricName, ProgressState, Task, TrialRecord } from "../../../automl/types.ts";
import { readFrame } from "../../../data/read-frame.ts";
import { LoopmlError } from "../../../errors.ts";
import { createTrackingService } from "../../../tracking/service.ts";
import { globalOptions, withWorkspace } from "../../context.ts";
import { emit } from "../../output.ts";
import { formatSeconds } from "../../progress.ts";

interface AutomlCliOptions {
  data: string;
  target: string;
  task: string;
  metric?: string;
  budget?: string;
  timeColumn?: string;
  maxTrials?: string;
  seed: string;
  exclude?: string;
  ensemble: boolean;
  out?: string;
  experiment?: string;
  json?: boolean;
}

const TASKS = ["auto", "binary", "multiclass", "regression"] as const;
/** Without a terminal, print a progress line this often instead of redrawing one. */
const PLAIN_PROGRESS_MS = 5000;

export function registerAutomlCommand(program: Command): void {
  program
    .command("automl")
    .description(
      "find the best model for a target column within a time budget (cost-frugal search, ensembles)",
    )
    .requiredOption("--data <file>", "training data: a CSV or Parquet file")
    .requiredOption("--target <column>", "the column to predict")
    .option("--task <task>", `${TASKS.join(" | ")}`, "auto")
    .option(
      "--metric <metric>",
      `metric to optimise (${METRIC_NAMES.join(", ")}); by default ROC AUC, log loss or RMSE`,
    )
    .option(
      "--budget <time>",
      "wall-clock budget including the final refit, e.g. 60s, 5m (default 60s unless --max-trials)",
    )
    .option("--time-column <column>", "validate on later rows than the ones trained on")
    .option("--max-trials <n>", "stop after n trials; with --seed and no --budget the result is reproducible")
    .option("--seed <n>", "seed for splits, sampling and the search", "0")
    .option("--exclude <columns>", "comma-separated columns to leave out of the features")
    .option("--no-ensemble", "keep the best single model even when an ensemble validates better")
    .option("--out <file>", "write the refit model (JSON, with its preprocessing) to this file")
    .option(
      "--experiment <name>",
      "track the search as a run of this experiment, with one nested run per trial",
    )
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  loopml automl --data breast_cancer.csv --target diagnosis --budget 60s\n  loopml automl --data flights.parquet --target delay --time-column date --budget 5m --out model.json",
    )
    .exitOverride()
    .action(async (opts: AutomlCliOptions, cmd: Command) => {
      const dir = globalOptions(cmd).dir;
      const task = parseTask(opts.task);
      const budgetSeconds = opts.budget === undefined ? undefined : parseBudget(opts.budget);
      const maxTrials =
        opts.maxTrials === undefined ? undefined : parseInteger("--max-trials", opts.maxTrials, 1);
      const seed = parseInteger("--seed", opts.seed, 0);
      const { frame } = await readFrame(resolve(dir, opts.data));
      const controller = new AbortController();
      // The first Ctrl-C stops the search and keeps the best model so far; a second one exits as usual.
      const onInterrupt = (): void => controller.abort();
      process.once("SIGINT", onInterrupt);
      const progress = createProgressLine();
      const out = opts.out === undefined ? null : resolve(dir, opts.out);
      const search = async (onTrial?: (t: TrialRecord) => Promise<void>): Promise<AutomlResult> => {
        const result = await automl(frame, {
          target: opts.target,
          task,
          ...(opts.metric !== undefined && { metric: opts.metric as MetricName }),
          ...(budgetSeconds !== undefined && { budgetSeconds }),
          ...(maxTrials !== undefined && { maxTrials }),
          ...(opts.timeColumn !== undefined && { timeColumn: opts.timeColumn }),
          ...(opts.exclude !== undefined && { exclude: splitList(opts.exclude) }),
          ensemble: opts.ensemble,
          seed,
          signal: controller.signal,
          onProgress: progress.update,
          ...(onTrial && { onTrial }),
        });
        if (out !== null) await writeFile(out, JSON.stringify(result.model));
        return result;
      };
      let result: AutomlResult;
      try {
        result =
          opts.experiment === undefined
            ? await search()
            : await withWorkspace(cmd, async (ws) => {
                const tracker = await startAutomlTracking(createTrackingService(ws), {
                  experiment: opts.experiment as string,
                  target: opts.target,
                  data: opts.data,
                });
                try {
                  const r = await search((t) => tracker.onTrial(t));
                  await tracker.finish(r, out ?? undefined);
                  return r;
                } catch (e) {
                  await tracker.fail();
                  throw e;
                }
              });
      } finally {
        process.removeListener("SIGINT", onInterrupt);
        progress.finish();
      }
      emit(
        opts.json === true,
        {
          problem: result.problem,
          best: result.best,
          leaderboard: result.leaderboard,
          trials: result.trials,
          featureImportance: result.featureImportance,
          ensemble: result.ensembleNote,
          stoppedBy: result.stoppedBy,
          elapsedSeconds: result.elapsedSeconds,
          model: out,
        },
        () =>
          [
            formatProblem(result),
            "",
            formatLeaderboard(result, 10),
            "",
            `ensemble    ${result.ensembleNote}`,
            `importance  ${result.featureImportance
              .slice(0, 5)
              .map((f) => `${f.feature} ${(100 * f.importance).toFixed(1)}%`)
              .join(", ")}`,
            `search      ${result.trials.length} trials in ${result.elapsedSeconds.toFixed(1)} s, stopped by ${result.stoppedBy}`,
            ...(out !== null ? [`model       ${out}`] : []),
          ].join("\n"),
      );
    });
}

/** Accepts 90, 90s, 5m, 1h, 1m30s. */
export function parseBudget(text: string): number {
  const parts = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?$/.exec(text.trim());
  const [h, m, s] = parts ? [parts[1], parts[2], parts[3]] : [];
  const seconds = Number(h ?? 0) * 3600 + Number(m ?? 0) * 60 + Number(s ?? 0);
  if (!parts || text.trim() === "" || !(seconds > 0)) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `--budget "${text}" is not a duration; write e.g. 60s, 5m or 1h.`,
    );
  }
  return seconds;
}

function parseTask(text: string): Task | "auto" {
  if (!(TASKS as readonly string[]).includes(text)) {
    throw new LoopmlError("INVALID_ARGUMENT", `--task "${text}" is not one of ${TASKS.join(", ")}.`);
  }
  return text as Task | "auto";
}

function parseInteger(flag: string, text: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) {
    throw new LoopmlError("INVALID_ARGUMENT", `${flag} is "${text}"; pass an integer of at least ${min}.`);
  }
  return n;
}

function splitList(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Elapsed/remaining time, trials and the best score, redrawn in place on a terminal. */
function createProgressLine(stream: NodeJS.WriteStream = process.stderr): {
  update: (s: ProgressState) => void;
  finish: () => void;
} {
  let drawn = false;
  let lastPlain = 0;
  return {
    update(s) {
      const time = `${formatSeconds(s.elapsedSeconds)}${s.remainingSeconds === null ? "" : ` (${formatSeconds(s.remainingSeconds)} left)`}`;
      const trials = `${s.trials}${s.maxTrials === null ? "" : `/${s.maxTrials}`} trials`;
      const best =
        s.bestScore === null ? "" : `  best ${s.metric} ${s.bestScore.toFixed(4)} (${s.bestLearner ?? "?"})`;
      const text = `automl ${s.phase}  ${time}  ${trials}${best}`;
      if (stream.isTTY) {
        stream.write(`\r${text.padEnd(Math.min((stream.columns || 80) - 1, 100))}`);
        drawn = true;
      } else if (Date.now() - lastPlain >= PLAIN_PROGRESS_MS || s.phase === "done") {
        lastPlain = Date.now();
        stream.write(`${text}\n`);
      }
    },
    finish() {
      if (drawn) stream.write("\n");
    },
  };
}
