// Random forests and extra trees for classification and regression, on quantile-binned data, grown in parallel.
import { availableParallelism } from "node:os";
import { LoopmlError } from "../../errors.ts";
import { getColumn, type Frame } from "../frame.ts";
import { categoryBounds, computeBounds, binMatrix, MISSING_BIN } from "../gbdt/binning.ts";
import { featureColumns } from "../gbdt/model.ts";
import type { FeatureSpec } from "../gbdt/types.ts";
import { createRng } from "../random.ts";
import { ForestModel, type ForestNodes, type ForestTask } from "./model.ts";
import { growInParallel } from "./pool.ts";
import { featureSpecs } from "../gbdt/train.ts";

/** Below this many (row x tree) units the trees are grown on the calling thread: starting workers costs more. */
const PARALLEL_MIN_WORK = 200_000;

export interface ForestParams {
  readonly task: ForestTask;
  /** 100 by default. */
  readonly nTrees?: number;
  /**
   * Features drawn at each split: a fraction of them, "sqrt", "log2" or "all"; "sqrt" for classification
   * and "all" for regression by default (as scikit-learn).
   */
  readonly maxFeatures?: number | "sqrt" | "log2" | "all";
  /** 0 (default) grows until leaves are pure or too small. */
  readonly maxDepth?: number;
  readonly minSamplesLeaf?: number;
  readonly minSamplesSplit?: number;
  /** Draw rows with replacement for each tree; true for random forests, false for extra trees by default. */
  readonly bootstrap?: boolean;
  /** Fraction of rows drawn per tree; 1 by default. */
  readonly maxSamples?: number;
  /** Value bins per feature (2..255); 255 by default. */
  readonly maxBins?: number;
  readonly seed?: number;
  /** Worker threads; the machine's cores (at most 8) by default. The forest does not depend on it. */
  readonly nThreads?: number;
  /** Classes for "multiclass"; inferred from the labels by default. */
  readonly nClasses?: number;
}

export interface ForestFitOptions {
  readonly features?: readonly string[];
  /**
   * Epoch milliseconds after which no further tree starts: the forest keeps the trees grown so far
   * (at least one per thread). For wall-clock budgets such as AutoML's.
   */
  readonly deadline?: number;
}

export interface ForestTrainer {
  fit(frame: Frame, label: string, options?: ForestFitOptions): Promise<ForestModel>;
}

/**
 * @example
 * const model = await randomForest({ task: "binary", nTrees: 200, seed: 1 }).fit(train, "label");
 */
export function randomForest(params: ForestParams): ForestTrainer {
  return trainer("random-forest", params);
}

/** Extremely randomised trees: one random cut per drawn feature, no bootstrap by default. */
export function extraTrees(params: ForestParams): ForestTrainer {
  return trainer("extra-trees", params);
}

function trainer(kind: "random-forest" | "extra-trees", params: ForestParams): ForestTrainer {
  const nTrees = params.nTrees ?? 100;
  const bad = (what: string): LoopmlError => new LoopmlError("INVALID_ARGUMENT", `${kind}: ${what}.`);
  if (!["regression", "binary", "multiclass"].includes(params.task))
    throw bad(`task "${params.task}" is unknown`);
  if (!Number.isInteger(nTrees) || nTrees < 1) throw bad(`nTrees is ${nTrees}; use an integer >= 1`);
  const maxBins = params.maxBins ?? 255;
  if (!Number.isInteger(maxBins) || maxBins < 2 || maxBins > 255)
    throw bad(`maxBins is ${maxBins}; use 2..255`);
  const minSamplesLeaf = params.minSamplesLeaf ?? 1;
  const minSamplesSplit = params.minSamplesSplit ?? 2;
  if (!Number.isInteger(minSamplesLeaf) || minSamplesLeaf < 1)
    throw bad("minSamplesLeaf must be an integer >= 1");
  if (!Number.isInteger(minSamplesSplit) || minSamplesSplit < 2)
    throw bad("minSamplesSplit must be an integer >= 2");
  const maxDepth = params.maxDepth ?? 0;
  if (!Number.isInteger(maxDepth) || maxDepth < 0) throw bad("maxDepth must be an integer >= 0");
  const maxSamples = params.maxSamples ?? 1;
  if (!(maxSamples > 0 && maxSamples <= 1))
    throw bad(`maxSamples is ${maxSamples}; use a fraction in (0, 1]`);
  const threads = params.nThreads ?? Math.max(1, Math.min(8, availableParallelism()));
  return {
    async fit(frame, label, options = {}) {
      const specs = featureSpecs(frame, label, options.features);
      const { y, nClasses } = labels(frame, label, params.task, params.nClasses);
      const columns = featureColumns(frame, specs, "fit");
      columns.forEach((values, f) => {
        if (values.every((v) => v !== v)) {
          throw new LoopmlError(
            "INVALID_ARGUMENT",
            `Feature "${(specs[f] as FeatureSpec).name}" has no values in the training data (all missing); drop it.`,
          );
        }
      });
      const n = frame.nRows;
      const rng = createRng(params.seed ?? 0);
      const bounds = columns.map((values, f) => {
        const spec = specs[f] as FeatureSpec;
        const size = spec.dictionary?.length ?? 0;
        return spec.kind === "categorical" && size <= MISSING_BIN
          ? categoryBounds(size)
          : computeBounds(values, maxBins, rng);
      });
      const parallel = threads > 1 && n * nTrees >= PARALLEL_MIN_WORK;
      const binned = binMatrix(columns, bounds, n, parallel);
      const shared = (a: Float64Array): Float64Array => {
        if (!parallel) return a;
        const out = new Float64Array(new SharedArrayBuffer(a.byteLength));
        out.set(a);
        return out;
      };
      const p = specs.length;
      const mf = params.maxFeatures ?? (params.task === "regression" ? "all" : "sqrt");
      const maxFeatures =
        mf === "all" ? p : mf === "sqrt" ? Math.sqrt(p) : mf === "log2" ? Math.log2(p) : mf * p;
      if (!(maxFeatures > 0)) throw bad(`maxFeatures ${String(mf)} selects no feature`);
      const trees = await growInParallel(
        {
          bins: binned.bins,
          nRows: n,
          nFeatures: p,
          nBins: Uint16Array.from(bounds, (b) => b.length),
          y: shared(y),
          nClasses: params.task === "regression" ? 0 : nClasses,
          seed: params.seed ?? 0,
          maxFeatures: Math.max(1, Math.floor(maxFeatures)),
          maxDepth,
          minSamplesLeaf,
          minSamplesSplit,
          bootstrap: params.bootstrap ?? kind === "random-forest",
          nSamples: Math.max(1, Math.round(n * maxSamples)),
          extraTrees: kind === "extra-trees",
          ...(options.deadline !== undefined && { deadline: options.deadline }),
        },
        nTrees,
        parallel ? Math.min(threads, nTrees) : 1,
      );
      // Concatenate the trees, turning bin cuts into raw-value thresholds with the training bounds.
      const total = trees.reduce((s, t) => s + t.feature.length, 0);
      const K = params.task === "multiclass" ? nClasses : 1;
      const nodes: ForestNodes = {
        feature: new Int32Array(total),
        threshold: new Float64Array(total),
        defaultLeft: new Uint8Array(total),
        left: new Int32Array(total),
        value: new Float64Array(total * K),
        gain: new Float64Array(total),
        roots: new Int32Array(trees.length),
      };
      let offset = 0;
      trees.forEach((t, i) => {
        nodes.roots[i] = offset;
        nodes.feature.set(t.feature, offset);
        nodes.defaultLeft.set(t.defaultLeft, offset);
        nodes.value.set(t.value, offset * K);
        nodes.gain.set(t.gain, offset);
        for (let j = 0; j < t.feature.length; j++) {
          const f = t.feature[j] as number;
          nodes.left[offset + j] = f < 0 ? -1 : (t.left[j] as number) + offset;
          nodes.threshold[offset + j] =
            f < 0 ? 0 : ((bounds[f] as Float64Array)[t.bin[j] as number] as number);
        }
        offset += t.feature.length;
      });
      return new ForestModel(
        kind,
        params.task,
        label,
        params.task === "regression" ? 1 : nClasses,
        specs,
        nodes,
      );
    },
  };
}

function labels(
  frame: Frame,
  label: string,
  task: ForestTask,
  nClassesParam: number | undefined,
): { y: Float64Array; nClasses: number } {
  const column = getColumn(frame, label);
  const y = column.kind === "numeric" ? column.values : Float64Array.from(column.codes);
  if (frame.nRows < 2)
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Training needs at least 2 rows, the frame has ${frame.nRows}.`,
    );
  let max = 0;
  let first = y[0] as number;
  let constant = true;
  for (let i = 0; i < y.length; i++) {
    const v = y[i] as number;
    const ok =
      task === "regression"
        ? Number.isFinite(v)
        : Number.isInteger(v) &&
          v >= 0 &&
          (task !== "binary" || v <= 1) &&
          (nClassesParam === undefined || v < nClassesParam);
    if (!ok) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Label "${label}" is ${v} at row ${i}; ${task === "regression" ? "regression needs finite values" : task === "binary" ? '"binary" needs labels 0 and 1' : '"multiclass" needs class indices 0..nClasses-1'}.`,
      );
    }
    if (v > max) max = v;
    if (v !== first) constant = false;
    first = i === 0 ? v : first;
  }
  if (constant)
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Label "${label}" is constant (${first}); there is nothing to learn.`,
    );
  const nClasses = task === "binary" ? 2 : task === "multiclass" ? (nClassesParam ?? max + 1) : 1;
  return { y, nClasses };
}
