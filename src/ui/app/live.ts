/// <reference lib="dom" />
// Live serving traffic: two snapshots of the server's cumulative counters turned into requests/s, error rate and
// latency percentiles over the interval between them (or since start while there is only one).
import { api } from "./api.ts";

interface Series {
  endpoint: string;
  version: string;
  requests: number;
  le: number[];
  buckets: number[];
  roles: string[];
}
export interface Snapshot {
  live: boolean;
  at: number;
  series: Series[];
  errors: Record<string, number>;
}

export interface Traffic {
  version: string;
  roles: string[];
  requests: number;
  /** Requests per second over the interval; null with a single snapshot. */
  rps: number | null;
  p50: number | null;
  p99: number | null;
}

export interface EndpointTraffic {
  versions: Traffic[];
  requests: number;
  errors: number;
  /** What p99 and the error rate cover. */
  window: "last interval" | "since start";
  rps: number | null;
  errorRate: number | null;
  p99: number | null;
}

export const snapshot = (): Promise<Snapshot> => api<Snapshot>("GET", "/api/v1/ui/live");

/** The q-quantile of a cumulative histogram, interpolated inside its bucket as Prometheus does (seconds). */
export function quantile(q: number, le: number[], counts: number[]): number | null {
  const total = counts[counts.length - 1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  for (let i = 0; i < counts.length; i++) {
    if (counts[i]! >= rank) {
      const hi = le[i]!;
      const lo = i === 0 ? 0 : le[i - 1]!;
      if (!Number.isFinite(hi)) return lo; // beyond the last bound: report the bound, not a guess
      const below = i === 0 ? 0 : counts[i - 1]!;
      const inBucket = counts[i]! - below;
      return lo + (hi - lo) * (inBucket > 0 ? (rank - below) / inBucket : 1);
    }
  }
  return null;
}

function minus(a: number[], b: number[] | undefined): number[] {
  return a.map((v, i) => v - (b?.[i] ?? 0));
}

/**
 * Traffic of one endpoint between `prev` and `cur`; since the server started when there is no earlier snapshot
 * or nothing was served in between (so a quiet minute still shows the latency people saw).
 */
export function endpointTraffic(endpoint: string, cur: Snapshot, prev?: Snapshot): EndpointTraffic {
  const mine = cur.series.filter((x) => x.endpoint === endpoint);
  const before = (v: string) => prev?.series.find((x) => x.endpoint === endpoint && x.version === v);
  const errors = cur.errors[endpoint] ?? 0;
  const secs = prev ? (cur.at - prev.at) / 1000 : 0;
  const requests = mine.reduce((a, s) => a + s.requests, 0);
  const moved = requests - mine.reduce((a, s) => a + (before(s.version)?.requests ?? 0), 0);
  const failedMoved = errors - (prev?.errors[endpoint] ?? 0);
  const windowed = secs > 0 && moved + failedMoved > 0;
  let merged: number[] | undefined;
  let le: number[] = [];
  const versions = mine.map((s) => {
    const counts = windowed ? minus(s.buckets, before(s.version)?.buckets) : s.buckets;
    le = s.le;
    merged = merged ? merged.map((v, i) => v + (counts[i] ?? 0)) : counts.slice();
    return {
      version: s.version,
      roles: s.roles,
      requests: s.requests,
      rps: secs > 0 ? (s.requests - (before(s.version)?.requests ?? 0)) / secs : null,
      p50: quantile(0.5, s.le, counts),
      p99: quantile(0.99, s.le, counts),
    };
  });
  const served = windowed ? moved : requests;
  const failed = windowed ? failedMoved : errors;
  return {
    versions,
    requests,
    errors,
    window: windowed ? "last interval" : "since start",
    rps: secs > 0 ? (moved + failedMoved) / secs : null,
    errorRate: served + failed > 0 ? failed / (served + failed) : null,
    p99: merged ? quantile(0.99, le, merged) : null,
  };
}

export function fmtSeconds(s: number | null): string {
  return s === null ? "n/a" : s < 1 ? `${(s * 1000).toFixed(s < 0.01 ? 2 : 1)} ms` : `${s.toFixed(2)} s`;
}
