// Cost-frugal local search (FLAML's CFO/FLOW2): start cheap, try x ± step·u for random unit u, grow the step on success.
import type { Rng } from "../learn/random.ts";
import { initialPoint, paramsOf, pointOf, type LearnerSpace } from "./space.ts";
import type { LearnerParams } from "./types.ts";

const STEP_INIT = 0.1;
const STEP_MAX = 0.5;
const STEP_MIN = 0.005;
const GROW = 2;
const SHRINK = 0.5;

export interface Proposal {
  readonly point: readonly number[];
  readonly params: LearnerParams;
}

export interface LocalSearcher {
  readonly space: LearnerSpace;
  propose(): Proposal;
  /** The loss of the last proposal; null when it failed or was pruned (a failure for the searcher). */
  report(loss: number | null): void;
  /** Moves the incumbent, e.g. when the search continues on a larger sample with its best configuration. */
  rebase(point: readonly number[], loss: number): void;
  readonly incumbent: { readonly point: readonly number[]; readonly loss: number } | null;
  /** Proposals since the incumbent last improved. */
  readonly sinceImprovement: number;
}

/**
 * @example
 * const s = createLocalSearcher(SPACES.gbdt, createRng(1));
 * const p = s.propose(); // the low-cost start: 4 rounds, depth 3
 * s.report(0.31);
 */
export function createLocalSearcher(space: LearnerSpace, rng: Rng): LocalSearcher {
  const d = space.dimensions.length;
  // Step is a length in the unit cube; scale by sqrt(d) so it means the same per coordinate in any space.
  const scale = Math.sqrt(d);
  let step = STEP_INIT * scale;
  const queue: (readonly number[])[] = [initialPoint(space), ...space.seeds.map((s) => pointOf(space, s))];
  let incumbent: { point: readonly number[]; loss: number } | null = null;
  let direction: number[] | null = null;
  let mirrored = false;
  let last: readonly number[] = queue[0] as readonly number[];
  let fromQueue = false;
  let sinceImprovement = 0;

  const gaussian = (): number => {
    const u = Math.max(rng.next(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
  };
  const move = (sign: number): number[] =>
    (incumbent as { point: readonly number[] }).point.map((x, i) =>
      clamp(x + sign * step * ((direction as number[])[i] as number)),
    );

  return {
    space,
    get incumbent() {
      return incumbent;
    },
    get sinceImprovement() {
      return sinceImprovement;
    },
    propose() {
      if (queue.length > 0 || incumbent === null) {
        last = queue.shift() ?? restartPoint(space, rng);
        fromQueue = true;
      } else {
        fromQueue = false;
        if (direction === null) {
          const u = Array.from({ length: d }, gaussian);
          const norm = Math.hypot(...u) || 1;
          direction = u.map((v) => v / norm);
          mirrored = false;
          last = move(1);
        } else {
          mirrored = true;
          last = move(-1);
        }
      }
      return { point: last, params: paramsOf(space, last) };
    },
    report(loss) {
      sinceImprovement++;
      if (loss !== null && (incumbent === null || loss < incumbent.loss)) {
        const improvedLocally = !fromQueue;
        incumbent = { point: last, loss };
        sinceImprovement = 0;
        direction = null;
        if (improvedLocally) step = Math.min(STEP_MAX * scale, step * GROW);
        return;
      }
      if (fromQueue) return;
      if (!mirrored) return; // try the opposite direction next
      direction = null;
      step *= SHRINK;
      if (step < STEP_MIN * scale) {
        // Converged here: restart from a fresh point; the global best is kept by the caller.
        step = STEP_INIT * scale;
        incumbent = null;
        queue.push(restartPoint(space, rng));
      }
    },
    rebase(point, loss) {
      incumbent = { point, loss };
      direction = null;
      sinceImprovement = 0;
      step = STEP_INIT * scale;
    },
  };
}

/** A random point whose cost dimensions stay at their cheap start, so a restart is cost-frugal too. */
function restartPoint(space: LearnerSpace, rng: Rng): number[] {
  const start = initialPoint(space);
  return space.dimensions.map((dim, i) => (dim.cost ? (start[i] as number) : rng.next()));
}

function clamp(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}
