// Built-in `automl`: searches models for a target column of a dataset version or table file; writes the best model.
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { z } from "zod";
import { parseDuration } from "../parse.ts";
import { readTable, tableDep } from "./frames.ts";
import type { BuiltinStep } from "./types.ts";

const schema = z
  .object({
    /** `dataset:NAME@VERSION|latest` or a CSV/Parquet path. */
    data: z.string().min(1),
    target: z.string().min(1),
    task: z.enum(["auto", "binary", "multiclass", "regression"]).default("auto"),
    metric: z.enum(["roc_auc", "log_loss", "accuracy", "f1", "rmse", "mae", "r2"]).optional(),
    /** Seconds or a duration such as "30s", "5m". */
    budget: z.union([z.number().positive(), z.string()]).optional(),
    maxTrials: z.number().int().positive().optional(),
    seed: z.number().int().nonnegative().default(0),
    timeColumn: z.string().optional(),
    exclude: z.array(z.string()).optional(),
    ensemble: z.boolean().default(true),
    /** Where the model goes (default build/STEP/model.json). */
    model: z.string().optional(),
  })
  .strict();

export type AutomlWith = z.input<typeof schema>;

export const automlStep: BuiltinStep<z.output<typeof schema>> = {
  name: "automl",
  version: "1",
  description: "search learners and hyperparameters for `target`; writes the best model and its metrics",
  schema,
  io: (step, w) => ({
    deps: [tableDep(w.data, `step "${step}" with.data`)],
    outs: [w.model ?? `build/${step}/model.json`],
    metrics: `build/${step}/automl-metrics.json`,
  }),
  run: async (ctx, w, io) => {
    const { automl } = await import("../../automl/automl.ts");
    const frame = await readTable(ctx.workspace, ctx.cwd, w.data);
    const budgetSeconds =
      w.budget === undefined
        ? undefined
        : typeof w.budget === "number"
          ? w.budget
          : (parseDuration(w.budget) ?? 60_000) / 1000;
    const result = await automl(frame, {
      target: w.target,
      task: w.task,
      ...(w.metric !== undefined && { metric: w.metric }),
      ...(budgetSeconds !== undefined && { budgetSeconds }),
      ...(w.maxTrials !== undefined && { maxTrials: w.maxTrials }),
      ...(w.timeColumn !== undefined && { timeColumn: w.timeColumn }),
      ...(w.exclude !== undefined && { exclude: w.exclude }),
      ensemble: w.ensemble,
      seed: w.seed,
      signal: ctx.signal,
      onTrial: (t) => ctx.log(`trial ${t.id} ${t.learner}: ${t.metric} ${t.score} (${t.status})`),
    });
    const out = join(ctx.cwd, io.outs[0] as string);
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, JSON.stringify(result.model));
    const metrics = join(ctx.cwd, io.metrics as string);
    await writeFile(
      metrics,
      JSON.stringify({
        [`validation_${result.problem.metric}`]: result.best.score,
        trials: result.trials.length,
        search_seconds: result.elapsedSeconds,
      }),
    );
    ctx.log(
      `best ${result.best.learner}: ${result.problem.metric} ${result.best.score} (${result.trials.length} trials)`,
    );
  },
};
