// L1 and elastic-net solvers stop at a deadline: on collinear one-hot columns coordinate descent can crawl
// for minutes (a 60 s AutoML run on titanic_1912 once took 255 s inside one L1 logistic fit).
import { describe, expect, it } from "vitest";
import { fitLogisticL1, fitMultinomialL1, fitSquaredL1 } from "./solvers.ts";

/** Two one-hot groups of the same categorical column: perfectly collinear, as AutoML's preprocessing can give. */
function collinear(n: number): { X: Float64Array[]; binary: Float64Array; classes: Float64Array } {
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  const binary = new Float64Array(n);
  const classes = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = i % 3 === 0 ? 1 : 0;
    b[i] = 1 - (a[i] as number);
    binary[i] = (i * 7) % 5 < 2 ? 1 : 0;
    classes[i] = (i * 7) % 3;
  }
  return { X: [a, b, Float64Array.from(a), Float64Array.from(b)], binary, classes };
}

describe("L1 solvers at a deadline", () => {
  const { X, binary, classes } = collinear(400);
  const penalty = { l1: 1e-4, l2: 1e-4 };
  const past = Date.now() - 1;

  it("start no iteration after a deadline that has passed, and keep finite coefficients", () => {
    for (const fitted of [
      fitLogisticL1(X, binary, penalty, 10_000, past),
      fitSquaredL1(X, binary, penalty, 10_000, past),
      fitMultinomialL1(X, classes, 3, penalty, 100_000, past),
    ]) {
      expect(fitted.iterations).toBe(1);
      expect(fitted.converged).toBe(false);
      for (const c of fitted.coef) expect(Number.isFinite(c)).toBe(true);
    }
  });

  it("run on to convergence without one", () => {
    const free = fitLogisticL1(X, binary, penalty, 10_000);
    expect(free.iterations).toBeGreaterThan(1);
    expect(fitMultinomialL1(X, classes, 3, penalty, 100_000).iterations).toBeGreaterThan(1);
  });
});
