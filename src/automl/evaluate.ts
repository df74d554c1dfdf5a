// Runs one trial: fits a learner on every validation split (on a sample of the train part) and scores its out-of-fold predictions.
import { createFrame, selectColumns, takeRows, type Frame } from "../learn/frame.ts";
import { gbdt, GbdtModel } from "../learn/gbdt/index.ts";
import { learner } from "../learn/learner/index.ts";
import type { Split } from "../learn/split.ts";
import { scoreMetric, toLoss } from "./metric.ts";
import { memberOutput, type MemberModel, type MemberModelJson } from "./member.ts";
import { sampleTrain } from "./setup.ts";
import { costUnits as unitCost } from "./space.ts";
import type { LearnerName, LearnerParams, Problem } from "./types.ts";

export interface EvalContext {
  readonly problem: Problem;
  /** Features and the encoded target, one row per `problem.rows` entry. */
  readonly base: Frame;
  readonly splits: readonly Split[];
  readonly nClasses: number;
  /** Positions scored by some split, in order; out-of-fold predictions are stored in this order. */
  readonly validPositions: Uint32Array;
  readonly yValid: Float64Array;
  readonly seed: number;
  readonly trainFrames: Map<string, Frame>;
  readonly testFrames: Frame[];
  /** Where each split's test rows land in the out-of-fold array. */
  readonly slots: Uint32Array[];
  /** Threads per fit; 1 when trials run side by side, the learners' default otherwise. */
  readonly threads?: number;
}

export interface TrialOutcome {
  readonly status: "ok" | "pruned";
  readonly loss: number;
  readonly score: number;
  readonly spread: number | null;
  readonly foldLosses: readonly number[];
  /** Out-of-fold predictions over `validPositions`: P(class 1), n x k probabilities, or values. */
  readonly oof: Float64Array;
  readonly fitSeconds: number;
  readonly predictMicrosPerRow: number;
  readonly costUnits: number;
  /** Set when a fit reached the deadline before its last round or tree: the trial was abandoned. */
  readonly outOfTime?: boolean;
  /** The best split's model (lowest split loss), when the job asked for it: a fallback for the final refit. */
  readonly foldModel?: MemberModelJson;
}

export interface TrialHooks {
  /** Called after each split; returning true abandons the trial (pruned, out of time, or stopped). */
  readonly afterFold?: (
    done: number,
    foldLosses: readonly number[],
    foldSeconds: number,
  ) => Promise<boolean> | boolean;
  readonly now: () => number;
  /** Epoch milliseconds after which fits stop adding trees; a fit cut short abandons the trial. */
  readonly deadline?: number;
  /** Return the best split's model with the outcome. */
  readonly keepModel?: boolean;
}

export function createEvalContext(
  frame: Frame,
  problem: Problem,
  splits: readonly Split[],
  seed: number,
): EvalContext {
  const features = selectColumns(frame, problem.features);
  const rowsFrame = takeRows(features, problem.rows);
  const base = createFrame([
    ...rowsFrame.columns,
    { kind: "numeric", name: problem.target, values: problem.y },
  ]);
  return contextOnBase(problem, base, splits, seed);
}

/** The context over an already built base frame, e.g. in a worker thread that received it. */
export function contextOnBase(
  problem: Problem,
  base: Frame,
  splits: readonly Split[],
  seed: number,
  threads?: number,
): EvalContext {
  const n = problem.rows.length;
  const slotOf = new Int32Array(n).fill(-1);
  for (const s of splits) for (const p of s.test) slotOf[p] = 0;
  const valid: number[] = [];
  for (let p = 0; p < n; p++) if (slotOf[p] === 0) slotOf[p] = valid.push(p) - 1;
  const validPositions = Uint32Array.from(valid);
  return {
    problem,
    base,
    splits,
    nClasses: problem.task === "regression" ? 1 : problem.classes.length,
    validPositions,
    yValid: Float64Array.from(validPositions, (p) => problem.y[p] as number),
    seed,
    trainFrames: new Map(),
    testFrames: splits.map((s) => takeRows(base, s.test)),
    slots: splits.map((s) => Uint32Array.from(s.test, (p) => slotOf[p] as number)),
    ...(threads !== undefined && { threads }),
  };
}

/**
 * Fits one configuration of a learner on a frame; the objective follows the task. Boosting is fitted
 * directly (its categorical splits and TreeSHAP need no preprocessing); the other learners go through
 * the common learner interface, which carries their preprocessing inside the model. With a deadline
 * (epoch milliseconds) boosting and forests stop adding trees once it passes: see `fitComplete`.
 */
export async function fitLearner(
  ctx: Pick<EvalContext, "problem" | "nClasses" | "seed" | "threads">,
  name: LearnerName,
  params: LearnerParams,
  train: Frame,
  deadline?: number,
): Promise<MemberModel> {
  const { problem } = ctx;
  const threads: Record<string, number> = ctx.threads !== undefined ? { nThreads: ctx.threads } : {};
  if (name === "gbdt" || name === "gbdt-leafwise") {
    const objective = problem.task;
    return gbdt({
      ...params,
      ...threads,
      objective,
      seed: ctx.seed,
      ...(objective === "multiclass" && { nClasses: ctx.nClasses }),
    }).fit(train, problem.target, {
      features: problem.features,
      ...(deadline !== undefined && { deadline }),
    });
  }
  return learner(name, {
    task: problem.task,
    params: { ...params, ...(name !== "linear" && threads) },
    features: problem.features,
    seed: ctx.seed,
    ...(deadline !== undefined && { deadline }),
  }).fit(train, problem.target);
}

/**
 * Whether a fit grew all the rounds or trees its parameters ask for (a deadline may have cut it short).
 * Linear fits count as complete: at a deadline they keep usable, merely less converged, coefficients.
 */
export function fitComplete(model: MemberModel, params: LearnerParams): boolean {
  const asked = (name: string, fallback: number): number =>
    typeof params[name] === "number" ? params[name] : fallback;
  if (model instanceof GbdtModel) return model.bestIteration + 1 >= asked("nRounds", 100);
  const inner = model.inner as { nTrees?: number };
  return inner.nTrees === undefined || inner.nTrees >= asked("nTrees", 100);
}

export async function evaluateTrial(
  ctx: EvalContext,
  name: LearnerName,
  params: LearnerParams,
  sampleSize: number,
  hooks: TrialHooks,
): Promise<TrialOutcome> {
  const { problem, nClasses } = ctx;
  const width = problem.task === "multiclass" ? nClasses : 1;
  const oof = new Float64Array(ctx.validPositions.length * width);
  const foldLosses: number[] = [];
  const foldScores: number[] = [];
  let fitSeconds = 0;
  let predictSeconds = 0;
  let predictedRows = 0;
  let costUnits = 0;
  let kept: { loss: number; model: MemberModel } | null = null;
  for (let f = 0; f < ctx.splits.length; f++) {
    const split = ctx.splits[f] as Split;
    const train = trainFrame(ctx, f, split, sampleSize);
    const t0 = hooks.now();
    const model = await fitLearner(ctx, name, params, train, hooks.deadline);
    const t1 = hooks.now();
    fitSeconds += (t1 - t0) / 1000;
    // A model cut short by the deadline is not the configuration asked for: the trial is abandoned.
    if (hooks.deadline !== undefined && !fitComplete(model, params)) return finish("pruned", true);
    const test = ctx.testFrames[f] as Frame;
    const pred = memberOutput(model, test, problem.task, nClasses);
    const t2 = hooks.now();
    predictSeconds += (t2 - t1) / 1000;
    predictedRows += test.nRows;
    costUnits += unitCost(name, params, train.nRows, problem.features.length);
    const slots = ctx.slots[f] as Uint32Array;
    for (let i = 0; i < slots.length; i++) {
      for (let c = 0; c < width; c++) oof[(slots[i] as number) * width + c] = pred[i * width + c] as number;
    }
    const yTest = Float64Array.from(split.test, (p) => problem.y[p] as number);
    const score = safeScore(problem, yTest, pred, nClasses);
    foldScores.push(score);
    const loss = toLoss(problem.metric, score);
    foldLosses.push(loss);
    if (hooks.keepModel && (kept === null || loss < kept.loss)) kept = { loss, model };
    if (
      f < ctx.splits.length - 1 &&
      hooks.afterFold &&
      (await hooks.afterFold(f + 1, foldLosses, (t2 - t0) / 1000))
    ) {
      return finish("pruned");
    }
  }
  return finish("ok");

  function finish(status: "ok" | "pruned", outOfTime = false): TrialOutcome {
    const defined = foldScores.filter((s) => !Number.isNaN(s));
    const mean = defined.reduce((a, b) => a + b, 0) / Math.max(1, defined.length);
    const spread =
      defined.length < 2
        ? null
        : Math.sqrt(defined.reduce((a, s) => a + (s - mean) ** 2, 0) / (defined.length - 1));
    // A finished trial is scored on all its out-of-fold predictions together, as the ensemble will be.
    const score = status === "ok" ? safeScore(problem, ctx.yValid, oof, nClasses) : mean;
    return {
      status,
      loss: toLoss(problem.metric, score),
      score,
      spread,
      foldLosses,
      oof,
      fitSeconds,
      predictMicrosPerRow: predictedRows > 0 ? (predictSeconds / predictedRows) * 1e6 : 0,
      costUnits,
      ...(outOfTime && { outOfTime }),
      ...(status === "ok" && kept !== null && { foldModel: kept.model.toJSON() }),
    };
  }
}

function trainFrame(ctx: EvalContext, f: number, split: Split, size: number): Frame {
  const key = `${f}:${Math.min(size, split.train.length)}`;
  let frame = ctx.trainFrames.get(key);
  if (!frame) {
    frame = takeRows(ctx.base, sampleTrain(split.train, size, ctx.seed + f));
    ctx.trainFrames.set(key, frame);
  }
  return frame;
}

/** A metric that cannot be computed on a split (e.g. AUC on one class) is NaN, not a crash. */
function safeScore(problem: Problem, y: Float64Array, pred: Float64Array, nClasses: number): number {
  try {
    return scoreMetric(problem.metric, y, pred, nClasses);
  } catch {
    return NaN;
  }
}
