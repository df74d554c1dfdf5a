// Objectives of the linear learners and their solvers: L-BFGS for smooth penalties, coordinate descent for L1.
// Data come column-major (one Float64Array per feature). Objectives are per row:
//   regression  (1/2n) Σ (y - b - x·w)² + λ1 ||w||₁ + (λ2/2) ||w||²   (scikit-learn's ElasticNet)
//   logistic    (1/n) Σ log-loss            + λ1 ||w||₁ + (λ2/2) ||w||²   (scikit-learn's C Σ loss + penalty, / C n)
import { minimizeLbfgs } from "./lbfgs.ts";

export interface Penalty {
  readonly l1: number;
  readonly l2: number;
}

export interface Fitted {
  /** nOutputs x nFeatures, row-major. */
  readonly coef: Float64Array;
  readonly intercept: Float64Array;
  readonly iterations: number;
  readonly converged: boolean;
}

const TOL = 1e-10;

/** z = b + X w for every row. */
function linearPredictor(
  X: readonly Float64Array[],
  w: Float64Array,
  wOffset: number,
  b: number,
  z: Float64Array,
): void {
  z.fill(b);
  for (let j = 0; j < X.length; j++) {
    const wj = w[wOffset + j] as number;
    if (wj === 0) continue;
    const x = X[j] as Float64Array;
    for (let i = 0; i < z.length; i++) z[i] = (z[i] as number) + wj * (x[i] as number);
  }
}

function dotColumn(x: Float64Array, r: Float64Array): number {
  let s = 0;
  for (let i = 0; i < r.length; i++) s += (x[i] as number) * (r[i] as number);
  return s;
}

/** Smooth squared loss (ridge or ordinary least squares) by L-BFGS; parameters are [w, b]. */
export function fitSquaredSmooth(
  X: readonly Float64Array[],
  y: Float64Array,
  l2: number,
  maxIter: number,
  deadline?: number,
): Fitted {
  const n = y.length;
  const p = X.length;
  const z = new Float64Array(n);
  const r = new Float64Array(n);
  const result = minimizeLbfgs(
    (theta, grad) => {
      linearPredictor(X, theta, 0, theta[p] as number, z);
      let loss = 0;
      let rsum = 0;
      for (let i = 0; i < n; i++) {
        const ri = (z[i] as number) - (y[i] as number);
        r[i] = ri;
        loss += ri * ri;
        rsum += ri;
      }
      let pen = 0;
      for (let j = 0; j < p; j++) {
        const wj = theta[j] as number;
        grad[j] = dotColumn(X[j] as Float64Array, r) / n + l2 * wj;
        pen += wj * wj;
      }
      grad[p] = rsum / n;
      return loss / (2 * n) + 0.5 * l2 * pen;
    },
    new Float64Array(p + 1),
    { tolerance: TOL, maxIterations: maxIter, ...(deadline !== undefined && { deadline }) },
  );
  return {
    coef: result.x.slice(0, p),
    intercept: Float64Array.of(result.x[p] as number),
    iterations: result.iterations,
    converged: result.converged,
  };
}

/**
 * The smooth logistic objective (1/n) Σ log-loss + (λ2/2) ||w||² over parameters [w_k, b_k] per output
 * (K = 1: binary, y in {0, 1}; K > 1: multinomial, y = class index): writes the gradient, returns the value.
 */
function logisticObjective(
  X: readonly Float64Array[],
  y: Float64Array,
  K: number,
  l2: number,
): (theta: Float64Array, grad: Float64Array) => number {
  const n = y.length;
  const p = X.length;
  const stride = p + 1;
  const z = Array.from({ length: K }, () => new Float64Array(n));
  const residual = Array.from({ length: K }, () => new Float64Array(n));
  return (theta, grad) => {
    for (let k = 0; k < K; k++)
      linearPredictor(X, theta, k * stride, theta[k * stride + p] as number, z[k] as Float64Array);
    let loss = 0;
    if (K === 1) {
      const zz = z[0] as Float64Array;
      const res = residual[0] as Float64Array;
      for (let i = 0; i < n; i++) {
        const zi = zz[i] as number;
        const yi = y[i] as number;
        // log(1 + e^z) - y z, computed without overflow.
        loss += (zi > 0 ? zi + Math.log1p(Math.exp(-zi)) : Math.log1p(Math.exp(zi))) - yi * zi;
        res[i] = sigmoid(zi) - yi;
      }
    } else {
      for (let i = 0; i < n; i++) {
        let max = -Infinity;
        for (let k = 0; k < K; k++) max = Math.max(max, (z[k] as Float64Array)[i] as number);
        let sum = 0;
        for (let k = 0; k < K; k++) sum += Math.exp(((z[k] as Float64Array)[i] as number) - max);
        const lse = max + Math.log(sum);
        const yi = y[i] as number;
        loss += lse - ((z[yi] as Float64Array)[i] as number);
        for (let k = 0; k < K; k++)
          (residual[k] as Float64Array)[i] =
            Math.exp(((z[k] as Float64Array)[i] as number) - lse) - (k === yi ? 1 : 0);
      }
    }
    let pen = 0;
    for (let k = 0; k < K; k++) {
      const res = residual[k] as Float64Array;
      let rsum = 0;
      for (let i = 0; i < n; i++) rsum += res[i] as number;
      for (let j = 0; j < p; j++) {
        const wj = theta[k * stride + j] as number;
        grad[k * stride + j] = dotColumn(X[j] as Float64Array, res) / n + l2 * wj;
        pen += wj * wj;
      }
      grad[k * stride + p] = rsum / n;
    }
    return loss / n + 0.5 * l2 * pen;
  };
}

/** Splits [w_k, b_k] per output into coef (K x p) and intercept (K). */
function unpack(theta: Float64Array, K: number, p: number): { coef: Float64Array; intercept: Float64Array } {
  const coef = new Float64Array(K * p);
  const intercept = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    coef.set(theta.subarray(k * (p + 1), k * (p + 1) + p), k * p);
    intercept[k] = theta[k * (p + 1) + p] as number;
  }
  return { coef, intercept };
}

/** Binary (K = 1, y in {0, 1}) or multinomial (K classes, y = class index) logistic loss by L-BFGS. */
export function fitLogisticSmooth(
  X: readonly Float64Array[],
  y: Float64Array,
  K: number,
  l2: number,
  maxIter: number,
  deadline?: number,
): Fitted {
  const result = minimizeLbfgs(logisticObjective(X, y, K, l2), new Float64Array(K * (X.length + 1)), {
    tolerance: TOL,
    maxIterations: maxIter,
    ...(deadline !== undefined && { deadline }),
  });
  return { ...unpack(result.x, K, X.length), iterations: result.iterations, converged: result.converged };
}

/**
 * Multinomial logistic loss with an L1 (and L2) penalty on every one of the K x p weights, as scikit-learn's
 * saga solver: accelerated proximal gradient (FISTA) with a backtracking step and a restart whenever the
 * objective rises; intercepts are not penalised.
 */
export function fitMultinomialL1(
  X: readonly Float64Array[],
  y: Float64Array,
  K: number,
  penalty: Penalty,
  maxIter: number,
  deadline?: number,
): Fitted {
  const p = X.length;
  const size = K * (p + 1);
  const smooth = logisticObjective(X, y, K, penalty.l2);
  const isWeight = (i: number): boolean => i % (p + 1) !== p;
  const l1Norm = (theta: Float64Array): number => {
    let s = 0;
    for (let i = 0; i < size; i++) if (isWeight(i)) s += Math.abs(theta[i] as number);
    return s;
  };
  let x: Float64Array = new Float64Array(size);
  let fx = smooth(x, new Float64Array(size)) + penalty.l1 * l1Norm(x);
  let point: Float64Array = Float64Array.from(x);
  const grad = new Float64Array(size);
  const scratch = new Float64Array(size);
  let t = 1;
  let lipschitz = 1;
  for (let iter = 1; iter <= maxIter; iter++) {
    if (deadline !== undefined && iter > 1 && Date.now() >= deadline) {
      return { ...unpack(x, K, p), iterations: iter - 1, converged: false };
    }
    const fPoint = smooth(point, grad);
    const next = new Float64Array(size);
    let fNext: number;
    // Backtracking: grow the Lipschitz estimate until the quadratic model bounds the smooth part.
    for (;;) {
      let model = fPoint;
      for (let i = 0; i < size; i++) {
        const step = (point[i] as number) - (grad[i] as number) / lipschitz;
        const v = isWeight(i) ? softThreshold(step, penalty.l1 / lipschitz) : step;
        next[i] = v;
        const d = v - (point[i] as number);
        model += (grad[i] as number) * d + 0.5 * lipschitz * d * d;
      }
      fNext = smooth(next, scratch);
      if (fNext <= model + 1e-15 * Math.abs(model)) break;
      lipschitz *= 2;
    }
    const objective = fNext + penalty.l1 * l1Norm(next);
    let maxDelta = 0;
    for (let i = 0; i < size; i++)
      maxDelta = Math.max(maxDelta, Math.abs((next[i] as number) - (x[i] as number)));
    if (objective > fx) {
      // A plain step from the last iterate no longer descends: that is rounding at the optimum.
      if (t === 1) return { ...unpack(x, K, p), iterations: iter, converged: true };
      // Momentum overshot: restart from the last iterate without it.
      t = 1;
      point = Float64Array.from(x);
      continue;
    }
    const tNext = (1 + Math.sqrt(1 + 4 * t * t)) / 2;
    const momentum = (t - 1) / tNext;
    point = next.map((v, i) => v + momentum * (v - (x[i] as number)));
    x = next;
    fx = objective;
    t = tNext;
    // A little shrinking keeps the step from staying at a pessimistic estimate.
    lipschitz *= 0.9;
    if (maxDelta < 1e-13) return { ...unpack(x, K, p), iterations: iter, converged: true };
  }
  return { ...unpack(x, K, p), iterations: maxIter, converged: false };
}

/**
 * Cyclic coordinate descent for (1/2n) Σ v (z - b - x·w)² + λ1 ||w||₁ + (λ2/2) ||w||² (v = 1 when null),
 * updating w and returning b; stops when no coefficient moves more than `tol`.
 */
function weightedElasticNet(
  X: readonly Float64Array[],
  target: Float64Array,
  v: Float64Array | null,
  penalty: Penalty,
  w: Float64Array,
  maxSweeps: number,
  tol: number,
  deadline?: number,
): { b: number; sweeps: number; converged: boolean } {
  const n = target.length;
  const p = X.length;
  let vsum = 0;
  for (let i = 0; i < n; i++) vsum += v ? (v[i] as number) : 1;
  // Residual r = z - b - X w, kept up to date as coefficients move.
  const r = new Float64Array(n);
  linearPredictor(X, w, 0, 0, r);
  for (let i = 0; i < n; i++) r[i] = (target[i] as number) - (r[i] as number);
  const curvature = new Float64Array(p);
  for (let j = 0; j < p; j++) {
    const x = X[j] as Float64Array;
    let s = 0;
    for (let i = 0; i < n; i++) s += (v ? (v[i] as number) : 1) * (x[i] as number) * (x[i] as number);
    curvature[j] = s / n;
  }
  let b = 0;
  for (let sweep = 1; sweep <= maxSweeps; sweep++) {
    if (deadline !== undefined && sweep > 1 && Date.now() >= deadline) {
      return { b, sweeps: sweep - 1, converged: false };
    }
    let maxDelta = 0;
    // Intercept: the weighted mean of the residual.
    let rb = 0;
    for (let i = 0; i < n; i++) rb += (v ? (v[i] as number) : 1) * (r[i] as number);
    const db = rb / vsum;
    if (db !== 0) {
      b += db;
      for (let i = 0; i < n; i++) r[i] = (r[i] as number) - db;
      maxDelta = Math.abs(db);
    }
    for (let j = 0; j < p; j++) {
      const x = X[j] as Float64Array;
      const old = w[j] as number;
      let rho = 0;
      if (v) for (let i = 0; i < n; i++) rho += (v[i] as number) * (x[i] as number) * (r[i] as number);
      else for (let i = 0; i < n; i++) rho += (x[i] as number) * (r[i] as number);
      rho = rho / n + (curvature[j] as number) * old;
      const next = softThreshold(rho, penalty.l1) / ((curvature[j] as number) + penalty.l2);
      const delta = next - old;
      if (delta !== 0) {
        w[j] = next;
        for (let i = 0; i < n; i++) r[i] = (r[i] as number) - delta * (x[i] as number);
        maxDelta = Math.max(maxDelta, Math.abs(delta));
      }
    }
    if (maxDelta < tol) return { b, sweeps: sweep, converged: true };
  }
  return { b, sweeps: maxSweeps, converged: false };
}

/** Squared loss with an L1 part, by coordinate descent (no sweep starts after `deadline`). */
export function fitSquaredL1(
  X: readonly Float64Array[],
  y: Float64Array,
  penalty: Penalty,
  maxIter: number,
  deadline?: number,
): Fitted {
  const w = new Float64Array(X.length);
  const { b, sweeps, converged } = weightedElasticNet(X, y, null, penalty, w, maxIter, 1e-12, deadline);
  return { coef: w, intercept: Float64Array.of(b), iterations: sweeps, converged };
}

/**
 * Binary logistic loss with an L1 part: proximal Newton (as glmnet) — each outer step solves the
 * weighted least-squares approximation by coordinate descent, then backtracks if the objective rose.
 */
export function fitLogisticL1(
  X: readonly Float64Array[],
  y: Float64Array,
  penalty: Penalty,
  maxIter: number,
  deadline?: number,
): Fitted {
  const n = y.length;
  const p = X.length;
  let w = new Float64Array(p);
  let b = 0;
  const eta = new Float64Array(n);
  const v = new Float64Array(n);
  const z = new Float64Array(n);
  const objective = (ww: Float64Array, bb: number): number => {
    linearPredictor(X, ww, 0, bb, eta);
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const e = eta[i] as number;
      loss += (e > 0 ? e + Math.log1p(Math.exp(-e)) : Math.log1p(Math.exp(e))) - (y[i] as number) * e;
    }
    let l1 = 0;
    let l2 = 0;
    for (const c of ww) {
      l1 += Math.abs(c);
      l2 += c * c;
    }
    return loss / n + penalty.l1 * l1 + 0.5 * penalty.l2 * l2;
  };
  let value = objective(w, b);
  for (let iter = 1; iter <= maxIter; iter++) {
    // Collinear columns (one-hot groups) can make coordinate descent crawl: a deadline keeps what it has.
    if (deadline !== undefined && iter > 1 && Date.now() >= deadline) {
      return { coef: w, intercept: Float64Array.of(b), iterations: iter - 1, converged: false };
    }
    linearPredictor(X, w, 0, b, eta);
    for (let i = 0; i < n; i++) {
      const e = eta[i] as number;
      const pr = sigmoid(e);
      const vi = Math.max(pr * (1 - pr), 1e-10);
      v[i] = vi;
      z[i] = e - b + ((y[i] as number) - pr) / vi;
    }
    const next = Float64Array.from(w);
    const inner = weightedElasticNet(X, z, v, penalty, next, 10_000, 1e-13, deadline);
    const nextB = b + inner.b;
    // Backtrack along the Newton step until the true objective does not rise.
    let t = 1;
    let candW = next;
    let candB = nextB;
    let candValue = objective(candW, candB);
    while (candValue > value && t > 1e-6) {
      t /= 2;
      candW = w.map((c, j) => c + t * ((next[j] as number) - c));
      candB = b + t * (nextB - b);
      candValue = objective(candW, candB);
    }
    let maxDelta = Math.abs(candB - b);
    for (let j = 0; j < p; j++)
      maxDelta = Math.max(maxDelta, Math.abs((candW[j] as number) - (w[j] as number)));
    w = candW;
    b = candB;
    value = Math.min(value, candValue);
    if (maxDelta < 1e-11)
      return { coef: w, intercept: Float64Array.of(b), iterations: iter, converged: true };
  }
  return { coef: w, intercept: Float64Array.of(b), iterations: maxIter, converged: false };
}

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

function softThreshold(x: number, t: number): number {
  return x > t ? x - t : x < -t ? x + t : 0;
}
