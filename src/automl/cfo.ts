// Cost-frugal local search (FLAML's CFO/FLOW2): start cheap, try x ± step·u for random unit u, grow the step on success.
import type { Rng } from "../learn/random.ts";
import { initialPoint, paramsOf, pointOf, type LearnerSpace } from "./space.ts";
import { gaussian, type Proposal, type Searcher } from "./searcher.ts";

const STEP_INIT = 0.1;
const STEP_MAX = 0.5;
const STEP_MIN = 0.005;
const GROW = 2;
const SHRINK = 0.5;

/** Which move a proposal was: a queued start point, or one side of a random direction. */
interface Move {
  readonly kind: "queue" | "plus" | "minus";
  readonly direction: number;
}

/**
 * Ask/tell: several proposals may be out at once (parallel trials) and are reported in proposal order; a
 * direction's two sides are proposed one after the other, so a batch of two evaluates x + step·u and
 * x − step·u together. With one proposal at a time it is exactly the sequential FLOW2 walk.
 *
 * @example
 * const s = createLocalSearcher(spaceFor("gbdt", "binary", 8), createRng(1));
 * const p = s.propose(); // the low-cost start: 4 rounds, depth 3
 * s.report(p, 0.31);
 */
export function createLocalSearcher(space: LearnerSpace, rng: Rng): Searcher {
  const d = space.dimensions.length;
  // Step is a length in the unit cube; scale by sqrt(d) so it means the same per coordinate in any space.
  const scale = Math.sqrt(d);
  let step = STEP_INIT * scale;
  const queue: (readonly number[])[] = [initialPoint(space), ...space.seeds.map((s) => pointOf(space, s))];
  let incumbent: { point: readonly number[]; loss: number } | null = null;
  let direction: number[] | null = null;
  let directionId = 0;
  let mirrorProposed = false;
  let sinceImprovement = 0;
  const moves = new Map<number, Move>();
  let nextTag = 1;

  const move = (sign: number): number[] =>
    (incumbent as { point: readonly number[] }).point.map((x, i) =>
      clamp(x + sign * step * ((direction as number[])[i] as number)),
    );
  const issue = (point: readonly number[], m: Move): Proposal => {
    const tag = nextTag++;
    moves.set(tag, m);
    return { point, params: paramsOf(space, point), tag };
  };

  return {
    space,
    get incumbent() {
      return incumbent;
    },
    get sinceImprovement() {
      return sinceImprovement;
    },
    canPropose() {
      // Without an incumbent there is nothing to move from: hand out queued points, or a restart once
      // every outstanding proposal has been reported (e.g. all of them failed).
      return queue.length > 0 || incumbent !== null || moves.size === 0;
    },
    propose() {
      if (queue.length > 0 || incumbent === null) {
        return issue(queue.shift() ?? restartPoint(space, rng), { kind: "queue", direction: 0 });
      }
      if (direction === null || mirrorProposed) {
        const u = Array.from({ length: d }, () => gaussian(rng));
        const norm = Math.hypot(...u) || 1;
        direction = u.map((v) => v / norm);
        directionId++;
        mirrorProposed = false;
        return issue(move(1), { kind: "plus", direction: directionId });
      }
      mirrorProposed = true;
      return issue(move(-1), { kind: "minus", direction: directionId });
    },
    report(proposal, loss) {
      const m = moves.get(proposal.tag) ?? { kind: "queue", direction: 0 };
      moves.delete(proposal.tag);
      sinceImprovement++;
      if (loss !== null && (incumbent === null || loss < incumbent.loss)) {
        incumbent = { point: proposal.point, loss };
        sinceImprovement = 0;
        direction = null;
        if (m.kind !== "queue") step = Math.min(STEP_MAX * scale, step * GROW);
        return;
      }
      // Only the failure of both sides of the current direction shrinks the step.
      if (m.kind !== "minus" || m.direction !== directionId || direction === null) return;
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
export function restartPoint(space: LearnerSpace, rng: Rng): number[] {
  const start = initialPoint(space);
  return space.dimensions.map((dim, i) => (dim.cost ? (start[i] as number) : rng.next()));
}

function clamp(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}
