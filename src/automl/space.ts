// Per-learner search spaces: bounded dimensions, a low-cost start, the map to and from [0, 1]^d, and a cost model.
import type { LearnerName, LearnerParams, Task } from "./types.ts";

export interface Dimension {
  readonly name: string;
  readonly low: number;
  readonly high: number;
  readonly log: boolean;
  readonly integer: boolean;
  /** Where the search starts: the cheap end for cost dimensions (FLAML's low-cost initial point). */
  readonly init: number | string;
  /** Whether raising it makes a fit slower; the cost model reads these. */
  readonly cost?: boolean;
  /** A categorical dimension: [0, 1] is cut into one equal interval per choice. */
  readonly choices?: readonly string[];
}

export interface LearnerSpace {
  readonly learner: LearnerName;
  readonly dimensions: readonly Dimension[];
  /** Fixed parameters every trial of this learner uses. */
  readonly fixed: LearnerParams;
  /** Configurations tried right after the low-cost start, e.g. the library defaults. */
  readonly seeds: readonly LearnerParams[];
}

export const LEARNERS: readonly LearnerName[] = ["gbdt", "gbdt-leafwise", "rf", "extra-trees", "linear"];

const boosting: readonly Dimension[] = [
  { name: "nRounds", low: 4, high: 2000, log: true, integer: true, init: 4, cost: true },
  { name: "learningRate", low: 0.01, high: 1, log: true, integer: false, init: 0.1 },
  { name: "minChildWeight", low: 0.01, high: 64, log: true, integer: false, init: 1 },
  { name: "subsample", low: 0.5, high: 1, log: false, integer: false, init: 1 },
  { name: "colsampleByTree", low: 0.3, high: 1, log: false, integer: false, init: 1 },
  { name: "lambda", low: 1 / 1024, high: 1024, log: true, integer: false, init: 1 },
  { name: "alpha", low: 1 / 1024, high: 64, log: true, integer: false, init: 1 / 1024 },
];

const GBDT: LearnerSpace = {
  learner: "gbdt",
  dimensions: [
    ...boosting,
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
};

const GBDT_LEAFWISE: LearnerSpace = {
  learner: "gbdt-leafwise",
  dimensions: [
    ...boosting,
    { name: "numLeaves", low: 4, high: 512, log: true, integer: true, init: 4, cost: true },
  ],
  fixed: { maxDepth: 0 },
  seeds: [],
};

/** Forests start small and shallow (FLAML starts at 4 trees, 4 leaves) and grow as they earn it. */
function forestSpace(learner: "rf" | "extra-trees", task: Task, nFeatures: number): LearnerSpace {
  // scikit-learn's default share of features per split: sqrt for classification, all for regression.
  const share = task === "regression" ? 1 : Math.sqrt(Math.max(1, nFeatures)) / Math.max(1, nFeatures);
  return {
    learner,
    dimensions: [
      { name: "nTrees", low: 4, high: 512, log: true, integer: true, init: 4, cost: true },
      { name: "maxDepth", low: 2, high: 32, log: true, integer: true, init: 6, cost: true },
      {
        name: "maxFeatures",
        low: 0.05,
        high: 1,
        log: true,
        integer: false,
        init: Number(Math.max(0.05, share).toPrecision(6)),
        cost: true,
      },
      { name: "minSamplesLeaf", low: 1, high: 64, log: true, integer: true, init: 1 },
    ],
    fixed: {},
    seeds: [],
  };
}

/**
 * Penalised linear models: C (classification, as scikit-learn's LogisticRegression) or alpha (regression, as
 * ElasticNet), the penalty kind and its L1 share. Multiclass fits support the L2 penalty only.
 */
function linearSpace(task: Task): LearnerSpace {
  const strength: Dimension =
    task === "regression"
      ? { name: "alpha", low: 1e-6, high: 10, log: true, integer: false, init: 1e-4 }
      : { name: "C", low: 1e-3, high: 1e3, log: true, integer: false, init: 1 };
  const penalty: readonly Dimension[] =
    task === "multiclass"
      ? []
      : [
          {
            name: "penalty",
            low: 0,
            high: 1,
            log: false,
            integer: false,
            init: "l2",
            choices: ["l2", "l1", "elasticnet"],
          },
          { name: "l1Ratio", low: 0.05, high: 0.95, log: false, integer: false, init: 0.5 },
        ];
  return {
    learner: "linear",
    dimensions: [strength, ...penalty],
    // Enough iterations for standardised data; an unconverged fit is still a usable, scored model.
    fixed: { maxIterations: 300, ...(task === "multiclass" && { penalty: "l2" }) },
    seeds: [],
  };
}

/**
 * The search space of a learner for a problem.
 *
 * @example
 * spaceFor("rf", "binary", 16).dimensions.map((d) => d.name); // ["nTrees", "maxDepth", "maxFeatures", "minSamplesLeaf"]
 */
export function spaceFor(learner: LearnerName, task: Task, nFeatures: number): LearnerSpace {
  switch (learner) {
    case "gbdt":
      return GBDT;
    case "gbdt-leafwise":
      return GBDT_LEAFWISE;
    case "rf":
    case "extra-trees":
      return forestSpace(learner, task, nFeatures);
    case "linear":
      return linearSpace(task);
  }
}

export function toUnit(dim: Dimension, value: number | string): number {
  if (dim.choices) {
    const i = Math.max(0, dim.choices.indexOf(String(value)));
    return (i + 0.5) / dim.choices.length;
  }
  const v = Math.min(dim.high, Math.max(dim.low, Number(value)));
  const u = dim.log
    ? Math.log(v / dim.low) / Math.log(dim.high / dim.low)
    : (v - dim.low) / (dim.high - dim.low);
  return Math.min(1, Math.max(0, u));
}

export function fromUnit(dim: Dimension, u: number): number | string {
  const c = Math.min(1, Math.max(0, u));
  if (dim.choices)
    return dim.choices[Math.min(dim.choices.length - 1, Math.floor(c * dim.choices.length))] as string;
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
  const params: Record<string, number | string> = { ...space.fixed };
  space.dimensions.forEach((d, i) => (params[d.name] = fromUnit(d, point[i] ?? 0)));
  // The L1 share only means something for the elastic net: dropping it elsewhere lets duplicates be skipped.
  if (space.learner === "linear" && params.penalty !== "elasticnet") delete params.l1Ratio;
  return params;
}

/** A stable text key of a configuration, to skip evaluating the same one twice. */
export function configKey(learner: LearnerName, params: LearnerParams): string {
  const entries = Object.entries(params).sort(([a], [b]) => (a < b ? -1 : 1));
  return `${learner}:${JSON.stringify(entries)}`;
}

/** Binning and setup cost about as much as this many boosting rounds. */
const BINNING_ROUNDS = 20;
/** Nominal passes over the data of a linear fit (L-BFGS iterations or coordinate-descent epochs). */
const LINEAR_PASSES = 40;

/**
 * Relative cost of one fit, in units comparable across learners (about one histogram update of one row
 * and one feature), so the budget and learner choice can be planned before the fit runs and do not
 * depend on timing (which keeps seeded searches reproducible).
 */
export function costUnits(
  learner: LearnerName,
  params: LearnerParams,
  rows: number,
  features: number,
): number {
  const num = (name: string, fallback: number): number => {
    const v = params[name];
    return typeof v === "number" ? v : fallback;
  };
  const binning = rows * features * BINNING_ROUNDS;
  if (learner === "linear") {
    // One-hot encoding and missing indicators widen the matrix about twofold.
    return rows * Math.max(1, 2 * features) * LINEAR_PASSES;
  }
  if (learner === "rf" || learner === "extra-trees") {
    const depthCap = num("maxDepth", 0) > 0 ? num("maxDepth", 0) : 64;
    const depth = Math.min(depthCap, Math.log2(Math.max(2, rows / Math.max(1, num("minSamplesLeaf", 1)))));
    const drawn = Math.max(1, features * num("maxFeatures", 1));
    return rows * drawn * num("nTrees", 100) * depth + binning;
  }
  const numLeaves = num("numLeaves", 0);
  const byShape = numLeaves > 0 ? numLeaves : 2 ** Math.min(num("maxDepth", 6), 12);
  const leaves = Math.max(2, Math.min(byShape, rows / 2));
  const columns = Math.max(1, features * num("colsampleByTree", 1));
  return rows * columns * num("nRounds", 100) * (1 + Math.log2(leaves)) + binning;
}
