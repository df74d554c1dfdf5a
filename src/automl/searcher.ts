// The searcher contract shared by CFO and TPE: ask for configurations, tell their losses back, in order.
import type { Rng } from "../learn/random.ts";
import type { LearnerSpace } from "./space.ts";
import type { LearnerParams } from "./types.ts";

export interface Proposal {
  /** The configuration as a point of the unit cube, one coordinate per dimension of the space. */
  readonly point: readonly number[];
  readonly params: LearnerParams;
  /** Identifies the proposal to the searcher that made it. */
  readonly tag: number;
}

export interface Searcher {
  readonly space: LearnerSpace;
  /** False while the searcher waits for results before it can move (e.g. CFO before its first report). */
  canPropose(): boolean;
  propose(): Proposal;
  /** The loss of a proposal; null when it failed or was pruned (a failure for the searcher). */
  report(proposal: Proposal, loss: number | null): void;
  /** Moves the incumbent, e.g. when the search continues on a larger sample with its best configuration. */
  rebase(point: readonly number[], loss: number): void;
  readonly incumbent: { readonly point: readonly number[]; readonly loss: number } | null;
  /** Reports since the incumbent last improved. */
  readonly sinceImprovement: number;
}

/** A standard normal draw (Box-Muller), for random directions and Parzen samples. */
export function gaussian(rng: Rng): number {
  const u = Math.max(rng.next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}
