// Trainers the retrain policy can use: AutoML on the window (tracked), or a pipeline of loopml.yaml that writes a model file.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { automl } from "../automl/automl.ts";
import { startAutomlTracking } from "../automl/track.ts";
import { LoopmlError } from "../errors.ts";
import { runPipeline } from "../pipeline/executor.ts";
import { pipelineDeps } from "../pipeline/service.ts";
import type { PipelineSpec } from "../pipeline/types.ts";
import { createTrackingService } from "../tracking/service.ts";
import type { Workspace } from "../workspace.ts";
import { durationMs } from "./desired-state.ts";
import { signatureOf, type Trainer } from "./retrain.ts";

const DEFAULT_BUDGET_SECONDS = 30;

/**
 * AutoML over the training part of the window, each search a tracked run. Without an ensemble the winner is a
 * single GBDT, which every serving runtime loads natively.
 * @example
 * createRetrainer({ ws, registry, deployments, trainer: automlTrainer(ws) });
 */
export function automlTrainer(ws: Workspace, opts: { seed?: number; ensemble?: boolean } = {}): Trainer {
  const tracking = createTrackingService(ws);
  return async ({ model, policy, target, train, dataVersion, metric }) => {
    const a = policy.automl;
    const exclude = policy.data.window?.timeColumn !== undefined ? [policy.data.window.timeColumn] : [];
    const tracker = await startAutomlTracking(tracking, { experiment: model, target, data: dataVersion });
    try {
      const result = await automl(train, {
        target,
        metric: metric,
        exclude,
        ...(a?.task !== undefined && { task: a.task }),
        budgetSeconds: a?.timeBudget !== undefined ? durationMs(a.timeBudget) / 1000 : DEFAULT_BUDGET_SECONDS,
        ...(a?.maxTrials !== undefined && { maxTrials: a.maxTrials }),
        ensemble: opts.ensemble ?? false,
        seed: opts.seed ?? 0,
        onTrial: (t) => tracker.onTrial(t),
      });
      await tracker.finish(result);
      const members = result.model.members;
      const doc = members.length === 1 && members[0] ? members[0].model.toJSON() : result.model.toJSON();
      return {
        doc,
        signature: signatureOf(train, target, [...exclude, ...result.problem.dropped.map((d) => d.name)]),
        metrics: { [`cv_${result.problem.metric}`]: result.best.score, trials: result.trials.length },
        runId: tracker.parentRunId,
        description: `AutoML (${result.best.learner}, ${result.trials.length} trials) on ${train.nRows} rows of ${dataVersion}`,
      };
    } catch (e) {
      await tracker.fail();
      throw e;
    }
  };
}

/** Runs a pipeline of loopml.yaml (it reads the data through its deps) and loads the model file it writes. */
export function pipelineTrainer(ws: Workspace, pipelines: ReadonlyMap<string, PipelineSpec>): Trainer {
  return async ({ policy, target, train }) => {
    const spec = pipelines.get(policy.pipeline ?? "");
    if (!spec || policy.artifact === undefined)
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        "A pipeline retrain needs pipeline: and artifact: in loopml.yaml.",
      );
    const run = await runPipeline(pipelineDeps(ws), spec, {});
    if (run.status !== "succeeded")
      throw new LoopmlError(
        "FAILED_PRECONDITION",
        `Pipeline "${spec.name}" ${run.status} (run ${run.runId}).`,
      );
    const doc: unknown = JSON.parse(await readFile(join(ws.config.projectDir, policy.artifact), "utf8"));
    return {
      doc,
      signature: signatureOf(train, target),
      description: `pipeline ${spec.name}, run ${run.runId}`,
    };
  };
}
