// loopml automl: search learners and hyperparameters for a CSV/Parquet table under a time budget and print the leaderboard.
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import { automl, type AutomlResult } from "../../../automl/automl.ts";
import type { EvalContext } from "../../../automl/evaluate.ts";
import { formatLeaderboard, formatProblem } from "../../../automl/leaderboard.ts";
import { createQueueRunner } from "../../../automl/queue-runner.ts";
import { METRIC_NAMES } from "../../../automl/metric.ts";
import { startAutomlTracking } from "../../../automl/track.ts";
import { LEARNERS } from "../../../automl/space.ts";
import type {
  LearnerName,
  MetricName,
  ProgressState,
  SearcherName,
  Task,
  TrialRecord,
} from "../../../automl/types.ts";
import { readFrame } from "../../../data/read-frame.ts";
import { createDataService } from "../../../data/service.ts";
import type { DatasetVersion } from "../../../data/types.ts";
import type { Frame } from "../../../learn/frame.ts";
import { readTable } from "../../../pipeline/builtins/frames.ts";
import { createRegistryEvents } from "../../../registry/events.ts";
import { createRegistryService } from "../../../registry/service.ts";
import type { ModelVersion } from "../../../registry/types.ts";
import type { BlobStore } from "../../../store/types.ts";
import type { Workspace } from "../../../workspace.ts";
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
  learners?: string;
  searcher: string;
  parallel?: string;
  ensemble: boolean;
  out?: string;
  experiment?: string;
  name?: string;
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
    .requiredOption(
      "--data <file|NAME@VERSION>",
      "training data: a CSV or Parquet file, or a dataset version (NAME@3, NAME@latest, dataset:NAME@3)",
    )
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
    .option("--learners <list>", `comma-separated learners to search (default all: ${LEARNERS.join(", ")})`)
    .option(
      "--searcher <name>",
      "cfo (cost-frugal local search) | tpe (Tree-structured Parzen Estimator)",
      "cfo",
    )
    .option(
      "--parallel <n>",
      "trials run side by side on worker threads, or queued for `loopml worker` processes when LOOPML_QUEUE is set (default: the number of cores); with --max-trials and --seed the result depends on n, never on timing",
    )
    .option("--no-ensemble", "keep the best single model even when an ensemble validates better")
    .option("--out <file>", "write the refit model (JSON, with its preprocessing) to this file")
    .option(
      "--experiment <name>",
      "track the search as a run of this experiment, with one nested run per trial",
    )
    .option(
      "--name <model>",
      "register the winner as a new version of this model, with its signature, metrics and lineage (tracked in an experiment of the same name unless --experiment)",
    )
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  loopml automl --data breast_cancer.csv --target diagnosis --budget 60s\n  loopml automl --data flights.parquet --target delay --time-column date --budget 5m --out model.json\n  loopml automl --data flights@latest --target delayed --budget 2m --name delays\n  loopml automl --data t.csv --target y --learners rf,linear --searcher tpe --max-trials 40 --seed 1 --parallel 2",
    )
    .exitOverride()
    .action(async (opts: AutomlCliOptions, cmd: Command) => {
      const dir = globalOptions(cmd).dir;
      const task = parseTask(opts.task);
      const budgetSeconds = opts.budget === undefined ? undefined : parseBudget(opts.budget);
      const maxTrials =
        opts.maxTrials === undefined ? undefined : parseInteger("--max-trials", opts.maxTrials, 1);
      const seed = parseInteger("--seed", opts.seed, 0);
      const parallel = opts.parallel === undefined ? undefined : parseInteger("--parallel", opts.parallel, 1);
      const learners = opts.learners === undefined ? undefined : parseLearners(opts.learners);
      if (opts.searcher !== "cfo" && opts.searcher !== "tpe") {
        throw new LoopmlError("INVALID_ARGUMENT", `--searcher is "${opts.searcher}"; use cfo or tpe.`);
      }
      const searcher: SearcherName = opts.searcher;
      const datasetRef = datasetRefOf(opts.data, dir);
      const controller = new AbortController();
      // The first Ctrl-C stops the search and keeps the best model so far; a second one exits as usual.
      const onInterrupt = (): void => controller.abort();
      const out = opts.out === undefined ? null : resolve(dir, opts.out);
      // With a queue, trials run on `loopml worker` processes that share this project's blob store.
      const queue = process.env["LOOPML_QUEUE"] || undefined;
      const search = async (
        frame: Frame,
        onTrial?: (t: TrialRecord) => Promise<void>,
        blobs?: BlobStore,
      ): Promise<AutomlResult> => {
        const progress = createProgressLine();
        process.once("SIGINT", onInterrupt);
        try {
          const result = await automl(frame, {
            target: opts.target,
            task,
            ...(opts.metric !== undefined && { metric: opts.metric as MetricName }),
            ...(budgetSeconds !== undefined && { budgetSeconds }),
            ...(maxTrials !== undefined && { maxTrials }),
            ...(opts.timeColumn !== undefined && { timeColumn: opts.timeColumn }),
            ...(opts.exclude !== undefined && { exclude: splitList(opts.exclude) }),
            ensemble: opts.ensemble,
            searcher,
            ...(parallel !== undefined && { parallel }),
            ...(learners !== undefined && { learners }),
            ...(queue !== undefined &&
              blobs !== undefined && {
                runner: (ctx: EvalContext) =>
                  createQueueRunner(queue, blobs, ctx, {
                    slots: parallel ?? availableParallelism(),
                    signal: controller.signal,
                  }),
              }),
            seed,
            signal: controller.signal,
            onProgress: progress.update,
            ...(onTrial && { onTrial }),
          });
          if (out !== null) await writeFile(out, JSON.stringify(result.model));
          return result;
        } finally {
          process.removeListener("SIGINT", onInterrupt);
          progress.finish();
        }
      };
      const experiment = opts.experiment ?? opts.name;
      let result: AutomlResult;
      let registered: ModelVersion | null = null;
      if (experiment === undefined && datasetRef === null && queue === undefined) {
        result = await search((await readFrame(resolve(dir, opts.data))).frame);
      } else {
        [result, registered] = await withWorkspace(cmd, async (ws) => {
          const input = await readInput(ws, dir, opts.data, datasetRef);
          if (experiment === undefined)
            return [await search(input.frame, undefined, ws.blobs), null] as const;
          const tracker = await startAutomlTracking(createTrackingService(ws), {
            experiment,
            target: opts.target,
            data: input.label,
          });
          let r: AutomlResult;
          try {
            r = await search(input.frame, (t) => tracker.onTrial(t), ws.blobs);
            await tracker.finish(r, out ?? undefined);
          } catch (e) {
            await tracker.fail();
            throw e;
          }
          const version =
            opts.name === undefined
              ? null
              : await registerWinner(ws, opts.name, r, input, tracker.parentRunId);
          return [r, version] as const;
        });
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
          refit: result.refitNote,
          stoppedBy: result.stoppedBy,
          elapsedSeconds: result.elapsedSeconds,
          model: out,
          registered: registered === null ? null : { model: registered.model, version: registered.version },
        },
        () =>
          [
            formatProblem(result),
            "",
            formatLeaderboard(result, 10),
            "",
            `ensemble    ${result.ensembleNote}`,
            `final model ${result.refitNote}`,
            `importance  ${result.featureImportance
              .slice(0, 5)
              .map((f) => `${f.feature} ${(100 * f.importance).toFixed(1)}%`)
              .join(", ")}`,
            `search      ${result.trials.length} trials in ${result.elapsedSeconds.toFixed(1)} s, stopped by ${result.stoppedBy}`,
            ...(out !== null ? [`model       ${out}`] : []),
            ...(registered !== null
              ? [
                  `registered  ${registered.model} version ${registered.version} (loopml models lineage ${registered.model}@${registered.version})`,
                ]
              : []),
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

function parseLearners(text: string): LearnerName[] {
  const names = splitList(text);
  const unknown = names.filter((n) => !LEARNERS.includes(n as LearnerName));
  if (names.length === 0 || unknown.length > 0) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `--learners "${text}" names ${unknown.length > 0 ? `unknown learners (${unknown.join(", ")})` : "no learner"}; use some of ${LEARNERS.join(", ")}.`,
    );
  }
  return names as LearnerName[];
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

/** `dataset:NAME@V`, or `NAME@V` when no file of that name exists, names a dataset version. */
function datasetRefOf(data: string, dir: string): string | null {
  if (data.startsWith("dataset:")) return data.slice("dataset:".length);
  if (/^[\w.-]+@[\w.-]+$/.test(data) && !existsSync(resolve(dir, data))) return data;
  return null;
}

interface AutomlInput {
  readonly frame: Frame;
  /** What the run's data tag says: the file as given, or NAME@SEQ. */
  readonly label: string;
  readonly dataset: DatasetVersion | null;
}

async function readInput(
  ws: Workspace,
  dir: string,
  data: string,
  datasetRef: string | null,
): Promise<AutomlInput> {
  if (datasetRef === null)
    return { frame: (await readFrame(resolve(dir, data))).frame, label: data, dataset: null };
  const version = await createDataService(ws).resolve(datasetRef);
  const ref = `${version.dataset}@${version.seq}`;
  return { frame: await readTable(ws, dir, `dataset:${ref}`), label: ref, dataset: version };
}

/** The refit winner as a native model version: the AutoML run, the dataset version and the top features. */
async function registerWinner(
  ws: Workspace,
  name: string,
  result: AutomlResult,
  input: AutomlInput,
  runId: string,
): Promise<ModelVersion> {
  const registry = createRegistryService(
    { ...ws, events: createRegistryEvents() },
    { actor: ws.config.actor, role: "admin" },
  );
  try {
    await registry.getModel(name);
  } catch (e) {
    if (!(e instanceof LoopmlError && e.code === "NOT_FOUND")) throw e;
    await registry.createModel(name, { description: `AutoML models for ${result.problem.target}` });
  }
  const blob = await ws.blobs.put(Buffer.from(JSON.stringify(result.model)));
  const { problem, best } = result;
  const numeric = new Set(input.frame.columns.filter((c) => c.kind === "numeric").map((c) => c.name));
  const importance = result.featureImportance
    .slice(0, 10)
    .map((f) => `${f.feature}=${f.importance.toFixed(4)}`);
  return registry.createVersion(name, {
    blobId: blob.id,
    flavor: "native",
    signature: {
      inputs: problem.features.map((f) => ({ name: f, type: numeric.has(f) ? "double" : "string" })),
      outputs: [{ name: problem.target, type: problem.task === "regression" ? "double" : "long" }],
    },
    metrics: { [`validation_${problem.metric}`]: best.score, trials: result.trials.length },
    datasets:
      input.dataset === null
        ? []
        : [{ dataset: input.dataset.dataset, version: String(input.dataset.seq), context: "training" }],
    runId,
    description: `AutoML winner (${best.learner}, ${result.trials.length} trials) for ${problem.target} on ${input.label}`,
    tags: { "loopml.feature_importance": importance.join(", "), "loopml.automl.learner": best.learner },
  });
}
