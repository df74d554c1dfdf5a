// A trial as a self-contained job (learner, configuration, sample size, when to stop early) and the
// runners that execute jobs: in process, on worker threads, or on queue workers.
import { evaluateTrial, type EvalContext, type TrialOutcome } from "./evaluate.ts";
import type { LearnerName, LearnerParams } from "./types.ts";

/** A trial is hopeless when its first splits trail the reference by this much (relative) beyond two standard deviations. */
const PRUNE_RELATIVE = 0.05;

export interface TrialJob {
  readonly learner: LearnerName;
  readonly params: LearnerParams;
  readonly sampleSize: number;
  /** Split losses of the learner's incumbent: the trial stops once its first splits are hopeless against them. */
  readonly reference: readonly number[] | null;
  /**
   * Epoch milliseconds after which no further split may end (the budget's end minus the refit reserve);
   * null when time does not bound the trial. Epoch time, so worker threads and machines can read it.
   */
  readonly stopAt: number | null;
  /** Send the best split's model back with the outcome (a fallback when the final refit does not fit the budget). */
  readonly keepModel?: boolean;
}

export interface TrialRunner {
  /** How many jobs run at the same time. */
  readonly slots: number;
  run(job: TrialJob): Promise<TrialOutcome>;
  close(): Promise<void>;
}

/**
 * Runs a job's splits one after the other, stopping early when it is hopeless, out of time or aborted.
 * The same function runs in process, in a worker thread and on a queue worker, so all give the same result.
 */
export function runTrialJob(
  ctx: EvalContext,
  job: TrialJob,
  aborted: () => boolean,
  onSplit?: () => Promise<void> | void,
): Promise<TrialOutcome> {
  return evaluateTrial(ctx, job.learner, job.params, job.sampleSize, {
    now: Date.now,
    // Fits stop at the same instant as the splits: no boosting round or tree starts past it.
    ...(job.stopAt !== null && { deadline: job.stopAt }),
    ...(job.keepModel === true && { keepModel: true }),
    afterFold: async (finished, losses, foldSeconds) => {
      await onSplit?.();
      if (aborted()) return true;
      // The next split will take about as long as this one: stop now rather than overrun the budget.
      if (job.stopAt !== null && Date.now() + foldSeconds * 1000 > job.stopAt) return true;
      return job.reference !== null && hopeless(losses.slice(0, finished), job.reference);
    },
  });
}

/**
 * One trial at a time on the calling thread (the learners use their own threads inside a fit).
 *
 * @example
 * const runner = createInProcessRunner(ctx, signal);
 * const outcome = await runner.run({ learner: "gbdt", params, sampleSize: 10_000, reference: null, stopAt: null });
 */
export function createInProcessRunner(
  ctx: EvalContext,
  signal?: AbortSignal,
  onSplit?: () => void,
): TrialRunner {
  const tick = async (): Promise<void> => {
    onSplit?.();
    // Let Ctrl-C and progress output through between splits.
    await new Promise((resolve) => setImmediate(resolve));
  };
  return {
    slots: 1,
    run: (job) => runTrialJob(ctx, job, () => signal?.aborted === true, tick),
    close: async () => {},
  };
}

function hopeless(losses: readonly number[], reference: readonly number[]): boolean {
  const k = losses.length;
  const refMean = mean(reference.slice(0, k));
  const sd = std(reference);
  return mean(losses) > refMean + Math.max(2 * sd, PRUNE_RELATIVE * Math.abs(refMean));
}

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

function std(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}
