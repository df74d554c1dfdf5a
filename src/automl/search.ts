// The search loop: learner choice by estimated cost for improvement, CFO proposals, sample-size fidelity, pruning and the budget.
import { createRng, type Rng } from "../learn/random.ts";
import { createLocalSearcher, type LocalSearcher, type Proposal } from "./cfo.ts";
import { evaluateTrial, type EvalContext, type TrialOutcome } from "./evaluate.ts";
import { configKey, costUnits, paramsOf, SPACES } from "./space.ts";
import type { LearnerName, TrialRecord } from "./types.ts";

/** Consecutive non-improving trials after which the incumbent earns a sample four times larger. */
const PROMOTE_AFTER = 3;
const GROWTH = 4;
/** A trial is hopeless when its first splits trail the best by this much (relative) beyond two standard deviations. */
const PRUNE_RELATIVE = 0.05;
/** Proposals that only repeat evaluated configurations before the searcher is asked to move on. */
const MAX_REPEATS = 25;
/** Consecutive proposals too slow for the time left before the search ends. */
const MAX_VETOES = 10;
/** Trials observed before the cost model may veto a trial. */
const TRUST_AFTER = 3;

export interface SearchOptions {
  readonly learners: readonly LearnerName[];
  readonly seed: number;
  readonly initialSampleSize: number;
  readonly maxTrials: number | null;
  /** Wall-clock end of the search in `now()` milliseconds; Infinity when only maxTrials bounds it. */
  readonly deadline: number;
  /** Seconds to keep free after the search for the final refit, given the current best trial. */
  readonly reserveSeconds: (best: SearchTrial | null) => number;
  readonly now: () => number;
  readonly startedAt: number;
  readonly signal?: AbortSignal;
  readonly onTrial?: (trial: TrialRecord) => void | Promise<void>;
  readonly onTick?: (trials: number, best: SearchTrial | null) => void;
}

export interface SearchTrial {
  readonly record: TrialRecord;
  readonly outcome: TrialOutcome | null;
  readonly loss: number;
  /** Mean training rows per fit, to scale its fit time to a refit on all rows. */
  readonly trainRows: number;
}

export interface SearchResult {
  readonly trials: readonly SearchTrial[];
  readonly stoppedBy: "budget" | "maxTrials" | "signal" | "converged";
  /** Fit seconds per cost unit observed, for planning refits. */
  readonly secondsPerUnit: number;
}

interface LearnerState {
  readonly name: LearnerName;
  readonly searcher: LocalSearcher;
  level: number;
  forced: Proposal | null;
  trials: number;
  totalCost: number;
  costAtBest: number;
  costAtPrevBest: number;
  bestLoss: number;
  firstLoss: number;
  lastCost: number;
  /** Split losses of the searcher's incumbent: a trial is pruned only when hopeless against its own learner's best. */
  incumbentFolds: readonly number[] | null;
}

export async function runSearch(ctx: EvalContext, options: SearchOptions): Promise<SearchResult> {
  const rng = createRng(options.seed);
  const states: LearnerState[] = options.learners.map((name) => ({
    name,
    searcher: createLocalSearcher(
      SPACES[name],
      createRng(options.seed + 7919 * (options.learners.indexOf(name) + 1)),
    ),
    level: 0,
    forced: null,
    trials: 0,
    totalCost: 0,
    costAtBest: 0,
    costAtPrevBest: 0,
    bestLoss: Infinity,
    firstLoss: Infinity,
    lastCost: 0,
    incumbentFolds: null,
  }));
  const maxTrain = Math.max(...ctx.splits.map((s) => s.train.length));
  const levels: number[] = [];
  for (let s = options.initialSampleSize; s < maxTrain; s *= GROWTH) levels.push(s);
  levels.push(maxTrain);
  const top = levels.length - 1;
  const seen = new Map<string, number>();
  const trials: SearchTrial[] = [];
  let best: SearchTrial | null = null;
  let secondsPerUnit = 0;
  const nFeatures = ctx.problem.features.length;
  const folds = ctx.splits.length;
  let vetoes = 0;
  const yieldToEvents = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  for (;;) {
    await yieldToEvents();
    if (options.signal?.aborted) return done("signal");
    if (options.maxTrials !== null && trials.length >= options.maxTrials) return done("maxTrials");
    const state = pickLearner(states, rng);
    const next = nextProposal(state);
    if (next === null) return done("converged");
    const { proposal, level } = next;
    const sampleSize = Math.min(levels[level] as number, maxTrain);
    const anyOk = trials.some((t) => t.record.status === "ok");
    if (Number.isFinite(options.deadline) && anyOk) {
      // The first fits run before the JIT warms up; their speed would make every later trial look unaffordable.
      const predicted =
        trials.length < TRUST_AFTER
          ? 0
          : secondsPerUnit * costUnits(proposal.params, sampleSize, nFeatures) * folds;
      if (options.now() + (predicted + options.reserveSeconds(best)) * 1000 > options.deadline) {
        // Too slow for the time left: a failure for the searcher, which then steps back towards cheaper configurations.
        if (++vetoes >= MAX_VETOES) return done("budget");
        if (!next.promoted) state.searcher.report(null);
        continue;
      }
    }
    vetoes = 0;
    const startedAt = options.now();
    const reference = next.promoted ? null : state.incumbentFolds;
    const outcome = await evaluateTrial(ctx, proposal.params, sampleSize, {
      now: options.now,
      afterFold: async (finished, losses, foldSeconds) => {
        options.onTick?.(trials.length, best);
        await yieldToEvents();
        if (options.signal?.aborted) return true;
        // The next split will take about as long as this one: stop now rather than overrun the budget.
        const nextEnds = options.now() + (foldSeconds + options.reserveSeconds(best)) * 1000;
        if (Number.isFinite(options.deadline) && anyOk && nextEnds > options.deadline) return true;
        return reference !== null && hopeless(losses.slice(0, finished), reference);
      },
    });
    const pruned = outcome.status === "pruned";
    const failed = !pruned && !Number.isFinite(outcome.loss);
    const status = pruned ? "pruned" : failed ? "failed" : "ok";
    const record: TrialRecord = {
      id: trials.length + 1,
      learner: state.name,
      params: proposal.params,
      sampleSize: Math.min(sampleSize, maxTrain),
      fullFidelity: level === top,
      metric: ctx.problem.metric,
      score: outcome.score,
      spread: outcome.spread,
      status,
      ...(pruned && {
        message: options.signal?.aborted ? "stopped" : "stopped early: its first splits trail the best",
      }),
      ...(failed && { message: "the metric is undefined on these predictions" }),
      fitSeconds: outcome.fitSeconds,
      predictMicrosPerRow: outcome.predictMicrosPerRow,
      startedAtSeconds: (startedAt - options.startedAt) / 1000,
    };
    const trial: SearchTrial = {
      record,
      outcome: status === "ok" ? outcome : null,
      loss: status === "ok" ? outcome.loss : Infinity,
      trainRows: outcome.costUnits > 0 ? averageTrainRows(ctx, sampleSize) : 0,
    };
    trials.push(trial);
    seen.set(`${level}|${configKey(state.name, proposal.params)}`, trial.loss);
    if (outcome.costUnits > 0 && outcome.fitSeconds > 0) {
      const observed = outcome.fitSeconds / outcome.costUnits;
      // A running average: a trial that overruns is cut after its current split, so the estimate need not be pessimistic.
      secondsPerUnit = secondsPerUnit === 0 ? observed : 0.5 * secondsPerUnit + 0.5 * observed;
    }
    account(state, outcome.costUnits, trial.loss);
    if (status === "ok" && (best === null || better(trial, best))) best = trial;
    if (next.promoted) {
      state.level = level;
      state.searcher.rebase(proposal.point, trial.loss);
    } else {
      state.searcher.report(status === "ok" ? trial.loss : null);
    }
    if (state.searcher.incumbent === null) state.incumbentFolds = null;
    else if (status === "ok" && state.searcher.sinceImprovement === 0)
      state.incumbentFolds = outcome.foldLosses;
    if (state.level < top && state.searcher.incumbent && state.searcher.sinceImprovement >= PROMOTE_AFTER) {
      const point = state.searcher.incumbent.point;
      state.forced = { point, params: paramsOf(SPACES[state.name], point) };
    }
    await options.onTrial?.(record);
    options.onTick?.(trials.length, best);
  }

  function done(stoppedBy: SearchResult["stoppedBy"]): SearchResult {
    return { trials, stoppedBy, secondsPerUnit };
  }

  function nextProposal(
    state: LearnerState,
  ): { proposal: Proposal; level: number; promoted: boolean } | null {
    if (state.forced) {
      const proposal = state.forced;
      state.forced = null;
      return { proposal, level: state.level + 1, promoted: true };
    }
    for (let i = 0; i < MAX_REPEATS; i++) {
      const proposal = state.searcher.propose();
      const key = `${state.level}|${configKey(state.name, proposal.params)}`;
      const known = seen.get(key);
      if (known === undefined) return { proposal, level: state.level, promoted: false };
      // Rounding mapped the move onto a configuration already scored: tell the searcher, at no cost.
      state.searcher.report(Number.isFinite(known) ? known : null);
    }
    return null;
  }

  function hopeless(losses: readonly number[], reference: readonly number[]): boolean {
    const k = losses.length;
    const refMean = mean(reference.slice(0, k));
    const sd = std(reference);
    return mean(losses) > refMean + Math.max(2 * sd, PRUNE_RELATIVE * Math.abs(refMean));
  }
}

function pickLearner(states: readonly LearnerState[], rng: Rng): LearnerState {
  // Every learner first gets its low-cost start and its seed configurations, in order.
  const warming = states.find((s) => s.trials < 1 + s.searcher.space.seeds.length);
  if (warming) return warming;
  const globalBest = Math.min(...states.map((s) => s.bestLoss));
  const eci = states.map((s) => {
    const sinceBest = s.totalCost - s.costAtBest;
    let e = Math.max(sinceBest, s.costAtBest - s.costAtPrevBest, s.lastCost);
    if (s.bestLoss > globalBest) {
      const speed = (s.firstLoss - s.bestLoss) / Math.max(s.totalCost, 1e-12);
      e = Math.max(
        e,
        speed > 0 && Number.isFinite(speed) ? (s.bestLoss - globalBest) / speed : 2 * s.totalCost,
      );
    }
    return Math.max(e, 1e-12);
  });
  // FLAML samples learners in proportion to 1 / ECI, so a slow learner still gets an occasional turn.
  const weights = eci.map((e) => 1 / e);
  const total = weights.reduce((a, b) => a + b, 0);
  let r = rng.next() * total;
  for (let i = 0; i < states.length; i++) {
    r -= weights[i] as number;
    if (r <= 0) return states[i] as LearnerState;
  }
  return states[states.length - 1] as LearnerState;
}

function account(state: LearnerState, cost: number, loss: number): void {
  state.trials++;
  state.totalCost += cost;
  state.lastCost = cost;
  if (state.firstLoss === Infinity && Number.isFinite(loss)) state.firstLoss = loss;
  if (loss < state.bestLoss) {
    state.bestLoss = loss;
    state.costAtPrevBest = state.costAtBest;
    state.costAtBest = state.totalCost;
  }
}

/** Larger samples win over smaller ones; at equal size the lower loss wins. */
function better(a: SearchTrial, b: SearchTrial): boolean {
  if (a.record.sampleSize !== b.record.sampleSize) return a.record.sampleSize > b.record.sampleSize;
  return a.loss < b.loss;
}

function averageTrainRows(ctx: EvalContext, sampleSize: number): number {
  return mean(ctx.splits.map((s) => Math.min(sampleSize, s.train.length)));
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

function std(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}
