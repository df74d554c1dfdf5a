// The search loop: learner choice by estimated cost for improvement, CFO or TPE proposals, sample-size
// fidelity, pruning and the budget. Trials are proposed in batches (one per runner slot) and their results
// are told back in proposal order, so a seeded search gives the same trials whatever the timing.
import { createRng, type Rng } from "../learn/random.ts";
import { createLocalSearcher } from "./cfo.ts";
import type { EvalContext, TrialOutcome } from "./evaluate.ts";
import type { MemberModelJson } from "./member.ts";
import type { Proposal, Searcher } from "./searcher.ts";
import { configKey, costUnits, paramsOf, spaceFor, type LearnerSpace } from "./space.ts";
import { createTpeSearcher } from "./tpe.ts";
import { mean, type TrialJob, type TrialRunner } from "./trial.ts";
import type { LearnerName, SearcherName, TrialRecord } from "./types.ts";

/** Consecutive non-improving trials after which the incumbent earns a sample four times larger. */
const PROMOTE_AFTER = 3;
const GROWTH = 4;
/** Proposals that only repeat evaluated configurations before the searcher is asked to move on. */
const MAX_REPEATS = 25;
/** Consecutive proposals too slow for the time left before the search ends. */
const MAX_VETOES = 10;
/** Trials observed before the cost model may veto a trial. */
const TRUST_AFTER = 3;
/** Batches whose wall time sets the floor of the next one's. */
const RECENT_BATCHES = 5;

export interface SearchOptions {
  readonly learners: readonly LearnerName[];
  readonly searcher: SearcherName;
  readonly seed: number;
  readonly initialSampleSize: number;
  readonly maxTrials: number | null;
  /** Wall-clock end of the search in `now()` milliseconds; Infinity when only maxTrials bounds it. */
  readonly deadline: number;
  /** Seconds to keep free after the search for the final refit, given the current best trial. */
  readonly reserveSeconds: (best: SearchTrial | null) => number;
  readonly now: () => number;
  readonly startedAt: number;
  /** Executes trials: in process, on worker threads or on queue workers. */
  readonly runner: TrialRunner;
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
  /**
   * The best trial's best split model (timed searches only): what the final phase serves when refitting
   * on all rows would overrun the budget. Only the current best's is kept, so memory stays flat.
   */
  readonly fallback: { readonly trial: number; readonly model: MemberModelJson } | null;
}

interface LearnerState {
  readonly name: LearnerName;
  readonly searcher: Searcher;
  level: number;
  forced: Proposal | null;
  trials: number;
  /** Proposals handed out in the current batch and not yet reported. */
  pending: number;
  totalCost: number;
  costAtBest: number;
  costAtPrevBest: number;
  bestLoss: number;
  firstLoss: number;
  lastCost: number;
  /** Fit seconds per cost unit observed for this learner (budget planning only, never the learner choice). */
  secondsPerUnit: number;
  /** Split losses of the searcher's incumbent: a trial is pruned only when hopeless against its own learner's best. */
  incumbentFolds: readonly number[] | null;
}

interface Planned {
  readonly state: LearnerState;
  readonly proposal: Proposal;
  readonly level: number;
  readonly promoted: boolean;
  readonly job: TrialJob;
  readonly key: string;
}

function createSearcher(name: SearcherName, space: LearnerSpace, rng: Rng): Searcher {
  return name === "tpe" ? createTpeSearcher(space, rng) : createLocalSearcher(space, rng);
}

export async function runSearch(ctx: EvalContext, options: SearchOptions): Promise<SearchResult> {
  const rng = createRng(options.seed);
  const nFeatures = ctx.problem.features.length;
  const states: LearnerState[] = options.learners.map((name, i) => ({
    name,
    searcher: createSearcher(
      options.searcher,
      spaceFor(name, ctx.problem.task, nFeatures),
      createRng(options.seed + 7919 * (i + 1)),
    ),
    level: 0,
    forced: null,
    trials: 0,
    pending: 0,
    totalCost: 0,
    costAtBest: 0,
    costAtPrevBest: 0,
    bestLoss: Infinity,
    firstLoss: Infinity,
    lastCost: 0,
    secondsPerUnit: 0,
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
  const folds = ctx.splits.length;
  let vetoes = 0;
  const yieldToEvents = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  const timed = Number.isFinite(options.deadline);
  const recentBatches: number[] = [];
  let fallback: SearchResult["fallback"] = null;

  for (;;) {
    await yieldToEvents();
    if (options.signal?.aborted) return done("signal");
    if (options.maxTrials !== null && trials.length >= options.maxTrials) return done("maxTrials");
    const slots = Math.min(
      options.runner.slots,
      options.maxTrials === null ? Infinity : options.maxTrials - trials.length,
    );
    // Even the cheapest batch costs some wall time (predictions, scheduling, a busy machine): the fastest
    // recent batch is that floor, and a batch that cannot end before the deadline is not started.
    const floor = recentBatches.length > 0 ? Math.min(...recentBatches) : 0;
    if (
      timed &&
      best !== null &&
      options.now() + (floor + options.reserveSeconds(best)) * 1000 > options.deadline
    )
      return done("budget");
    const batch: Planned[] = [];
    let stop: SearchResult["stoppedBy"] | null = null;
    while (batch.length < slots) {
      const state = pickLearner(states, rng);
      if (state === null) break;
      const next = nextProposal(state);
      if (next === null) {
        if (batch.length === 0) stop = "converged";
        break;
      }
      const { proposal, level } = next;
      const sampleSize = Math.min(levels[level] as number, maxTrain);
      const anyOk = trials.some((t) => t.record.status === "ok");
      const reserve = options.reserveSeconds(best);
      if (timed && anyOk) {
        // The first fits run before the JIT warms up; their speed would make every later trial look unaffordable.
        const predicted =
          trials.length < TRUST_AFTER
            ? 0
            : secondsPerUnitOf(state) * costUnits(state.name, proposal.params, sampleSize, nFeatures) * folds;
        if (options.now() + (predicted + reserve) * 1000 > options.deadline) {
          // Too slow for the time left: a failure for the searcher, which then steps back towards cheaper configurations.
          if (!next.promoted) state.searcher.report(proposal, null);
          if (++vetoes >= MAX_VETOES) {
            if (batch.length === 0) stop = "budget";
            break;
          }
          continue;
        }
      }
      vetoes = 0;
      const key = `${level}|${configKey(state.name, proposal.params)}`;
      // Splits may only end before the budget's end minus the refit reserve (epoch time: workers read it).
      // Only the first trial of the search runs to its end whatever the time: it guarantees a model.
      const stopAt =
        timed && (anyOk || batch.length > 0)
          ? Date.now() + (options.deadline - options.now()) - reserve * 1000
          : null;
      state.pending++;
      seen.set(key, NaN);
      batch.push({
        state,
        proposal,
        level,
        promoted: next.promoted,
        key,
        job: {
          learner: state.name,
          params: proposal.params,
          sampleSize,
          reference: next.promoted ? null : state.incumbentFolds,
          stopAt,
          ...(timed && { keepModel: true }),
        },
      });
    }
    if (stop !== null) return done(stop);
    if (batch.length === 0) return done("converged");
    const startedAt = options.now();
    const outcomes = await Promise.all(batch.map((p) => options.runner.run(p.job)));
    recentBatches.push((options.now() - startedAt) / 1000);
    if (recentBatches.length > RECENT_BATCHES) recentBatches.shift();
    for (let i = 0; i < batch.length; i++) {
      // A trial finished after Ctrl-C is not recorded: the search ended when the user asked.
      if (options.signal?.aborted) return done("signal");
      await record(batch[i] as Planned, outcomes[i] as TrialOutcome, startedAt);
    }
  }

  async function record(planned: Planned, outcome: TrialOutcome, startedAt: number): Promise<void> {
    const { state, proposal, level } = planned;
    state.pending--;
    const pruned = outcome.status === "pruned";
    const failed = !pruned && !Number.isFinite(outcome.loss);
    const status = pruned ? "pruned" : failed ? "failed" : "ok";
    const { foldModel, ...kept } = outcome;
    const record: TrialRecord = {
      id: trials.length + 1,
      learner: state.name,
      params: proposal.params,
      sampleSize: planned.job.sampleSize,
      fullFidelity: level === top,
      metric: ctx.problem.metric,
      score: outcome.score,
      spread: outcome.spread,
      status,
      ...(pruned && {
        message: options.signal?.aborted
          ? "stopped"
          : outcome.outOfTime
            ? "out of time: a fit reached the budget's end before its last tree"
            : "stopped early: its first splits trail the best",
      }),
      ...(failed && { message: "the metric is undefined on these predictions" }),
      fitSeconds: outcome.fitSeconds,
      predictMicrosPerRow: outcome.predictMicrosPerRow,
      startedAtSeconds: (startedAt - options.startedAt) / 1000,
    };
    const trial: SearchTrial = {
      record,
      outcome: status === "ok" ? kept : null,
      loss: status === "ok" ? outcome.loss : Infinity,
      trainRows: outcome.costUnits > 0 ? averageTrainRows(ctx, planned.job.sampleSize) : 0,
    };
    trials.push(trial);
    seen.set(planned.key, trial.loss);
    if (outcome.costUnits > 0 && outcome.fitSeconds > 0) {
      const observed = outcome.fitSeconds / outcome.costUnits;
      // A running average: a trial that overruns is cut after its current split, so the estimate need not be pessimistic.
      state.secondsPerUnit =
        state.secondsPerUnit === 0 ? observed : 0.5 * state.secondsPerUnit + 0.5 * observed;
    }
    account(state, outcome.costUnits, trial.loss);
    if (status === "ok" && (best === null || better(trial, best))) {
      best = trial;
      fallback = foldModel ? { trial: record.id, model: foldModel } : null;
    }
    if (planned.promoted) {
      state.level = level;
      state.searcher.rebase(proposal.point, trial.loss);
    } else {
      state.searcher.report(proposal, status === "ok" ? trial.loss : null);
    }
    if (state.searcher.incumbent === null) state.incumbentFolds = null;
    else if (status === "ok" && state.searcher.sinceImprovement === 0)
      state.incumbentFolds = outcome.foldLosses;
    if (state.level < top && state.searcher.incumbent && state.searcher.sinceImprovement >= PROMOTE_AFTER) {
      const point = state.searcher.incumbent.point;
      state.forced = { point, params: paramsOf(state.searcher.space, point), tag: 0 };
    }
    await options.onTrial?.(record);
    options.onTick?.(trials.length, best);
  }

  /** A learner without timings of its own borrows the others' (only the budget plan reads this). */
  function secondsPerUnitOf(state: LearnerState): number {
    if (state.secondsPerUnit > 0) return state.secondsPerUnit;
    const known = states.filter((s) => s.secondsPerUnit > 0).map((s) => s.secondsPerUnit);
    return known.length > 0 ? Math.max(...known) : 0;
  }

  function done(stoppedBy: SearchResult["stoppedBy"]): SearchResult {
    return { trials, stoppedBy, fallback };
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
      // Rounding mapped the move onto a configuration already scored (or running): tell the searcher, at no cost.
      state.searcher.report(proposal, Number.isFinite(known) ? known : null);
    }
    return null;
  }
}

function pickLearner(all: readonly LearnerState[], rng: Rng): LearnerState | null {
  const states = all.filter((s) => s.forced !== null || s.searcher.canPropose());
  if (states.length === 0) return null;
  // Every learner first gets its low-cost start and its seed configurations, in order.
  const warming = states.find((s) => s.trials + s.pending < 1 + s.searcher.space.seeds.length);
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
