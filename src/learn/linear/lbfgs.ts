// Limited-memory BFGS for smooth convex objectives (logistic and ridge losses), with a backtracking Armijo search.

export interface LbfgsOptions {
  /** Stop when the largest gradient component is below this; 1e-10 by default. */
  readonly tolerance?: number;
  readonly maxIterations?: number;
  /** Pairs of (step, gradient change) kept; 10 by default. */
  readonly memory?: number;
  /** Epoch milliseconds after which no further iteration starts (the result is then not converged). */
  readonly deadline?: number;
}

export interface LbfgsResult {
  readonly x: Float64Array;
  readonly value: number;
  readonly iterations: number;
  readonly converged: boolean;
}

/** f(x) writes the gradient into `grad` and returns the value. */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

/**
 * @example
 * const { x } = minimizeLbfgs((x, g) => { g[0] = 2 * (x[0] - 3); return (x[0] - 3) ** 2; }, new Float64Array(1));
 */
export function minimizeLbfgs(f: Objective, x0: Float64Array, options: LbfgsOptions = {}): LbfgsResult {
  const tol = options.tolerance ?? 1e-10;
  const maxIter = options.maxIterations ?? 10_000;
  const m = options.memory ?? 10;
  const d = x0.length;
  let x = Float64Array.from(x0);
  let g = new Float64Array(d);
  let value = f(x, g);
  const s: Float64Array[] = [];
  const y: Float64Array[] = [];
  const rho: number[] = [];
  const dir = new Float64Array(d);
  const alpha = new Float64Array(m);
  let xNew = new Float64Array(d);
  let gNew = new Float64Array(d);
  const deadline = options.deadline;
  for (let iter = 0; iter < maxIter; iter++) {
    if (maxAbs(g) < tol) return { x, value, iterations: iter, converged: true };
    if (deadline !== undefined && iter > 0 && Date.now() >= deadline)
      return { x, value, iterations: iter, converged: false };
    // Two-loop recursion: dir = -H g.
    for (let i = 0; i < d; i++) dir[i] = -(g[i] as number);
    for (let j = s.length - 1; j >= 0; j--) {
      const a = (rho[j] as number) * dot(s[j] as Float64Array, dir);
      alpha[j] = a;
      axpy(-a, y[j] as Float64Array, dir);
    }
    if (s.length > 0) {
      const last = s.length - 1;
      const yy = dot(y[last] as Float64Array, y[last] as Float64Array);
      scale(dir, 1 / ((rho[last] as number) * yy));
    } else {
      scale(dir, 1 / Math.max(1, norm(g)));
    }
    for (let j = 0; j < s.length; j++) {
      const b = (rho[j] as number) * dot(y[j] as Float64Array, dir);
      axpy((alpha[j] as number) - b, s[j] as Float64Array, dir);
    }
    let slope = dot(g, dir);
    if (!(slope < 0)) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      s.length = 0;
      y.length = 0;
      rho.length = 0;
      for (let i = 0; i < d; i++) dir[i] = -(g[i] as number) / Math.max(1, norm(g));
      slope = dot(g, dir);
    }
    let step = 1;
    let newValue = Infinity;
    for (let tries = 0; tries < 60; tries++) {
      for (let i = 0; i < d; i++) xNew[i] = (x[i] as number) + step * (dir[i] as number);
      newValue = f(xNew, gNew);
      if (newValue <= value + 1e-4 * step * slope) break;
      step *= 0.5;
    }
    if (!(newValue <= value)) return { x, value, iterations: iter, converged: maxAbs(g) < tol * 100 };
    const sk = new Float64Array(d);
    const yk = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      sk[i] = (xNew[i] as number) - (x[i] as number);
      yk[i] = (gNew[i] as number) - (g[i] as number);
    }
    const sy = dot(sk, yk);
    if (sy > 1e-300) {
      if (s.length === m) {
        s.shift();
        y.shift();
        rho.shift();
      }
      s.push(sk);
      y.push(yk);
      rho.push(1 / sy);
    }
    const improvement = value - newValue;
    [x, xNew] = [xNew, x];
    [g, gNew] = [gNew, g];
    value = newValue;
    // At the optimum a step can no longer change the value in floating point: stop there.
    if (improvement <= 1e-16 * Math.max(1, Math.abs(value)) && maxAbs(g) < Math.sqrt(tol)) {
      return { x, value, iterations: iter + 1, converged: true };
    }
  }
  return { x, value, iterations: maxIter, converged: maxAbs(g) < tol };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

function axpy(a: number, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < x.length; i++) y[i] = (y[i] as number) + a * (x[i] as number);
}

function scale(x: Float64Array, a: number): void {
  for (let i = 0; i < x.length; i++) x[i] = (x[i] as number) * a;
}

function norm(x: Float64Array): number {
  return Math.sqrt(dot(x, x));
}

function maxAbs(x: Float64Array): number {
  let m = 0;
  for (const v of x) if (Math.abs(v) > m) m = Math.abs(v);
  return m;
}
