// Automatic canary rollback: compares the canary's error rate and p99 latency with the primary's over recent requests.
import type { Endpoint, ServedModel } from "./models.ts";

export interface CanaryGuardOptions {
  /** Requests each side needs before the comparison counts. */
  readonly minRequests: number;
  /** Latency samples kept per side (the p99 is over these). */
  readonly window: number;
  /**
   * A p99 ratio only counts when the canary is also slower by at least this many milliseconds: at
   * sub-millisecond latencies a ratio alone is noise.
   */
  readonly minP99DeltaMs: number;
}

export const DEFAULT_CANARY_GUARD: CanaryGuardOptions = { minRequests: 20, window: 1000, minP99DeltaMs: 1 };

export interface SideStats {
  readonly requests: number;
  readonly errors: number;
  readonly errorRate: number;
  readonly p99Ms: number;
}

export interface RollbackReport {
  readonly endpoint: string;
  readonly canaryVersion: string;
  readonly primaryVersion: string;
  readonly reason: "error-rate" | "latency";
  readonly canary: SideStats;
  readonly primary: SideStats;
}

interface Side {
  requests: number;
  errors: number;
  readonly latencies: Float64Array;
  filled: number;
  next: number;
}

export interface CanaryGuard {
  /** One answered (ok) or failed prediction of a primary or canary; may trigger `onRollback`. */
  record(model: ServedModel, ok: boolean, ms: number): void;
  /** Current figures of a model, for tests and status pages. */
  stats(model: ServedModel): SideStats | undefined;
}

/**
 * @example
 * const guard = createCanaryGuard((report) => models.install(report.endpoint, "canary", null));
 * guard.record(model, true, 0.4);
 */
export function createCanaryGuard(
  onRollback: (endpoint: Endpoint, report: RollbackReport) => void,
  options: CanaryGuardOptions = DEFAULT_CANARY_GUARD,
): CanaryGuard {
  // Keyed by the served model: a swapped-in version starts with a clean record.
  const sides = new WeakMap<ServedModel, Side>();
  const sideOf = (m: ServedModel): Side => {
    let s = sides.get(m);
    if (!s) {
      s = { requests: 0, errors: 0, latencies: new Float64Array(options.window), filled: 0, next: 0 };
      sides.set(m, s);
    }
    return s;
  };

  const check = (e: Endpoint, canary: ServedModel): void => {
    const policy = e.rollback;
    const c = sides.get(canary);
    const p = sides.get(e.primary);
    if (!policy || !c || !p || c.requests < options.minRequests || p.requests < options.minRequests) return;
    const cs = summarize(c);
    const ps = summarize(p);
    let reason: RollbackReport["reason"] | null = null;
    if (cs.errorRate - ps.errorRate > policy.maxErrorRateDelta) reason = "error-rate";
    else if (cs.p99Ms > policy.maxP99Ratio * ps.p99Ms && cs.p99Ms - ps.p99Ms >= options.minP99DeltaMs)
      reason = "latency";
    if (!reason) return;
    onRollback(e, {
      endpoint: e.name,
      canaryVersion: canary.version,
      primaryVersion: e.primary.version,
      reason,
      canary: cs,
      primary: ps,
    });
  };

  return {
    record(model, ok, ms) {
      const e = model.endpoint;
      if (!e.rollback || !e.canary || model.role === "shadow") return;
      const s = sideOf(model);
      s.requests++;
      if (!ok) s.errors++;
      else {
        s.latencies[s.next] = ms;
        s.next = (s.next + 1) % s.latencies.length;
        if (s.filled < s.latencies.length) s.filled++;
      }
      // Checking every few canary outcomes keeps the sort of the latency window off most requests.
      if (model === e.canary && (s.requests % 10 === 0 || !ok)) check(e, model);
    },
    stats: (model) => {
      const s = sides.get(model);
      return s && summarize(s);
    },
  };
}

function summarize(s: Side): SideStats {
  const sorted = s.latencies.slice(0, s.filled).sort();
  const p99Ms = sorted.length
    ? (sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)] as number)
    : 0;
  return { requests: s.requests, errors: s.errors, errorRate: s.requests ? s.errors / s.requests : 0, p99Ms };
}
