// Tree-structured Parzen Estimator (Bergstra et al. 2011, as in hyperopt and Optuna): model the good and the
// bad configurations with one Parzen density each, per dimension, and propose where good/bad is largest.
import type { Rng } from "../learn/random.ts";
import { restartPoint } from "./cfo.ts";
import { initialPoint, paramsOf, pointOf, type Dimension, type LearnerSpace } from "./space.ts";
import { gaussian, type Proposal, type Searcher } from "./searcher.ts";

export interface TpeOptions {
  /** Random (cost-frugal) proposals before the densities are used; 8 by default. */
  readonly startup?: number;
  /** Share of observations counted as good; 0.1 by default (Optuna's ceil(0.1 n)), at most `maxGood` of them. */
  readonly gamma?: number;
  readonly maxGood?: number;
  /** Candidates drawn from the good density per proposal; 24 as in hyperopt and Optuna. */
  readonly candidates?: number;
}

interface Observation {
  readonly point: readonly number[];
  readonly loss: number;
}

/** Weight of the flat prior component in every density, so no region is ever impossible. */
const PRIOR_WEIGHT = 1;
const MIN_BANDWIDTH = 0.01;

/**
 * Each dimension lives in the unit cube of the space, so log-scaled parameters get log-scale densities and
 * integers are rounded when mapped back; categorical dimensions get smoothed frequency tables.
 * Failures count as the worst observations. The first proposals are the space's low-cost start and seeds.
 *
 * @example
 * const s = createTpeSearcher(spaceFor("gbdt", "binary", 8), createRng(1));
 * const p = s.propose();
 * s.report(p, 0.31);
 */
export function createTpeSearcher(space: LearnerSpace, rng: Rng, options: TpeOptions = {}): Searcher {
  const startup = options.startup ?? 8;
  const gamma = options.gamma ?? 0.1;
  const maxGood = options.maxGood ?? 25;
  const nCandidates = options.candidates ?? 24;
  const queue: (readonly number[])[] = [initialPoint(space), ...space.seeds.map((s) => pointOf(space, s))];
  let history: Observation[] = [];
  let incumbent: Observation | null = null;
  let sinceImprovement = 0;
  let nextTag = 1;

  const issue = (point: readonly number[]): Proposal => ({
    point,
    params: paramsOf(space, point),
    tag: nextTag++,
  });

  function sample(): number[] {
    const finite = history.filter((o) => Number.isFinite(o.loss));
    if (history.length < startup || finite.length < 2) {
      // Random points, cheap in their cost dimensions half the time, so the start stays frugal.
      return rng.next() < 0.5 ? restartPoint(space, rng) : space.dimensions.map(() => rng.next());
    }
    const sorted = [...history].sort((a, b) => a.loss - b.loss);
    const nGood = Math.max(1, Math.min(maxGood, Math.ceil(gamma * sorted.length)));
    const good = sorted.slice(0, nGood);
    const bad = sorted.slice(nGood);
    const densities = space.dimensions.map((dim, j) => ({
      good: parzen(
        dim,
        good.map((o) => o.point[j] as number),
      ),
      bad: parzen(
        dim,
        bad.map((o) => o.point[j] as number),
      ),
    }));
    let best: number[] = [];
    let bestScore = -Infinity;
    for (let c = 0; c < nCandidates; c++) {
      const x = densities.map((d) => d.good.sample(rng));
      let score = 0;
      densities.forEach((d, j) => {
        score += Math.log(d.good.density(x[j] as number)) - Math.log(d.bad.density(x[j] as number));
      });
      if (score > bestScore) {
        bestScore = score;
        best = x;
      }
    }
    return best;
  }

  return {
    space,
    get incumbent() {
      return incumbent;
    },
    get sinceImprovement() {
      return sinceImprovement;
    },
    canPropose: () => true,
    propose() {
      return issue(queue.shift() ?? sample());
    },
    report(proposal, loss) {
      const value = loss ?? Infinity;
      history.push({ point: proposal.point, loss: value });
      sinceImprovement++;
      if (loss !== null && (incumbent === null || loss < incumbent.loss)) {
        incumbent = { point: proposal.point, loss };
        sinceImprovement = 0;
      }
    },
    rebase(point, loss) {
      // Losses on a larger sample are not comparable with the smaller sample's: keep the ranking of the
      // configurations seen so far (as the prior of the new level) but below the new incumbent.
      const offset = Math.max(0, ...history.filter((o) => Number.isFinite(o.loss)).map((o) => o.loss)) - loss;
      history = history.map((o) => ({ point: o.point, loss: o.loss + Math.max(0, offset) + 1e-12 }));
      history.push({ point, loss });
      incumbent = { point, loss };
      sinceImprovement = 0;
    },
  };
}

interface Density {
  sample(rng: Rng): number;
  density(x: number): number;
}

/** A mixture of a flat prior on [0, 1] and one component per observation. */
export function parzen(dim: Dimension, xs: readonly number[]): Density {
  if (dim.choices) return categorical(dim.choices.length, xs);
  const sorted = [...xs].sort((a, b) => a - b);
  const n = sorted.length;
  // Bandwidth per point: the larger gap to its neighbours (hyperopt's rule), with the bounds as neighbours.
  const sigma = sorted.map((x, i) => {
    const left = x - (i > 0 ? (sorted[i - 1] as number) : 0);
    const right = (i < n - 1 ? (sorted[i + 1] as number) : 1) - x;
    return Math.min(1, Math.max(MIN_BANDWIDTH, Math.max(left, right)));
  });
  const total = n + PRIOR_WEIGHT;
  // Each Gaussian is truncated to [0, 1]; its mass there normalises it.
  const mass = sorted.map(
    (mu, i) => normalCdf((1 - mu) / (sigma[i] as number)) - normalCdf(-mu / (sigma[i] as number)),
  );
  return {
    sample(rng) {
      const pick = rng.next() * total;
      if (pick >= n) return rng.next();
      const i = Math.min(n - 1, Math.floor(pick));
      const mu = sorted[i] as number;
      const s = sigma[i] as number;
      // Rejection sampling from the truncated Gaussian; it accepts within a few draws since mu is inside [0, 1].
      for (let k = 0; k < 64; k++) {
        const x = mu + s * gaussian(rng);
        if (x >= 0 && x <= 1) return x;
      }
      return Math.min(1, Math.max(0, mu));
    },
    density(x) {
      let sum = PRIOR_WEIGHT;
      for (let i = 0; i < n; i++) {
        const s = sigma[i] as number;
        const z = (x - (sorted[i] as number)) / s;
        sum += Math.exp(-0.5 * z * z) / (s * Math.sqrt(2 * Math.PI) * Math.max(1e-12, mass[i] as number));
      }
      return sum / total;
    },
  };
}

/** Smoothed category frequencies (one pseudo-count each), on the same unit-interval coding as the space. */
function categorical(k: number, xs: readonly number[]): Density {
  const counts = new Float64Array(k).fill(PRIOR_WEIGHT);
  for (const x of xs) {
    const c = Math.min(k - 1, Math.floor(x * k));
    counts[c] = (counts[c] as number) + 1;
  }
  const total = counts.reduce((a, b) => a + b, 0);
  return {
    sample(rng) {
      let r = rng.next() * total;
      for (let c = 0; c < k; c++) {
        r -= counts[c] as number;
        if (r <= 0) return (c + 0.5) / k;
      }
      return (k - 0.5) / k;
    },
    // A density on [0, 1]: the category's probability spread over its interval of width 1/k.
    density(x) {
      const c = Math.min(k - 1, Math.max(0, Math.floor(x * k)));
      return ((counts[c] as number) / total) * k;
    },
  };
}

/** Standard normal CDF (Abramowitz & Stegun 7.1.26 through erf; error below 1.5e-7). */
function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf =
    1 -
    t *
      (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) *
      Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}
