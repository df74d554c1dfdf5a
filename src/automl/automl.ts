// AutoML as one library call: set up the problem, search under the budget, ensemble, refit and rank.
import { availableParallelism } from "node:os";
import { LoopmlError } from "../errors.ts";
import type { Frame } from "../learn/frame.ts";
import { createEvalContext, fitComplete, fitLearner, type EvalContext } from "./evaluate.ts";
import { loadMember, type MemberModel, type MemberModelJson } from "./member.ts";
import { selectEnsemble, type EnsembleChoice } from "./ensemble.ts";
import { AutomlModel, type AutomlMember } from "./model.ts";
import { runSearch, type SearchTrial } from "./search.ts";
import { makeSplits, setupProblem } from "./setup.ts";
import { LEARNERS } from "./space.ts";
import { createThreadRunner } from "./thread-runner.ts";
import { createInProcessRunner, type TrialRunner } from "./trial.ts";
import type {
  LeaderboardEntry,
  LearnerName,
  Problem,
  ProblemOptions,
  ProgressState,
  SearcherName,
  TrialRecord,
} from "./types.ts";

/** Below this a budget cannot fit even the cheapest configuration and refit it. */
export const MIN_BUDGET_SECONDS = 1;
const DEFAULT_BUDGET_SECONDS = 60;
const DEFAULT_SAMPLE_SIZE = 10_000;
/** Best full-fidelity trials whose out-of-fold predictions the ensemble may use. */
const ENSEMBLE_POOL = 8;
/** Share of the budget kept back when planning, so the total stays under budget + 5%. */
const SAFETY = 0.05;
/** Refit time over the per-split fit time scaled to all rows; fits grow a little faster than rows and the machine may be busy. */
const REFIT_MARGIN = 1.5;

export interface AutomlOptions extends ProblemOptions {
  /** Wall-clock seconds for everything, the final refit included; 60 unless only maxTrials is given. */
  readonly budgetSeconds?: number;
  /** Stop after this many trials; with a seed and no budget, two runs give the same result. */
  readonly maxTrials?: number;
  readonly learners?: readonly LearnerName[];
  /** "cfo" (cost-frugal local search, default) or "tpe" (Tree-structured Parzen Estimator). */
  readonly searcher?: SearcherName;
  /**
   * Trials run side by side, on worker threads: the machine's cores (at most 8) by default. Trials are
   * proposed in batches of this size, so with a seed and maxTrials the result depends on it, never on timing.
   */
  readonly parallel?: number;
  /**
   * Runs the trials elsewhere, e.g. on queue workers (see createQueueRunner); its slots set the batch size.
   * Built from `parallel` by default.
   */
  readonly runner?: (ctx: EvalContext) => Promise<TrialRunner>;
  /** Try a greedy ensemble of the best trials (kept only when it beats the best single model); true by default. */
  readonly ensemble?: boolean;
  /** Training rows of the first trials; grows x4 as configurations earn it. 10,000 by default. */
  readonly initialSampleSize?: number;
  /** Called after every trial, e.g. to record it as a tracked run. */
  readonly onTrial?: (trial: TrialRecord) => void | Promise<void>;
  readonly onProgress?: (state: ProgressState) => void;
  /** Aborting stops the search cleanly; the best model so far is still refit and returned. */
  readonly signal?: AbortSignal;
  /** Milliseconds clock; Date.now by default. */
  readonly now?: () => number;
}

export interface AutomlResult {
  readonly problem: Omit<Problem, "y" | "rows">;
  readonly leaderboard: readonly LeaderboardEntry[];
  readonly trials: readonly TrialRecord[];
  readonly best: LeaderboardEntry;
  readonly model: AutomlModel;
  readonly featureImportance: readonly { feature: string; importance: number }[];
  /** Why the ensemble was or was not kept. */
  readonly ensembleNote: string;
  /** How the served model was obtained: refit on all rows, or the winner's split model when a refit would overrun the budget. */
  readonly refitNote: string;
  readonly stoppedBy: "budget" | "maxTrials" | "signal" | "converged";
  readonly elapsedSeconds: number;
}

/**
 * Searches learners and hyperparameters for the best model of `target`, then refits it on all rows.
 *
 * @example
 * const result = await automl(frame, { target: "diagnosis", budgetSeconds: 30, seed: 1 });
 * console.log(formatLeaderboard(result));
 * result.model.predictLabels(newRows);
 */
export async function automl(frame: Frame, options: AutomlOptions): Promise<AutomlResult> {
  const now = options.now ?? Date.now;
  const startedAt = now();
  const seed = options.seed ?? 0;
  const budget = options.budgetSeconds ?? (options.maxTrials === undefined ? DEFAULT_BUDGET_SECONDS : null);
  checkLimits(budget, options.maxTrials);
  const learners = options.learners ?? LEARNERS;
  if (learners.length === 0 || learners.some((l) => !LEARNERS.includes(l))) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Unknown learner list ${JSON.stringify(learners)}; use some of ${LEARNERS.join(", ")}.`,
    );
  }
  const searcher = options.searcher ?? "cfo";
  if (searcher !== "cfo" && searcher !== "tpe") {
    throw new LoopmlError("INVALID_ARGUMENT", `Unknown searcher "${String(searcher)}"; use cfo or tpe.`);
  }
  const parallel = options.parallel ?? Math.max(1, Math.min(8, availableParallelism()));
  if (!(Number.isInteger(parallel) && parallel >= 1 && parallel <= 64)) {
    throw new LoopmlError("INVALID_ARGUMENT", `parallel is ${parallel}; pass an integer from 1 to 64.`);
  }
  const problem = setupProblem(frame, options);
  const ctx = createEvalContext(frame, problem, makeSplits(problem, seed), seed);
  const deadline = budget === null ? Infinity : startedAt + budget * (1 - SAFETY) * 1000;
  const elapsed = (): number => (now() - startedAt) / 1000;
  const progress = (phase: ProgressState["phase"], trials: number, best: SearchTrial | null): void =>
    options.onProgress?.({
      elapsedSeconds: elapsed(),
      remainingSeconds: budget === null ? null : Math.max(0, budget - elapsed()),
      trials,
      maxTrials: options.maxTrials ?? null,
      bestScore: best?.record.score ?? null,
      bestLearner: best?.record.learner ?? null,
      metric: problem.metric,
      phase,
    });
  let lastTick: [number, SearchTrial | null] = [0, null];
  const n = problem.rows.length;
  const refitSeconds = (t: SearchTrial): number =>
    t.trainRows > 0 ? (t.record.fitSeconds / ctx.splits.length) * (n / t.trainRows) : 0;

  const runner = options.runner
    ? await options.runner(ctx)
    : parallel > 1
      ? createThreadRunner(ctx, parallel, options.signal)
      : createInProcessRunner(ctx, options.signal, () => progress("search", ...lastTick));
  const search = await runSearch(ctx, {
    learners,
    searcher,
    runner,
    seed,
    initialSampleSize: options.initialSampleSize ?? DEFAULT_SAMPLE_SIZE,
    maxTrials: options.maxTrials ?? null,
    deadline,
    reserveSeconds: (best) => {
      const refit = best ? REFIT_MARGIN * refitSeconds(best) : 0;
      // A refit that cannot end within the budget anyway is not waited for: the search runs on and the
      // winner's best split model serves (see refitFinal).
      return now() + refit * 1000 <= deadline ? refit : 0;
    },
    now,
    startedAt,
    ...(options.signal && { signal: options.signal }),
    ...(options.onTrial && { onTrial: options.onTrial }),
    onTick: (trials, best) => {
      lastTick = [trials, best];
      progress("search", trials, best);
    },
  }).finally(() => runner.close());
  const ok = search.trials.filter((t) => t.record.status === "ok");
  if (ok.length === 0) {
    const first = search.trials[0];
    const needed = first ? Math.ceil(elapsed() * 2 + 1) : MIN_BUDGET_SECONDS;
    throw new LoopmlError(
      "FAILED_PRECONDITION",
      `The budget of ${budget ?? "∞"} s was too small to train even one model on ${n} rows; give at least ${needed} s.`,
      { minimumSeconds: needed },
    );
  }
  const ranked = rank(ok);
  const winner = ranked[0] as SearchTrial;

  progress("ensemble", search.trials.length, winner);
  const { choice, note } = chooseEnsemble(ctx, ranked, options.ensemble ?? true, (members) => {
    if (!Number.isFinite(deadline)) return true;
    const cost = members.reduce((a, m) => a + REFIT_MARGIN * refitSeconds(m), 0);
    return now() + cost * 1000 <= startedAt + (budget as number) * 1000;
  });

  progress("refit", search.trials.length, winner);
  const byId = new Map(ok.map((t) => [t.record.id, t] as const));
  const end = budget === null ? Infinity : startedAt + budget * 1000;
  const final = await refitFinal(ctx, {
    winner,
    ensemble: choice
      ? choice.members.map((m) => ({ trial: byId.get(m.trial) as SearchTrial, weight: m.weight }))
      : null,
    // Fits stop adding trees at the budget's end (epoch time, as the learners read it).
    deadline: Number.isFinite(end) ? Date.now() + (end - now()) : undefined,
    affordable: (t) => !Number.isFinite(end) || now() + REFIT_MARGIN * refitSeconds(t) * 1000 <= end,
    fallback: search.fallback?.trial === winner.record.id ? search.fallback.model : null,
  });
  const members = final.members;
  const model = new AutomlModel({
    task: problem.task,
    target: problem.target,
    metric: problem.metric,
    classes: problem.classes,
    features: problem.features,
    dropped: problem.dropped,
    members,
  });
  const served = final.ensemble ? choice : null;
  const leaderboard = buildLeaderboard(ranked, served, byId);
  progress("done", search.trials.length, winner);
  const { y: _y, rows: _rows, ...summary } = problem;
  return {
    problem: summary,
    leaderboard,
    trials: search.trials.map((t) => t.record),
    best: leaderboard[0] as LeaderboardEntry,
    model,
    featureImportance: model.featureImportance(),
    ensembleNote: final.ensemble || !choice ? note : final.note,
    refitNote: final.note,
    stoppedBy: search.stoppedBy,
    elapsedSeconds: elapsed(),
  };
}

interface FinalPlan {
  readonly winner: SearchTrial;
  readonly ensemble: readonly { trial: SearchTrial; weight: number }[] | null;
  /** Epoch milliseconds at which refits stop adding trees; undefined without a time budget. */
  readonly deadline: number | undefined;
  /** Whether refitting a trial on all rows is expected to end within the budget. */
  readonly affordable: (trial: SearchTrial) => boolean;
  /** The winner's best split model from the search, when it kept one. */
  readonly fallback: MemberModelJson | null;
}

/**
 * Refits the ensemble (or the winner) on all rows without overrunning the budget: a refit expected not to
 * fit, or cut short by the deadline, gives way to the winner's validated split model (or, lacking one, the
 * cut-short refit, which keeps the trees it grew). An ensemble whose refit is cut becomes the winner alone.
 */
async function refitFinal(
  ctx: EvalContext,
  plan: FinalPlan,
): Promise<{ members: AutomlMember[]; ensemble: boolean; note: string }> {
  const fitted = new Map<number, MemberModel>();
  const refit = async (t: SearchTrial): Promise<{ model: MemberModel; complete: boolean }> => {
    const model = await fitLearner(ctx, t.record.learner, t.record.params, ctx.base, plan.deadline);
    const complete = plan.deadline === undefined || fitComplete(model, t.record.params);
    if (complete) fitted.set(t.record.id, model);
    return { model, complete };
  };
  const member = (t: SearchTrial, weight: number, model: MemberModel): AutomlMember => ({
    learner: t.record.learner,
    trial: t.record.id,
    weight,
    model,
  });
  if (plan.ensemble) {
    const members: AutomlMember[] = [];
    for (const { trial, weight } of plan.ensemble) {
      const { model, complete } = await refit(trial);
      if (!complete) break;
      members.push(member(trial, weight, model));
    }
    if (members.length === plan.ensemble.length)
      return { members, ensemble: true, note: `${members.length} ensemble members refit on all rows` };
  }
  const { winner, fallback } = plan;
  const cut = plan.ensemble ? "the ensemble's refit reached the budget's end; " : "";
  const single = (model: MemberModel, note: string) => ({
    members: [member(winner, 1, model)],
    ensemble: false,
    note: cut + note,
  });
  const ready = fitted.get(winner.record.id);
  if (ready) return single(ready, "refit on all rows");
  const timeLeft = plan.deadline === undefined || Date.now() < plan.deadline;
  if (fallback === null || (timeLeft && plan.affordable(winner))) {
    const { model, complete } = await refit(winner);
    if (complete) return single(model, "refit on all rows");
    if (fallback === null)
      return single(model, "the refit reached the budget's end: serving the trees it grew");
  }
  return single(
    loadMember(fallback),
    "a refit on all rows would overrun the budget: serving the winner's best split model",
  );
}

function checkLimits(budget: number | null, maxTrials: number | undefined): void {
  if (budget !== null && !(budget >= MIN_BUDGET_SECONDS)) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `A budget of ${budget} s cannot train and validate a model; give at least ${MIN_BUDGET_SECONDS} s.`,
      { minimumSeconds: MIN_BUDGET_SECONDS },
    );
  }
  if (maxTrials !== undefined && !(Number.isInteger(maxTrials) && maxTrials >= 1)) {
    throw new LoopmlError("INVALID_ARGUMENT", `maxTrials is ${maxTrials}; pass an integer of at least 1.`);
  }
}

/** Largest sample first (only full-data trials are comparable to the refit), then lowest loss, then earliest. */
function rank(trials: readonly SearchTrial[]): SearchTrial[] {
  return [...trials].sort(
    (a, b) => b.record.sampleSize - a.record.sampleSize || a.loss - b.loss || a.record.id - b.record.id,
  );
}

function chooseEnsemble(
  ctx: EvalContext,
  ranked: readonly SearchTrial[],
  enabled: boolean,
  affordable: (members: readonly SearchTrial[]) => boolean,
): { choice: EnsembleChoice | null; note: string } {
  if (!enabled) return { choice: null, note: "ensemble disabled" };
  const pool = ranked.filter((t) => t.record.fullFidelity && t.outcome).slice(0, ENSEMBLE_POOL);
  if (pool.length < 2) return { choice: null, note: "fewer than two full-data trials to ensemble" };
  const choice = selectEnsemble(
    pool.map((t) => ({ trial: t.record.id, oof: (t.outcome as { oof: Float64Array }).oof })),
    ctx.yValid,
    ctx.problem.metric,
    ctx.problem.task === "regression" ? 1 : ctx.problem.classes.length,
  );
  const best = pool[0] as SearchTrial;
  if (!choice || choice.members.length < 2 || !(choice.loss < best.loss)) {
    return { choice: null, note: "the ensemble did not beat the best single model on validation" };
  }
  const members = choice.members.map((m) => pool.find((t) => t.record.id === m.trial) as SearchTrial);
  if (!affordable(members))
    return { choice: null, note: `no time left to refit ${members.length} ensemble members` };
  return { choice, note: `ensemble of ${members.length} trials beats the best single model on validation` };
}

function buildLeaderboard(
  ranked: readonly SearchTrial[],
  choice: EnsembleChoice | null,
  byId: ReadonlyMap<number, SearchTrial>,
): LeaderboardEntry[] {
  const rows: Omit<LeaderboardEntry, "rank">[] = [];
  if (choice) {
    const members = choice.members.map((m) => byId.get(m.trial) as SearchTrial);
    rows.push({
      trial: 0,
      learner: "ensemble",
      params: { members: choice.members.map((m) => ({ trial: m.trial, weight: m.weight })) },
      score: choice.score,
      spread: null,
      fitSeconds: members.reduce((a, m) => a + m.record.fitSeconds, 0),
      predictMicrosPerRow: members.reduce((a, m) => a + m.record.predictMicrosPerRow, 0),
      sampleSize: (members[0] as SearchTrial).record.sampleSize,
    });
  }
  for (const t of ranked) {
    rows.push({
      trial: t.record.id,
      learner: t.record.learner,
      params: t.record.params,
      score: t.record.score,
      spread: t.record.spread,
      fitSeconds: t.record.fitSeconds,
      predictMicrosPerRow: t.record.predictMicrosPerRow,
      sampleSize: t.record.sampleSize,
    });
  }
  return rows.map((r, i) => ({ rank: i + 1, ...r }));
}
