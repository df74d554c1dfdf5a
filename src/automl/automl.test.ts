import { describe, expect, it } from "vitest";
import { isLoopmlError } from "../errors.ts";
import { rocAuc } from "../learn/metrics.ts";
import { automl } from "./automl.ts";
import { loadAutomlModel } from "./model.ts";
import { syntheticFrame } from "./testing/synthetic.ts";
import type { TrialRecord } from "./types.ts";

// Small tables and few trials keep this suite in seconds on a shared machine.
const binary = syntheticFrame({ rows: 240, task: "binary", junk: true });

describe("automl", () => {
  it("finds a good binary model, ranks trials and packages the model with its preprocessing", async () => {
    const seen: TrialRecord[] = [];
    const result = await automl(binary, {
      target: "target",
      maxTrials: 6,
      seed: 1,
      onTrial: (t) => void seen.push(t),
    });
    expect(result.trials).toHaveLength(6);
    expect(seen.map((t) => t.id)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(result.problem.dropped.map((d) => d.name).sort()).toEqual(["constant", "day", "id", "leak"]);
    expect(result.best.score).toBeGreaterThan(0.85);
    const scores = result.leaderboard.filter((e) => e.learner !== "ensemble").map((e) => e.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(result.leaderboard.every((e) => e.fitSeconds >= 0 && e.predictMicrosPerRow >= 0)).toBe(true);
    const labels = result.model.predictLabels(binary);
    expect(new Set(labels)).toEqual(new Set(["no", "yes"]));
    const target = binary.columns.find((c) => c.name === "target");
    if (target?.kind !== "categorical") throw new Error("target should be text");
    const y = Array.from(target.codes, (c) => (target.dictionary[c] === "yes" ? 1 : 0));
    const p = result.model.predictProba(binary).filter((_, i) => i % 2 === 1);
    expect(rocAuc(y, p)).toBeGreaterThan(0.9);
    expect(result.featureImportance[0]?.feature).toMatch(/^[ab]$/);
    const again = loadAutomlModel(JSON.stringify(result.model));
    expect(again.predict(binary)).toEqual(result.model.predict(binary));
  });

  it("gives the same leaderboard and model for the same seed and maxTrials", async () => {
    const frame = syntheticFrame({ rows: 150, task: "regression", seed: 3 });
    // Two trials at a time on worker threads: the batches, not the timing, decide what runs.
    const run = () => automl(frame, { target: "target", maxTrials: 7, seed: 9, parallel: 2 });
    const [a, b] = [await run(), await run()];
    expect(new Set(a.trials.map((t) => t.learner)).size).toBeGreaterThanOrEqual(4);
    const strip = (r: typeof a) =>
      r.leaderboard.map((e) => [e.learner, e.trial, e.score, JSON.stringify(e.params)]);
    expect(strip(b)).toEqual(strip(a));
    expect(b.model.predict(frame)).toEqual(a.model.predict(frame));
  });

  it("searches forests and linear models with TPE, and ensembles members of any learner", async () => {
    const frame = syntheticFrame({ rows: 200, task: "multiclass", seed: 12 });
    const result = await automl(frame, {
      target: "target",
      learners: ["rf", "extra-trees", "linear"],
      searcher: "tpe",
      maxTrials: 10,
      seed: 3,
      parallel: 2,
    });
    expect(new Set(result.trials.map((t) => t.learner))).toEqual(new Set(["rf", "extra-trees", "linear"]));
    expect(result.trials.find((t) => t.learner === "linear")?.params).toMatchObject({ penalty: "l2" });
    const again = loadAutomlModel(JSON.stringify(result.model));
    expect(again.predictProba(frame)).toEqual(result.model.predictProba(frame));
    expect(result.featureImportance.reduce((a, f) => a + f.importance, 0)).toBeCloseTo(1, 9);
    expect(result.best.score).toBeLessThan(0.9); // log loss of a learnable 3-class problem
  });

  it("stays within the wall-clock budget, refit included", async () => {
    const frame = syntheticFrame({ rows: 300, task: "multiclass", seed: 5 });
    const started = Date.now();
    const result = await automl(frame, { target: "target", budgetSeconds: 4, seed: 2 });
    const seconds = (Date.now() - started) / 1000;
    expect(result.stoppedBy).toBe("budget");
    expect(result.trials.length).toBeGreaterThan(1);
    expect(seconds).toBeLessThanOrEqual(4 * 1.05);
  });

  it("stops cleanly on abort and still returns the best model so far", async () => {
    const controller = new AbortController();
    const result = await automl(binary, {
      target: "target",
      maxTrials: 50,
      seed: 4,
      signal: controller.signal,
      onTrial: (t) => {
        if (t.id === 3) controller.abort();
      },
    });
    expect(result.stoppedBy).toBe("signal");
    expect(result.trials).toHaveLength(3);
    expect(result.model.predict(binary)).toHaveLength(binary.nRows);
  });

  it("rejects a budget too small to train anything, naming the minimum", async () => {
    const err = await automl(binary, { target: "target", budgetSeconds: 0.1 }).catch((e: unknown) => e);
    expect(isLoopmlError(err, "INVALID_ARGUMENT")).toBe(true);
    expect((err as Error).message).toMatch(/at least 1 s/);
  });
});
