// Per-learner search spaces: bounded dimensions, a low-cost start, and the map to and from [0, 1]^d.
import type { LearnerName, LearnerParams } from "./types.ts";

export interface Dimension {
  readonly name: keyof LearnerParams;
  readonly low: number;
  readonly high: number;
  readonly log: boolean;
  readonly integer: boolean;
  /** Where the search starts: the cheap end for cost dimensions (FLAML's low-cost initial point). */
  readonly init: number;
  /** Whether raising it makes a fit slower; the cost model reads these. */
  readonly cost?: boolean;
}

export interface LearnerSpace {
  readonly learner: LearnerName;
  readonly dimensions: readonly Dimension[];
  /** Fixed parameters every trial of this learner uses. */
  readonly fixed: LearnerParams;
  /** Configurations tried right after the low-cost start, e.g. the library defaults. */
  readonly seeds: readonly LearnerParams[];
}

const shared: readonly Dimension[] = [
  { name: "nRounds", low: 4, high: 2000, log: true, integer: true, init: 4, cost: true },
  { name: "learningRate", low: 0.01, high: 1, log: true, integer: false, init: 0.1 },
  { name: "minChildWeight", low: 0.01, high: 64, log: true, integer: false, init: 1 },
  { name: "subsample", low: 0.5, high: 1, log: false, integer: false, init: 1 },
  { name: "colsampleByTree", low: 0.3, high: 1, log: false, integer: false, init: 1 },
  { name: "lambda", low: 1 / 1024, high: 1024, log: true, integer: false, init: 1 },
  { name: "alpha", low: 1 / 1024, high: 64, log: true, integer: false, init: 1 / 1024 },
];

/** The learners learn offers today: depth-wise (XGBoost-like) and leaf-wise (LightGBM-like) boosting. */
export const SPACES: Readonly<Record<LearnerName, LearnerSpace>> = {
  gbdt: {
    learner: "gbdt",
    dimensions: [
      ...shared,
      { name: "maxDepth", low: 1, high: 12, log: false, integer: true, init: 3, cost: true },
    ],
    fixed: {},
    // XGBoost's defaults, so a short search is never worse than an untuned model.
    seeds: [
      {
        nRounds: 100,
        learningRate: 0.3,
        maxDepth: 6,
        minChildWeight: 1,
        subsample: 1,
        colsampleByTree: 1,
        lambda: 1,
        alpha: 1 / 1024,
      },
    ],
  },
  "gbdt-leafwise": {
    learner: "gbdt-leafwise",
    dimensions: [
      ...shared,
      { name: "numLeaves", low: 4, high: 512, log: true, integer: true, init: 4, cost: true },
    ],
    fixed: { maxDepth: 0 },
    seeds: [],
  },
};

export const LEARNERS = Object.keys(SPACES) as LearnerName[];

export function toUnit(dim: Dimension, value: number): number {
  const v = Math.min(dim.high, Math.max(dim.low, value));
  const u = dim.log
    ? Math.log(v / dim.low) / Math.log(dim.high / dim.low)
    : (v - dim.low) / (dim.high - dim.low);
  return Math.min(1, Math.max(0, u));
}

export function fromUnit(dim: Dimension, u: number): number {
  const c = Math.min(1, Math.max(0, u));
  const v = dim.log ? dim.low * Math.pow(dim.high / dim.low, c) : dim.low + c * (dim.high - dim.low);
  if (dim.integer) return Math.round(v);
  // Six significant digits keep leaderboards readable without changing the search.
  return Number(v.toPrecision(6));
}

export function initialPoint(space: LearnerSpace): number[] {
  return space.dimensions.map((d) => toUnit(d, d.init));
}

export function pointOf(space: LearnerSpace, params: LearnerParams): number[] {
  return space.dimensions.map((d) => toUnit(d, params[d.name] ?? d.init));
}

export function paramsOf(space: LearnerSpace, point: readonly number[]): LearnerParams {
  const params: Record<string, number> = { ...(space.fixed as Record<string, number>) };
  space.dimensions.forEach((d, i) => (params[d.name] = fromUnit(d, point[i] ?? 0)));
  return params;
}

/** A stable text key of a configuration, to skip evaluating the same one twice. */
export function configKey(learner: LearnerName, params: LearnerParams): string {
  const entries = Object.entries(params).sort(([a], [b]) => (a < b ? -1 : 1));
  return `${learner}:${JSON.stringify(entries)}`;
}

/**
 * Relative cost of one fit: rows x features x (rounds x tree depth + a fixed part for binning), so the
 * budget and learner choice can be planned before the fit runs. Trees cannot have more leaves than rows.
 */
export function costUnits(params: LearnerParams, rows: number, features: number): number {
  const byShape =
    params.numLeaves !== undefined && params.numLeaves > 0
      ? params.numLeaves
      : 2 ** Math.min(params.maxDepth ?? 6, 12);
  const leaves = Math.max(2, Math.min(byShape, rows / 2));
  const columns = Math.max(1, features * (params.colsampleByTree ?? 1));
  return rows * columns * ((params.nRounds ?? 100) * (1 + Math.log2(leaves)) + BINNING_ROUNDS);
}

/** Binning and setup cost about as much as this many boosting rounds. */
const BINNING_ROUNDS = 20;
