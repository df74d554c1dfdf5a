// Pipeline runs as tracked runs: one parent run per pipeline run, one nested run per step with its metrics and log.
import type { TrackingService } from "../tracking/service.ts";
import type { ParamValue } from "./types.ts";

/** Tags that tie tracked runs to pipeline records; `loopml runs lineage` finds the pipeline run by them. */
export const TAG_PIPELINE_RUN = "loopml.pipeline_run";
export const TAG_STEP = "loopml.step";

export interface TrackedStep {
  readonly step: string;
  readonly status: "succeeded" | "cached" | "failed" | "skipped";
  readonly stepRunId: string;
  readonly cacheKey?: string;
  readonly attempts: number;
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly inputs: readonly { readonly dep: string; readonly id: string }[];
  readonly metrics: Readonly<Record<string, number>>;
  /** The step's captured stdout and stderr, stored as the run's artifact "logs/<step>.log". */
  readonly log?: Buffer;
  readonly error?: string;
  readonly startedAt?: number;
  readonly endedAt?: number;
}

export interface PipelineTracker {
  readonly runId: string;
  /** Records one step as a run nested under the pipeline's run; returns the nested run's id. */
  step(s: TrackedStep): Promise<string | undefined>;
  finish(status: "succeeded" | "failed"): Promise<void>;
}

/**
 * Opens the pipeline's tracked run in the experiment named after the pipeline.
 * @example
 * const tracker = await startPipelineTracking(tracking, { pipeline: "train", version, pipelineRunId });
 */
export async function startPipelineTracking(
  tracking: TrackingService,
  run: { pipeline: string; version: string; pipelineRunId: string; startedAt: number },
): Promise<PipelineTracker> {
  const experiment = `pipeline:${run.pipeline}`;
  const parent = await tracking.createRun({
    experiment,
    name: `${run.pipeline} ${run.pipelineRunId.slice(-8)}`,
    startTime: run.startedAt,
    tags: {
      [TAG_PIPELINE_RUN]: run.pipelineRunId,
      "loopml.pipeline": run.pipeline,
      "loopml.pipeline_version": run.version,
    },
  });
  return {
    runId: parent.id,
    step: async (s) => {
      // A step that never started has nothing to track; its skip is in the pipeline's own records.
      if (s.status === "skipped") return undefined;
      const child = await tracking.createRun({
        experiment: parent.experimentId,
        name: s.step,
        parentRunId: parent.id,
        ...(s.startedAt !== undefined && { startTime: s.startedAt }),
        code:
          parent.gitCommit === null ? null : { commit: parent.gitCommit, dirty: parent.gitDirty === true },
        tags: {
          [TAG_PIPELINE_RUN]: run.pipelineRunId,
          [TAG_STEP]: s.step,
          "loopml.step_run": s.stepRunId,
          "loopml.step_status": s.status,
          ...(s.cacheKey !== undefined && { "loopml.cache_key": s.cacheKey }),
          ...(s.error !== undefined && { "loopml.error": s.error.slice(0, 4000) }),
        },
      });
      const timestamp = s.endedAt ?? s.startedAt ?? 0;
      await tracking.logBatch(child.id, {
        params: Object.entries(s.params)
          .slice(0, 100)
          .map(([key, v]) => ({
            key,
            value: (typeof v === "string" ? v : JSON.stringify(v)).slice(0, 6000),
          })),
        metrics: Object.entries(s.metrics).map(([key, value]) => ({ key, value, step: 0, timestamp })),
      });
      const datasets = s.inputs.flatMap((i) => {
        const m = /^dataset:([^@]+)@/.exec(i.dep);
        return m?.[1] ? [`${m[1]}@${i.id}`] : [];
      });
      if (datasets.length > 0) await tracking.logInputs(child.id, datasets, "pipeline");
      if (s.log !== undefined && s.log.length > 0)
        await tracking.putArtifact(child.id, `logs/${s.step}.log`, s.log);
      await tracking.updateRun(child.id, {
        status: s.status === "failed" ? "FAILED" : "FINISHED",
        ...(s.endedAt !== undefined && { endTime: s.endedAt }),
      });
      return child.id;
    },
    finish: async (status) => {
      await tracking.updateRun(parent.id, { status: status === "succeeded" ? "FINISHED" : "FAILED" });
    },
  };
}
