import { describe, expect, it } from "vitest";
import { isLoopmlError } from "../errors.ts";
import { createRng } from "./random.ts";
import { holdout, kFold, stratifiedKFold, timeSeriesSplit } from "./split.ts";

const all = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const union = (a: Uint32Array, b: Uint32Array): number[] => [...a, ...b].sort((x, y) => x - y);

describe("random", () => {
  it("is deterministic per seed and roughly uniform", () => {
    const a = createRng(7);
    const b = createRng(7);
    const c = createRng(8);
    const xs = Array.from({ length: 10_000 }, () => a.next());
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b.next()));
    expect(c.next()).not.toBe(xs[0]);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.02);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
  });
});

describe("splitters", () => {
  it("holdout partitions the rows, is seeded, and stratifies", () => {
    const s = holdout(100, { testFraction: 0.25, seed: 3 });
    expect(s.test.length).toBe(25);
    expect(union(s.train, s.test)).toEqual(all(100));
    expect(holdout(100, { testFraction: 0.25, seed: 3 })).toEqual(s);
    expect(holdout(100, { testFraction: 0.25, seed: 4 }).test).not.toEqual(s.test);
    const labels = all(100).map((i) => (i < 20 ? 1 : 0));
    const st = holdout(100, { testFraction: 0.25, stratify: labels, seed: 1 });
    expect([...st.test].filter((i) => labels[i] === 1).length).toBe(5);
    const tail = holdout(10, { testFraction: 0.3, shuffle: false });
    expect([...tail.test]).toEqual([7, 8, 9]);
  });

  it("k-fold covers each row once in a test part, with sklearn fold sizes", () => {
    const folds = kFold(10, 3, { shuffle: true, seed: 5 });
    expect(folds.map((f) => f.test.length)).toEqual([4, 3, 3]);
    expect(folds.flatMap((f) => [...f.test]).sort((a, b) => a - b)).toEqual(all(10));
    for (const f of folds) expect(union(f.train, f.test)).toEqual(all(10));
  });

  it("stratified k-fold keeps class proportions", () => {
    const labels = all(60).map((i) => (i % 3 === 0 ? 1 : 0));
    const folds = stratifiedKFold(labels, 4, { shuffle: true, seed: 2 });
    for (const f of folds) {
      expect(f.test.length).toBe(15);
      expect([...f.test].filter((i) => labels[i] === 1).length).toBe(5);
      expect(union(f.train, f.test)).toEqual(all(60));
    }
  });

  it("time-series split matches sklearn TimeSeriesSplit(n_splits=3, gap=1) on 10 rows", () => {
    const folds = timeSeriesSplit(10, 3, { gap: 1 });
    expect(folds.map((f) => [[...f.train], [...f.test]])).toEqual([
      [
        [0, 1, 2],
        [4, 5],
      ],
      [
        [0, 1, 2, 3, 4],
        [6, 7],
      ],
      [
        [0, 1, 2, 3, 4, 5, 6],
        [8, 9],
      ],
    ]);
  });

  it("rejects impossible splits with INVALID_ARGUMENT", () => {
    for (const call of [
      () => kFold(3, 5),
      () => holdout(10, { testFraction: 1.5 }),
      () => timeSeriesSplit(4, 5),
    ]) {
      let err: unknown;
      try {
        call();
      } catch (e) {
        err = e;
      }
      expect(isLoopmlError(err, "INVALID_ARGUMENT")).toBe(true);
    }
  });
});
