import { describe, expect, it } from "vitest";
import { isLoopmlError } from "../errors.ts";
import { createFrame, frameFromColumns } from "../learn/frame.ts";
import { makeSplits, setupProblem } from "./setup.ts";
import { syntheticFrame } from "./testing/synthetic.ts";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isLoopmlError(e) ? e.code : "not a LoopmlError";
  }
  return undefined;
}

describe("setupProblem", () => {
  it("infers binary with ROC AUC, and k-fold for small data", () => {
    const p = setupProblem(syntheticFrame({ rows: 200, task: "binary" }), { target: "target" });
    expect(p.task).toBe("binary");
    expect(p.metric).toBe("roc_auc");
    expect(p.classes).toEqual(["no", "yes"]);
    expect(p.validation.kind).toBe("kfold");
    expect(p.validation.folds).toBe(5);
    expect(p.features).toEqual(["a", "b", "c", "noise", "color"]);
  });

  it("infers multiclass with log loss and regression with RMSE", () => {
    expect(setupProblem(syntheticFrame({ rows: 200, task: "multiclass" }), { target: "target" }).metric).toBe(
      "log_loss",
    );
    const r = setupProblem(syntheticFrame({ rows: 200, task: "regression" }), { target: "target" });
    expect([r.task, r.metric]).toEqual(["regression", "rmse"]);
    const ints = frameFromColumns({
      x: Array.from({ length: 60 }, (_, i) => i % 7),
      y: Array.from({ length: 60 }, (_, i) => i % 3),
    });
    expect(setupProblem(ints, { target: "y" }).task).toBe("multiclass");
  });

  it("drops ids, constants and leaks with reasons", () => {
    const p = setupProblem(syntheticFrame({ rows: 200, task: "binary", junk: true }), {
      target: "target",
      timeColumn: "day",
    });
    const reasons = Object.fromEntries(p.dropped.map((d) => [d.name, d.reason]));
    expect(reasons.id).toMatch(/^id-like/);
    expect(reasons.constant).toMatch(/^constant/);
    expect(reasons.leak).toMatch(/^target leak/);
    expect(reasons.day).toMatch(/^time column/);
    expect(p.features).toEqual(["a", "b", "c", "noise", "color"]);
  });

  it("flags a numeric column a threshold separates perfectly, and a regression copy of the target", () => {
    const n = 100;
    const x = Array.from({ length: n }, (_, i) => i / n + (i % 2 ? 0.001 : 0));
    const frame = frameFromColumns({
      score: x,
      other: x.map((v, i) => (v * 7919 * (i + 3)) % 1),
      y: x.map((v) => (v > 0.5 ? 1 : 0)),
    });
    expect(setupProblem(frame, { target: "y" }).dropped.map((d) => d.name)).toEqual(["score"]);
    const reg = frameFromColumns({
      twice: x.map((v) => 2 * v + 1),
      other: x.map((v, i) => (v * 7919 * (i + 3)) % 1),
      y: x,
    });
    expect(setupProblem(reg, { target: "y" }).dropped.map((d) => d.name)).toEqual(["twice"]);
  });

  it("orders time splits so training rows always come before validation rows", () => {
    const base = syntheticFrame({ rows: 120, task: "regression", junk: true });
    const p = setupProblem(base, { target: "target", timeColumn: "day" });
    expect(p.validation.kind).toBe("time");
    const day = base.columns.find((c) => c.name === "day");
    if (day?.kind !== "categorical") throw new Error("day should be text");
    const at = (pos: number): string => day.dictionary[day.codes[p.rows[pos] as number] as number] as string;
    for (const s of makeSplits(p, 1)) {
      const lastTrain = at(Math.max(...s.train));
      for (const t of s.test) expect(at(t) >= lastTrain).toBe(true);
    }
  });

  it("uses a holdout for large data", () => {
    const p = setupProblem(syntheticFrame({ rows: 400, task: "binary" }), {
      target: "target",
      kfoldMaxRows: 300,
    });
    expect(p.validation).toMatchObject({ kind: "holdout", folds: 1 });
    expect(makeSplits(p, 1)).toHaveLength(1);
  });

  it("rejects a missing target, too few rows, a contradicting task and an all-missing column", () => {
    const frame = syntheticFrame({ rows: 100, task: "binary" });
    expect(codeOf(() => setupProblem(frame, { target: "nope" }))).toBe("INVALID_ARGUMENT");
    expect(
      codeOf(() => setupProblem(syntheticFrame({ rows: 10, task: "binary" }), { target: "target" })),
    ).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => setupProblem(frame, { target: "target", task: "regression" }))).toBe(
      "INVALID_ARGUMENT",
    );
    expect(codeOf(() => setupProblem(frame, { target: "a", task: "binary" }))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => setupProblem(frame, { target: "target", metric: "rmse" }))).toBe("INVALID_ARGUMENT");
    const empty = createFrame([
      ...frame.columns,
      { kind: "numeric", name: "blank", values: new Float64Array(100).fill(NaN) },
    ]);
    expect(() => setupProblem(empty, { target: "target" })).toThrow(/blank/);
    expect(setupProblem(empty, { target: "target", exclude: ["blank"] }).dropped).toEqual([
      { name: "blank", reason: "excluded by the caller" },
    ]);
  });

  it("leaves rows without a target out and counts them", () => {
    const frame = frameFromColumns({
      x: Array.from({ length: 40 }, (_, i) => (i * 37) % 11),
      y: Array.from({ length: 40 }, (_, i) => (i % 5 === 0 ? null : i * 1.5)),
    });
    const p = setupProblem(frame, { target: "y" });
    expect(p.rowsWithoutTarget).toBe(8);
    expect(p.rows.length).toBe(32);
  });
});
