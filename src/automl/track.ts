// Records an AutoML search as tracked runs: one parent run, a nested run per trial, the winner's summary on the parent.
import type { TrackingService } from "../tracking/service.ts";
import type { AutomlResult } from "./automl.ts";
import type { TrialRecord } from "./types.ts";

export interface AutomlTracker {
  readonly parentRunId: string;
  /** Pass as `onTrial` to `automl`. */
  onTrial(trial: TrialRecord): Promise<void>;
  /** Logs the problem, the best score and (when saved) the model file on the parent run, and ends it. */
  finish(result: AutomlResult, modelPath?: string): Promise<void>;
  fail(): Promise<void>;
}

export interface AutomlTrackingOptions {
  readonly experiment: string;
  readonly target: string;
  /** Where the data came from, as a tag (a file path or NAME@VERSION). */
  readonly data?: string;
}

/**
 * @example
 * const tracker = await startAutomlTracking(createTrackingService(ws), { experiment: "churn", target: "churned" });
 * const result = await automl(frame, { target: "churned", onTrial: (t) => tracker.onTrial(t) });
 * await tracker.finish(result);
 */
export async function startAutomlTracking(
  tracking: Pick<TrackingService, "startRun">,
  options: AutomlTrackingOptions,
): Promise<AutomlTracker> {
  const parent = await tracking.startRun({
    experiment: options.experiment,
    name: `automl ${options.target}`,
    tags: {
      "loopml.automl": "search",
      "loopml.target": options.target,
      ...(options.data !== undefined && { "loopml.data": options.data }),
    },
  });
  return {
    parentRunId: parent.id,
    async onTrial(trial) {
      const run = await tracking.startRun({
        experiment: parent.experimentId,
        parentRunId: parent.id,
        name: `trial ${trial.id} ${trial.learner}`,
        tags: { "loopml.automl": "trial", "loopml.trial.status": trial.status },
      });
      const params: Record<string, string | number | boolean> = {
        learner: trial.learner,
        sample_size: trial.sampleSize,
      };
      for (const [k, v] of Object.entries(trial.params)) params[k] = v;
      await run.logParams(params);
      const metrics: Record<string, number> = {
        fit_seconds: trial.fitSeconds,
        predict_us_per_row: trial.predictMicrosPerRow,
      };
      if (Number.isFinite(trial.score)) metrics[trial.metric] = trial.score;
      if (trial.spread !== null) metrics[`${trial.metric}_spread`] = trial.spread;
      await run.logMetrics(metrics);
      await run.end(trial.status === "ok" ? "FINISHED" : trial.status === "pruned" ? "KILLED" : "FAILED");
    },
    async finish(result, modelPath) {
      const p = result.problem;
      await parent.logParams({
        task: p.task,
        metric: p.metric,
        validation: p.validation.kind,
        folds: p.validation.folds,
        features: p.features.length,
        winner: result.best.learner,
      });
      await parent.setTags(
        Object.fromEntries(p.dropped.map((d) => [`loopml.dropped.${safeKey(d.name)}`, d.reason])),
      );
      await parent.logMetrics({
        [`best_${p.metric}`]: result.best.score,
        trials: result.trials.length,
        elapsed_seconds: result.elapsedSeconds,
        ...Object.fromEntries(
          result.featureImportance
            .slice(0, 20)
            .map((f) => [`importance.${safeKey(f.feature)}`, f.importance]),
        ),
      });
      if (modelPath !== undefined) await parent.logArtifact(modelPath, "model.json");
      await parent.end("FINISHED");
    },
    async fail() {
      await parent.end("FAILED");
    },
  };
}

/** Column names may hold characters tracking keys do not allow (e.g. "$"). */
function safeKey(name: string): string {
  return name.replace(/[^A-Za-z0-9_\-. :]/g, "_").slice(0, 200) || "_";
}
