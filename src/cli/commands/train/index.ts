// loopml train: fit one learner (gbdt, rf, extra-trees, linear) on a file or dataset version, evaluate, optionally register.
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { quoteIdent } from "../../../data/duck.ts";
import { readFrame, type ReadFrameResult } from "../../../data/read-frame.ts";
import { createDataService } from "../../../data/service.ts";
import { LoopmlError } from "../../../errors.ts";
import type { Frame } from "../../../learn/frame.ts";
import {
  LEARNER_KINDS,
  labelsFor,
  learner,
  type LearnerKind,
  type TabularModel,
} from "../../../learn/learner/index.ts";
import * as m from "../../../learn/metrics.ts";
import { createRegistryEvents } from "../../../registry/events.ts";
import { createRegistryService } from "../../../registry/service.ts";
import type { Workspace } from "../../../workspace.ts";
import { globalOptions, withWorkspace } from "../../context.ts";
import { emit } from "../../output.ts";

interface TrainCliOptions {
  data: string;
  target: string;
  learner: string;
  param: string[];
  test?: string;
  task: string;
  seed: string;
  out?: string;
  register?: string;
  json?: boolean;
}

export function registerTrainCommand(program: Command): void {
  program
    .command("train")
    .description("train one learner on a table, evaluate it on test data and optionally register it")
    .requiredOption("--data <source>", "training data: a CSV/Parquet file or a dataset version NAME@VERSION")
    .requiredOption("--target <column>", "the column to predict")
    .option("--learner <name>", LEARNER_KINDS.join(" | "), "gbdt")
    .option("--param <k=v>", "learner parameter, repeatable (e.g. nRounds=200 learningRate=0.1)", collect, [])
    .option("--test <source>", "evaluation data (file or NAME@VERSION) with the same columns")
    .option("--task <task>", "auto | binary | multiclass | regression", "auto")
    .option("--seed <n>", "seed: the same seed gives the same model", "0")
    .option("--out <file>", "write the model JSON to this file")
    .option("--register <name>", "register the model as a new version of this registry model")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  loopml train --data train.csv --target label --learner rf --param nTrees=200 --test test.csv\n  loopml train --data flights@3 --target late --learner gbdt --param learningRate=0.1 --register flights-delay --json",
    )
    .exitOverride()
    .action(async (opts: TrainCliOptions, cmd: Command) => {
      const dir = globalOptions(cmd).dir;
      const kind = opts.learner as LearnerKind;
      if (!LEARNER_KINDS.includes(kind)) {
        throw new LoopmlError(
          "INVALID_ARGUMENT",
          `--learner "${opts.learner}" is not one of ${LEARNER_KINDS.join(", ")}.`,
        );
      }
      if (!["auto", "binary", "multiclass", "regression"].includes(opts.task)) {
        throw new LoopmlError(
          "INVALID_ARGUMENT",
          `--task "${opts.task}" is not auto, binary, multiclass or regression.`,
        );
      }
      const seed = Number(opts.seed);
      if (!Number.isInteger(seed) || seed < 0)
        throw new LoopmlError("INVALID_ARGUMENT", `--seed "${opts.seed}" is not an integer >= 0.`);
      const params = parseParams(opts.param);
      const needsWorkspace =
        opts.register !== undefined ||
        isDatasetRef(dir, opts.data) ||
        (opts.test !== undefined && isDatasetRef(dir, opts.test));
      const run = async (ws: Workspace | null): Promise<void> => {
        const train = await load(dir, ws, opts.data);
        const datetime = Object.entries(train.kinds)
          .filter(([, k]) => k === "datetime")
          .map(([name]) => name);
        const t0 = performance.now();
        const model = await learner(kind, {
          task: opts.task as "auto",
          params,
          seed,
          datetime,
        }).fit(train.frame, opts.target);
        const fitSeconds = (performance.now() - t0) / 1000;
        const metrics =
          opts.test === undefined ? {} : evaluate(model, (await load(dir, ws, opts.test)).frame);
        const doc = JSON.stringify(model.toJSON());
        if (opts.out !== undefined) await writeFile(resolve(dir, opts.out), doc);
        let registered: { model: string; version: number } | null = null;
        if (opts.register !== undefined && ws) {
          const registry = createRegistryService({ ...ws, events: createRegistryEvents() });
          const exists = (await registry.listModels()).some((x) => x.name === opts.register);
          if (!exists)
            await registry.createModel(opts.register, { description: `loopml train --learner ${kind}` });
          const blob = await ws.blobs.put(Buffer.from(doc));
          const mv = await registry.createVersion(opts.register, {
            blobId: blob.id,
            flavor: "native",
            metrics: { ...metrics, fit_seconds: fitSeconds },
            signature: {
              inputs: model.inputs.map((f) => ({
                name: f.name,
                type: f.kind === "numeric" ? "double" : "string",
              })),
              outputs: [{ name: opts.target, type: model.task === "regression" ? "double" : "string" }],
            },
            description: `${kind} on ${opts.data} (target ${opts.target})`,
            tags: { "loopml.learner": kind, "loopml.data": opts.data },
          });
          registered = { model: opts.register, version: mv.version };
        }
        const result = {
          learner: kind,
          task: model.task,
          target: opts.target,
          classes: model.classes,
          trainRows: train.frame.nRows,
          fitSeconds,
          metrics,
          model: opts.out === undefined ? null : resolve(dir, opts.out),
          registered,
        };
        emit(opts.json === true, result, () =>
          [
            `learner     ${kind} (${model.task}${model.classes.length ? `: ${model.classes.join(", ")}` : ""})`,
            `trained on  ${train.frame.nRows} rows in ${fitSeconds.toFixed(2)} s`,
            ...Object.entries(metrics).map(([k, v]) => `${k.padEnd(11)} ${v.toFixed(4)}`),
            ...(result.model ? [`model       ${result.model}`] : []),
            ...(registered ? [`registered  ${registered.model}@${registered.version}`] : []),
          ].join("\n"),
        );
      };
      if (needsWorkspace) await withWorkspace(cmd, (ws) => run(ws));
      else await run(null);
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** k=v pairs; numbers and true/false become typed values. */
export function parseParams(pairs: readonly string[]): Record<string, number | string | boolean> {
  const out: Record<string, number | string | boolean> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new LoopmlError("INVALID_ARGUMENT", `--param "${pair}" is not k=v, e.g. nRounds=200.`);
    const key = pair.slice(0, eq);
    const raw = pair.slice(eq + 1);
    out[key] =
      raw === "true"
        ? true
        : raw === "false"
          ? false
          : raw !== "" && Number.isFinite(Number(raw))
            ? Number(raw)
            : raw;
  }
  return out;
}

function isDatasetRef(dir: string, source: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]*@[A-Za-z0-9_.-]+$/.test(source) && !existsSync(resolve(dir, source));
}

/** A file, or a dataset version read without a checkout. */
async function load(dir: string, ws: Workspace | null, source: string): Promise<ReadFrameResult> {
  if (!isDatasetRef(dir, source) || !ws) return readFrame(resolve(dir, source));
  const data = createDataService(ws);
  const version = await data.resolve(source);
  const scratch = await mkdtemp(join(tmpdir(), "loopml-train-"));
  try {
    const out = join(scratch, "data.parquet");
    await data.query(`SELECT * FROM ${quoteIdent(version.dataset)}`, {
      at: [`${version.dataset}@${version.seq}`],
      toParquet: out,
    });
    return await readFrame(out);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Test metrics by task, as scikit-learn computes them. */
function evaluate(model: TabularModel, test: Frame): Record<string, number> {
  const y = labelsFor(test, model.target, model.task, model.classes);
  if (model.task === "regression") {
    const p = model.predict(test);
    return { rmse: m.rmse(y, p), mae: m.mae(y, p), r2: m.r2(y, p) };
  }
  const proba = model.predictProba(test);
  const pred = model.predict(test);
  const K = model.nClasses;
  const out: Record<string, number> = { accuracy: m.accuracy(y, pred), log_loss: m.logLoss(y, proba) };
  if (K === 2) {
    const p1 = proba.filter((_, i) => i % 2 === 1);
    out.roc_auc = m.rocAuc(y, p1);
    out.f1 = m.f1(y, pred);
  } else {
    out.f1_macro = m.f1(y, pred, { average: "macro" });
  }
  return out;
}
