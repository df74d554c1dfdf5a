import { describe, expect, it } from "vitest";
import { getColumn } from "../learn/frame.ts";
import { learner } from "../learn/learner/index.ts";
import { rocAuc } from "../learn/metrics.ts";
import { automl } from "./automl.ts";
import { createEvalContext, fitComplete, fitLearner } from "./evaluate.ts";
import { makeSplits, setupProblem } from "./setup.ts";
import { syntheticFrame } from "./testing/synthetic.ts";

// Setup and the first (cheapest) trial cannot be cut short; this much on top of budget + 5% covers them.
const SLACK_SECONDS = 1;

describe("automl budget", () => {
  it("stops boosting rounds and forest trees at a deadline, keeping a usable partial model", async () => {
    const frame = syntheticFrame({ rows: 300, task: "binary", seed: 2 });
    const problem = setupProblem(frame, { target: "target" });
    const ctx = createEvalContext(frame, problem, makeSplits(problem, 1), 1);
    const past = Date.now() - 1;
    for (const [name, params] of [
      ["gbdt", { nRounds: 50, maxDepth: 3 }],
      ["rf", { nTrees: 40, nThreads: 1 }],
      ["extra-trees", { nTrees: 40, nThreads: 2 }],
      ["linear", { C: 1, maxIterations: 300 }],
    ] as const) {
      const cut = await fitLearner(ctx, name, params, ctx.base, past);
      // Trees are counted; a linear fit stops iterating with usable (unconverged) coefficients.
      expect(fitComplete(cut, params)).toBe(name === "linear");
      // At least one round or tree per thread, so the cut model still predicts.
      expect(cut.predict(frame).every((v) => Number.isFinite(v))).toBe(true);
      const whole = await fitLearner(ctx, name, params, ctx.base, Date.now() + 60_000);
      expect(fitComplete(whole, params)).toBe(true);
      // Without a deadline the fit is the same model as with one that never passes.
      const free = await fitLearner(ctx, name, params, ctx.base);
      expect(free.predict(frame)).toEqual(whole.predict(frame));
    }
  });

  it("ends within budget + 5% with a usable model when the budget is far below one default fit", async () => {
    const frame = syntheticFrame({ rows: 100_000, task: "binary", seed: 5 });
    // The budget follows this machine's speed (busy or quiet): half of one default GBDT fit on all rows.
    const t0 = performance.now();
    await learner("gbdt", { seed: 1, params: { nThreads: 2 } }).fit(frame, "target");
    const defaultFit = (performance.now() - t0) / 1000;
    const budget = Math.max(2, defaultFit / 2);
    const t1 = performance.now();
    const result = await automl(frame, { target: "target", budgetSeconds: budget, seed: 1 });
    const seconds = (performance.now() - t1) / 1000;
    expect(seconds).toBeLessThanOrEqual(budget * 1.05 + SLACK_SECONDS);
    expect(result.trials.some((t) => t.status === "ok")).toBe(true);
    const target = getColumn(frame, "target");
    if (target.kind !== "categorical") throw new Error("target should be text");
    const y = Array.from(target.codes, (c) => (target.dictionary[c] === "yes" ? 1 : 0));
    const p = result.model.predictProba(frame).filter((_, i) => i % 2 === 1);
    expect(rocAuc(y, p)).toBeGreaterThan(0.85);
    expect(result.refitNote).toMatch(/refit|split model|trees it grew/);
  }, 60_000);
});
