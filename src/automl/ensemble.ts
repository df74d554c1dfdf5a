// Greedy ensemble selection (Caruana et al. 2004) over out-of-fold predictions, with replacement.
import { higherIsBetter, scoreMetric, toLoss } from "./metric.ts";
import type { MetricName } from "./types.ts";

export interface EnsembleCandidate {
  readonly trial: number;
  readonly oof: Float64Array;
}

export interface EnsembleChoice {
  /** Weights summing to 1, by trial id, in the order members were first picked. */
  readonly members: readonly { readonly trial: number; readonly weight: number }[];
  readonly loss: number;
  readonly score: number;
}

/**
 * Adds, round after round, the candidate whose inclusion lowers the ensemble's loss the most;
 * returns the best bag seen (or null when there are fewer than two candidates).
 *
 * @example
 * const choice = selectEnsemble(candidates, y, "roc_auc", 2, 25);
 */
export function selectEnsemble(
  candidates: readonly EnsembleCandidate[],
  y: Float64Array,
  metric: MetricName,
  nClasses: number,
  rounds = 25,
): EnsembleChoice | null {
  if (candidates.length < 2) return null;
  const width = (candidates[0] as EnsembleCandidate).oof.length;
  const sum = new Float64Array(width);
  const trial = new Float64Array(width);
  const counts = new Map<number, number>();
  const order: number[] = [];
  let best: EnsembleChoice | null = null;
  for (let round = 1; round <= rounds; round++) {
    let pick = -1;
    let pickLoss = Infinity;
    candidates.forEach((c, i) => {
      for (let j = 0; j < width; j++) trial[j] = ((sum[j] as number) + (c.oof[j] as number)) / round;
      const loss = safeLoss(metric, y, trial, nClasses);
      if (loss < pickLoss) {
        pickLoss = loss;
        pick = i;
      }
    });
    if (pick < 0) break;
    const chosen = candidates[pick] as EnsembleCandidate;
    for (let j = 0; j < width; j++) sum[j] = (sum[j] as number) + (chosen.oof[j] as number);
    if (!counts.has(chosen.trial)) order.push(chosen.trial);
    counts.set(chosen.trial, (counts.get(chosen.trial) ?? 0) + 1);
    if (best === null || pickLoss < best.loss) {
      best = {
        members: order.map((t) => ({ trial: t, weight: (counts.get(t) as number) / round })),
        loss: pickLoss,
        score: higherIsBetter(metric) ? -pickLoss : pickLoss,
      };
    }
  }
  return best;
}

function safeLoss(metric: MetricName, y: Float64Array, pred: Float64Array, nClasses: number): number {
  try {
    const loss = toLoss(metric, scoreMetric(metric, y, pred, nClasses));
    return Number.isNaN(loss) ? Infinity : loss;
  } catch {
    return Infinity;
  }
}
