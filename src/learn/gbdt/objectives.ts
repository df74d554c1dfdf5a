// Loss functions: gradients/hessians per row, starting score, output transform and early-stopping metric.
import type { Objective } from "./types.ts";

export interface ObjectiveImpl {
  /** Raw scores per row (n x nOutputs, row-major). */
  readonly nOutputs: number;
  /** Starting raw score per output, from the target (mean, log-odds, class log-priors, median). */
  baseScore(y: Float64Array): number[];
  /** Fills grad/hess for output k from the raw scores. */
  gradients(y: Float64Array, raw: Float64Array, k: number, grad: Float32Array, hess: Float32Array): void;
  /** Turns raw scores into predictions in place (probabilities, means). */
  transform(raw: Float64Array): void;
  /** Validation loss for early stopping; lower is better. */
  loss(y: Float64Array, raw: Float64Array): number;
}

const HESS_FLOOR = 1e-16;

export function createObjective(objective: Objective, nClasses: number, huberDelta: number): ObjectiveImpl {
  switch (objective) {
    case "regression":
      return {
        nOutputs: 1,
        baseScore: (y) => [mean(y)],
        gradients: (y, raw, _k, grad, hess) => {
          for (let i = 0; i < y.length; i++) {
            grad[i] = (raw[i] as number) - (y[i] as number);
            hess[i] = 1;
          }
        },
        transform: () => undefined,
        loss: (y, raw) => Math.sqrt(meanOf(y.length, (i) => ((raw[i] as number) - (y[i] as number)) ** 2)),
      };
    case "binary":
      return {
        nOutputs: 1,
        baseScore: (y) => {
          const p = Math.min(Math.max(mean(y), 1e-6), 1 - 1e-6);
          return [Math.log(p / (1 - p))];
        },
        gradients: (y, raw, _k, grad, hess) => {
          for (let i = 0; i < y.length; i++) {
            const p = 1 / (1 + Math.exp(-(raw[i] as number)));
            grad[i] = p - (y[i] as number);
            hess[i] = Math.max(p * (1 - p), HESS_FLOOR);
          }
        },
        transform: (raw) => {
          for (let i = 0; i < raw.length; i++) raw[i] = 1 / (1 + Math.exp(-(raw[i] as number)));
        },
        loss: (y, raw) =>
          meanOf(y.length, (i) => {
            const p = Math.min(Math.max(1 / (1 + Math.exp(-(raw[i] as number))), 1e-15), 1 - 1e-15);
            return y[i] === 1 ? -Math.log(p) : -Math.log(1 - p);
          }),
      };
    case "multiclass":
      return softmax(nClasses);
    case "absolute":
      return {
        nOutputs: 1,
        baseScore: (y) => [median(y)],
        gradients: (y, raw, _k, grad, hess) => {
          for (let i = 0; i < y.length; i++) {
            const d = (raw[i] as number) - (y[i] as number);
            grad[i] = d > 0 ? 1 : d < 0 ? -1 : 0;
            hess[i] = 1;
          }
        },
        transform: () => undefined,
        loss: (y, raw) => meanOf(y.length, (i) => Math.abs((raw[i] as number) - (y[i] as number))),
      };
    case "huber":
      return {
        nOutputs: 1,
        baseScore: (y) => [median(y)],
        gradients: (y, raw, _k, grad, hess) => {
          const d2 = huberDelta * huberDelta;
          for (let i = 0; i < y.length; i++) {
            const d = (raw[i] as number) - (y[i] as number);
            const s = 1 + (d * d) / d2;
            const root = Math.sqrt(s);
            grad[i] = d / root;
            hess[i] = 1 / (s * root);
          }
        },
        transform: () => undefined,
        loss: (y, raw) =>
          meanOf(y.length, (i) => {
            const d = (raw[i] as number) - (y[i] as number);
            return huberDelta * huberDelta * (Math.sqrt(1 + (d / huberDelta) ** 2) - 1);
          }),
      };
    case "poisson":
      return {
        nOutputs: 1,
        baseScore: (y) => [Math.log(Math.max(mean(y), 1e-6))],
        gradients: (y, raw, _k, grad, hess) => {
          for (let i = 0; i < y.length; i++) {
            const mu = Math.exp(raw[i] as number);
            grad[i] = mu - (y[i] as number);
            // XGBoost's max_delta_step of 0.7 for Poisson keeps early leaf weights from overshooting.
            hess[i] = Math.max(mu * Math.exp(0.7), HESS_FLOOR);
          }
        },
        transform: (raw) => {
          for (let i = 0; i < raw.length; i++) raw[i] = Math.exp(raw[i] as number);
        },
        loss: (y, raw) =>
          meanOf(y.length, (i) => Math.exp(raw[i] as number) - (y[i] as number) * (raw[i] as number)),
      };
  }
}

function softmax(k: number): ObjectiveImpl {
  let probs = new Float64Array(0);
  return {
    nOutputs: k,
    baseScore: (y) => {
      const counts = new Float64Array(k);
      for (let i = 0; i < y.length; i++) {
        const c = y[i] as number;
        counts[c] = (counts[c] as number) + 1;
      }
      return Array.from(counts, (c) => Math.log(Math.max(c / y.length, 1e-6)));
    },
    gradients: (y, raw, c, grad, hess) => {
      // Softmax is computed once per round (at class 0) and reused for the other classes' trees.
      if (c === 0) {
        if (probs.length !== raw.length) probs = new Float64Array(raw.length);
        probs.set(raw);
        softmaxRows(probs, k);
      }
      for (let i = 0; i < y.length; i++) {
        const p = probs[i * k + c] as number;
        grad[i] = y[i] === c ? p - 1 : p;
        hess[i] = Math.max(2 * p * (1 - p), HESS_FLOOR);
      }
    },
    transform: (raw) => softmaxRows(raw, k),
    loss: (y, raw) => {
      const p = Float64Array.from(raw);
      softmaxRows(p, k);
      return meanOf(y.length, (i) => -Math.log(Math.max(p[i * k + (y[i] as number)] as number, 1e-15)));
    },
  };
}

function softmaxRows(raw: Float64Array, k: number): void {
  for (let o = 0; o < raw.length; o += k) {
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, raw[o + j] as number);
    let sum = 0;
    for (let j = 0; j < k; j++) {
      const e = Math.exp((raw[o + j] as number) - max);
      raw[o + j] = e;
      sum += e;
    }
    for (let j = 0; j < k; j++) raw[o + j] = (raw[o + j] as number) / sum;
  }
}

function mean(y: Float64Array): number {
  return meanOf(y.length, (i) => y[i] as number);
}

function meanOf(n: number, f: (i: number) => number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += f(i);
  return s / n;
}

function median(y: Float64Array): number {
  const s = Float64Array.from(y).sort();
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}
