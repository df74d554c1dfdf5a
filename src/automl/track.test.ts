import { describe, expect, it } from "vitest";
import type { RunHandle } from "../tracking/run-handle.ts";
import type { CreateRunOptions } from "../tracking/service.ts";
import { automl } from "./automl.ts";
import { syntheticFrame } from "./testing/synthetic.ts";
import { startAutomlTracking } from "./track.ts";

/** Runs the side effect (already evaluated as the argument) and resolves, as a store write would. */
const done = (_effect?: unknown): Promise<void> => Promise.resolve();

interface FakeRun {
  options: CreateRunOptions;
  params: Record<string, unknown>;
  metrics: Record<string, number>;
  status?: string;
}

function fakeTracking(): { runs: FakeRun[]; startRun: (o?: CreateRunOptions) => Promise<RunHandle> } {
  const runs: FakeRun[] = [];
  return {
    runs,
    startRun: (options = {}) => {
      const run: FakeRun = { options, params: {}, metrics: {} };
      runs.push(run);
      const id = `run-${runs.length}`;
      const handle: RunHandle = {
        id,
        experimentId: "exp-1",
        logParams: (p) => done(Object.assign(run.params, p)),
        setTags: () => done(),
        logMetrics: (m) => done(Object.assign(run.metrics, m)),
        logMetric: (k, v) => done((run.metrics[k] = v)),
        logArtifact: () => done(),
        logInputs: () => done(),
        flush: () => done(),
        end: (status = "FINISHED") => done((run.status = status)),
      };
      return Promise.resolve(handle);
    },
  };
}

describe("startAutomlTracking", () => {
  it("records one parent run and one nested run per trial", async () => {
    const tracking = fakeTracking();
    const frame = syntheticFrame({ rows: 120, task: "regression" });
    const tracker = await startAutomlTracking(tracking, {
      experiment: "demo",
      target: "target",
    });
    const result = await automl(frame, {
      target: "target",
      maxTrials: 3,
      seed: 1,
      onTrial: (t) => tracker.onTrial(t),
    });
    await tracker.finish(result);
    const [parent, ...children] = tracking.runs;
    expect(children).toHaveLength(3);
    expect(children.every((c) => c.options.parentRunId === "run-1")).toBe(true);
    expect(children[0]?.metrics.rmse).toBe(result.trials[0]?.score);
    expect(children[1]?.params).toMatchObject({ learner: "gbdt", nRounds: 100, maxDepth: 6 });
    expect(parent?.params).toMatchObject({ task: "regression", metric: "rmse" });
    expect(parent?.metrics.best_rmse).toBe(result.best.score);
    expect(parent?.status).toBe("FINISHED");
  });
});
