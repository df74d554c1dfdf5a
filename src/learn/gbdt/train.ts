// Training loop of loopml's gradient-boosted trees: input checks, binning, boosting rounds, early stopping.
import { LoopmlError } from "../../errors.ts";
import { getColumn, type Frame } from "../frame.ts";
import { createRng, type Rng } from "../random.ts";
import { binMatrix, categoryBounds, computeBounds, MISSING_BIN, type BinnedMatrix } from "./binning.ts";
import { ForestBuilder } from "./forest.ts";
import { growTree, type GrownTree, type TreeSettings } from "./grow-tree.ts";
import { createWorkspace } from "./histogram.ts";
import { featureColumns, GbdtModel } from "./model.ts";
import { createObjective } from "./objectives.ts";
import { leafUpdateKernel } from "./kernels.ts";
import { defaultThreads, getThreadPool, toShared, type Job, type ThreadPool } from "./thread-pool.ts";
import type { FeatureSpec, GbdtParams, Objective, ResolvedParams } from "./types.ts";

/** Training data smaller than this many cells is binned and grown on one thread: workers would not pay off. */
const PARALLEL_MIN_FIT_CELLS = 500_000;

export interface FitOptions {
  /** Validation frame for early stopping (same feature columns and label as the training frame). */
  readonly valid?: Frame;
  /** Feature columns to use; every column except the label by default. */
  readonly features?: readonly string[];
  /**
   * Epoch milliseconds after which no further boosting round starts: the model keeps the rounds done
   * (at least one). For wall-clock budgets such as AutoML's; the fit is unaffected when it is not set.
   */
  readonly deadline?: number;
}

export interface GbdtTrainer {
  readonly params: ResolvedParams;
  fit(frame: Frame, label: string, options?: FitOptions): GbdtModel;
}

/**
 * Histogram gradient boosting, like XGBoost's `hist` tree method. Deterministic for a given seed.
 *
 * @example
 * const model = gbdt({ objective: "binary", nRounds: 100, maxDepth: 6, learningRate: 0.1, seed: 1 })
 *   .fit(train, "label", { valid });
 * const p = model.predict(test);
 */
export function gbdt(params: GbdtParams): GbdtTrainer {
  const resolved = resolveParams(params);
  const threads = params.nThreads ?? defaultThreads();
  return {
    params: resolved,
    fit: (frame, label, options = {}) => fit(resolved, params.nClasses, threads, frame, label, options),
  };
}

function fit(
  params: ResolvedParams,
  nClassesParam: number | undefined,
  nThreads: number,
  frame: Frame,
  label: string,
  options: FitOptions,
): GbdtModel {
  const y = targetValues(frame, label, params.objective, nClassesParam);
  const nClasses = params.objective === "multiclass" ? (nClassesParam ?? maxPlusOne(y)) : 1;
  const specs = featureSpecs(frame, label, options.features);
  const columns = featureColumns(frame, specs, "fit");
  const n = frame.nRows;
  const rng = createRng(params.seed);
  // Categorical columns with at most 255 categories get one bin per category and native set splits;
  // larger dictionaries fall back to quantile bins over their codes.
  const isCategorical = Uint8Array.from(specs, (s) =>
    s.kind === "categorical" && (s.dictionary?.length ?? 0) <= MISSING_BIN ? 1 : 0,
  );
  const bounds = columns.map((values, f) =>
    isCategorical[f] === 1
      ? categoryBounds((specs[f] as FeatureSpec).dictionary?.length ?? 0)
      : computeBounds(values, params.maxBins, rng),
  );
  const pool = nThreads > 1 && n * columns.length >= PARALLEL_MIN_FIT_CELLS ? getThreadPool(nThreads) : null;
  const binned = binMatrix(columns, bounds, n, pool !== null, pool);
  const nBins = Uint16Array.from(bounds, (b) => b.length);

  const objective = createObjective(params.objective, nClasses, params.huberDelta);
  const K = objective.nOutputs;
  const baseScore = objective.baseScore(y);
  // With worker threads, raw scores and labels live in shared memory: gradients and score updates run on all threads.
  const raw = new Float64Array(pool ? new SharedArrayBuffer(8 * n * K) : new ArrayBuffer(8 * n * K));
  const sharedY = pool ? toShared(y) : y;
  for (let i = 0; i < raw.length; i++) raw[i] = baseScore[i % K] as number;

  let valid: {
    binned: BinnedMatrix;
    y: Float64Array;
    raw: Float64Array;
  } | null = null;
  if (options.valid) {
    const vy = targetValues(options.valid, label, params.objective, nClasses);
    const vcols = featureColumns(options.valid, specs, "fit (valid frame)");
    const vraw = new Float64Array(options.valid.nRows * K);
    for (let i = 0; i < vraw.length; i++) vraw[i] = baseScore[i % K] as number;
    valid = {
      binned: binMatrix(vcols, bounds, options.valid.nRows),
      y: vy,
      raw: vraw,
    };
  }

  const ws = createWorkspace(binned, nBins, isCategorical, pool);
  const settings: TreeSettings = { ...params };
  const forest = new ForestBuilder();
  const allFeatures = Int32Array.from(specs, (_, f) => f);
  const leaves: number[] = [];
  let bestLoss = Infinity;
  let bestRound = params.nRounds - 1;
  const deadline = options.deadline;
  for (let round = 0; round < params.nRounds; round++) {
    if (deadline !== undefined && round > 0 && Date.now() >= deadline) {
      bestRound = Math.min(bestRound, round - 1);
      break;
    }
    const nSampled = sampleRows(ws.rows, n, params.subsample, rng);
    const features = sampleFeatures(allFeatures, params.colsampleByTree, rng);
    for (let k = 0; k < K; k++) {
      const kind = K === 1 ? GRADIENT_KINDS[params.objective] : undefined;
      if (pool && kind !== undefined) {
        runOnRanges(pool, n, (from, to) => ({
          kind: "gradient",
          args: [kind, sharedY, raw, ws.grad, ws.hess, from, to],
        }));
      } else {
        objective.gradients(y, raw, k, ws.grad, ws.hess);
      }
      const sampled = nSampled < n;
      leaves.length = 0;
      const tree = growTree(ws, nSampled, features, settings, (start, end, value) => {
        leaves.push(start, end, value);
      });
      if (sampled) addTreeBinned(tree, binned, K, k, raw);
      else addLeaves(pool, ws.rows, raw, K, k, leaves);
      if (valid) addTreeBinned(tree, valid.binned, K, k, valid.raw);
      forest.add(tree, bounds);
    }
    if (valid) {
      const loss = objective.loss(valid.y, valid.raw);
      if (loss < bestLoss) {
        bestLoss = loss;
        bestRound = round;
      } else if (round - bestRound >= params.earlyStoppingRounds) {
        break;
      }
    }
  }
  return new GbdtModel({
    objective: params.objective,
    label,
    nOutputs: K,
    baseScore,
    bestIteration: bestRound,
    params,
    features: specs,
    forest: forest.build((bestRound + 1) * K),
    nThreads,
  });
}

/** Objectives whose gradients the worker threads compute (gradientKernel's kind). */
const GRADIENT_KINDS: Partial<Record<Objective, number>> = {
  regression: 0,
  binary: 1,
};

/** Splits [0, n) into one range per thread and runs the jobs. */
function runOnRanges(pool: ThreadPool, n: number, job: (from: number, to: number) => Job): void {
  const jobs: Job[] = [];
  for (let p = 0; p < pool.size; p++)
    jobs.push(job(Math.floor((p * n) / pool.size), Math.floor(((p + 1) * n) / pool.size)));
  pool.runAll(jobs);
}

/**
 * Adds the leaf values of a tree grown on all rows to their rows' raw scores; `leaves` holds (start, end,
 * value) triples of row ranges. Threads take runs of leaves with about the same number of rows.
 */
function addLeaves(
  pool: ThreadPool | null,
  rows: Uint32Array,
  raw: Float64Array,
  K: number,
  k: number,
  leaves: readonly number[],
): void {
  const count = leaves.length / 3;
  const share = (a: Int32Array | Float64Array): typeof a => (pool ? toShared(a) : a);
  const starts = share(Int32Array.from({ length: count }, (_, i) => leaves[3 * i] as number)) as Int32Array;
  const ends = share(Int32Array.from({ length: count }, (_, i) => leaves[3 * i + 1] as number)) as Int32Array;
  const values = share(
    Float64Array.from({ length: count }, (_, i) => leaves[3 * i + 2] as number),
  ) as Float64Array;
  if (!pool) {
    leafUpdateKernel(rows, raw, K, k, starts, ends, values, 0, count);
    return;
  }
  const total = leaves.reduce(
    (sum, _, i) => (i % 3 === 0 ? sum + (leaves[i + 1] as number) - (leaves[i] as number) : sum),
    0,
  );
  const jobs: Job[] = [];
  let from = 0;
  let rowsSoFar = 0;
  for (let p = 0; p < pool.size && from < count; p++) {
    let to = from;
    const target = ((p + 1) * total) / pool.size;
    while (to < count && (p === pool.size - 1 || rowsSoFar < target)) {
      rowsSoFar += (ends[to] as number) - (starts[to] as number);
      to++;
    }
    jobs.push({
      kind: "leafUpdate",
      args: [rows, raw, K, k, starts, ends, values, from, to],
    });
    from = to;
  }
  pool.runAll(jobs);
}

/** Adds one grown tree's output (by bins) to raw scores of output k. */
function addTreeBinned(tree: GrownTree, binned: BinnedMatrix, K: number, k: number, raw: Float64Array): void {
  const feature = Int32Array.from(tree.feature);
  const bin = Uint8Array.from(tree.bin);
  const left = Int32Array.from(tree.left);
  const right = Int32Array.from(tree.right);
  const defaultLeft = Uint8Array.from(tree.defaultLeft, (d) => (d ? 1 : 0));
  const sets = tree.categories;
  const value = Float64Array.from(tree.value);
  const { bins, nRows } = binned;
  for (let r = 0; r < nRows; r++) {
    let node = 0;
    let f = feature[0] as number;
    while (f >= 0) {
      const b = bins[f * nRows + r] as number;
      const set = sets[node];
      const goLeft =
        b === MISSING_BIN
          ? defaultLeft[node] === 1
          : set
            ? (((set[b >> 5] as number) >>> (b & 31)) & 1) === 1
            : b <= (bin[node] as number);
      node = goLeft ? (left[node] as number) : (right[node] as number);
      f = feature[node] as number;
    }
    const j = r * K + k;
    raw[j] = (raw[j] as number) + (value[node] as number);
  }
}

function sampleRows(rows: Uint32Array, n: number, fraction: number, rng: Rng): number {
  if (fraction >= 1) {
    for (let i = 0; i < n; i++) rows[i] = i;
    return n;
  }
  let m = 0;
  for (let i = 0; i < n; i++) if (rng.next() < fraction) rows[m++] = i;
  if (m < 2) {
    rows[0] = 0;
    rows[1] = n - 1;
    m = 2;
  }
  return m;
}

function sampleFeatures(all: Int32Array, fraction: number, rng: Rng): Int32Array {
  if (fraction >= 1) return all;
  const m = Math.max(1, Math.round(all.length * fraction));
  const order = Int32Array.from(all);
  for (let i = 0; i < m; i++) {
    const j = i + rng.int(order.length - i);
    const t = order[i] as number;
    order[i] = order[j] as number;
    order[j] = t;
  }
  return order.slice(0, m).sort();
}

/** The feature columns of a training frame (all but the label unless named), with their dictionaries. */
export function featureSpecs(
  frame: Frame,
  label: string,
  names: readonly string[] | undefined,
): FeatureSpec[] {
  const chosen = names
    ? names.map((name) => getColumn(frame, name))
    : frame.columns.filter((c) => c.name !== label);
  if (chosen.some((c) => c.name === label)) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `The label "${label}" cannot also be a feature; remove it from features.`,
    );
  }
  if (chosen.length === 0) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `The frame has no feature columns besides the label "${label}".`,
    );
  }
  return chosen.map((c) =>
    c.kind === "numeric"
      ? { name: c.name, kind: c.kind }
      : { name: c.name, kind: c.kind, dictionary: c.dictionary },
  );
}

function targetValues(
  frame: Frame,
  label: string,
  objective: Objective,
  nClasses: number | undefined,
): Float64Array {
  if (!frame.columns.some((c) => c.name === label)) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Label column "${label}" is not in the frame (columns: ${frame.columns.map((c) => c.name).join(", ")}); pass the name of the target column.`,
    );
  }
  const column = getColumn(frame, label);
  const y = column.kind === "numeric" ? column.values : Float64Array.from(column.codes);
  if (frame.nRows < 2) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Training needs at least 2 rows, the frame has ${frame.nRows}.`,
    );
  }
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < y.length; i++) {
    const v = y[i] as number;
    if (!Number.isFinite(v) || (column.kind === "categorical" && v < 0)) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Label "${label}" is missing or not finite at row ${i}; drop or fill those rows before training.`,
      );
    }
    if (v < min) min = v;
    if (v > max) max = v;
    if (objective === "binary" && v !== 0 && v !== 1) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Label "${label}" is ${v} at row ${i}; "binary" needs labels 0 and 1.`,
      );
    }
    if (
      objective === "multiclass" &&
      (!Number.isInteger(v) || v < 0 || (nClasses !== undefined && v >= nClasses))
    ) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Label "${label}" is ${v} at row ${i}; "multiclass" needs class indices 0..nClasses-1.`,
      );
    }
    if (objective === "poisson" && v < 0) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Label "${label}" is ${v} at row ${i}; "poisson" needs counts >= 0.`,
      );
    }
  }
  if (min === max) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Label "${label}" is constant (${min}); there is nothing to learn. Check the target column or the row filter.`,
    );
  }
  return y;
}

function maxPlusOne(y: Float64Array): number {
  let max = 0;
  for (const v of y) if (v > max) max = v;
  return max + 1;
}

function resolveParams(p: GbdtParams): ResolvedParams {
  const r: ResolvedParams = {
    objective: p.objective,
    nRounds: p.nRounds ?? 100,
    learningRate: p.learningRate ?? 0.3,
    maxDepth: p.maxDepth ?? (p.numLeaves ? 0 : 6),
    numLeaves: p.numLeaves ?? 0,
    minChildWeight: p.minChildWeight ?? 1,
    lambda: p.lambda ?? 1,
    alpha: p.alpha ?? 0,
    gamma: p.gamma ?? 0,
    subsample: p.subsample ?? 1,
    colsampleByTree: p.colsampleByTree ?? 1,
    maxBins: p.maxBins ?? 255,
    huberDelta: p.huberDelta ?? 1,
    earlyStoppingRounds: p.earlyStoppingRounds ?? 10,
    seed: p.seed ?? 0,
  };
  const objectives: readonly Objective[] = [
    "regression",
    "binary",
    "multiclass",
    "absolute",
    "huber",
    "poisson",
  ];
  const bad = (name: string, value: unknown, rule: string): LoopmlError =>
    new LoopmlError("INVALID_ARGUMENT", `gbdt: ${name} is ${String(value)}; ${rule}.`);
  if (!objectives.includes(r.objective))
    throw bad("objective", r.objective, `use one of ${objectives.join(", ")}`);
  if (!Number.isInteger(r.nRounds) || r.nRounds < 1) throw bad("nRounds", r.nRounds, "use an integer >= 1");
  if (!(r.learningRate > 0)) throw bad("learningRate", r.learningRate, "use a number > 0");
  if (!Number.isInteger(r.maxDepth) || r.maxDepth < 0)
    throw bad("maxDepth", r.maxDepth, "use an integer >= 0");
  if (!Number.isInteger(r.numLeaves) || r.numLeaves < 0 || r.numLeaves === 1) {
    throw bad("numLeaves", r.numLeaves, "use an integer >= 2");
  }
  if (r.maxDepth === 0 && r.numLeaves === 0) throw bad("maxDepth", 0, "set maxDepth >= 1 or numLeaves");
  for (const key of ["minChildWeight", "lambda", "alpha", "gamma"] as const) {
    if (!(r[key] >= 0)) throw bad(key, r[key], "use a number >= 0");
  }
  for (const key of ["subsample", "colsampleByTree"] as const) {
    if (!(r[key] > 0 && r[key] <= 1)) throw bad(key, r[key], "use a fraction in (0, 1]");
  }
  if (!Number.isInteger(r.maxBins) || r.maxBins < 2 || r.maxBins > 255)
    throw bad("maxBins", r.maxBins, "use 2..255");
  if (!(r.huberDelta > 0)) throw bad("huberDelta", r.huberDelta, "use a number > 0");
  if (!Number.isInteger(r.earlyStoppingRounds) || r.earlyStoppingRounds < 1) {
    throw bad("earlyStoppingRounds", r.earlyStoppingRounds, "use an integer >= 1");
  }
  if (p.nThreads !== undefined && (!Number.isInteger(p.nThreads) || p.nThreads < 1 || p.nThreads > 64)) {
    throw bad("nThreads", p.nThreads, "use an integer from 1 to 64");
  }
  if (p.nClasses !== undefined && (!Number.isInteger(p.nClasses) || p.nClasses < 2)) {
    throw bad("nClasses", p.nClasses, "use an integer >= 2");
  }
  return r;
}
