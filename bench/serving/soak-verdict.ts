// The soak's rules (pure): memory flat judged on the trend after warm-up (a drop is reported, not a leak), p99 stable across intervals, zero errors.

/** One memory reading of the server, in MiB, at a time since the soak started (readings up to the end of warm-up, inclusive, are warm-up). */
export interface MemorySample {
  readonly tS: number;
  readonly mb: number;
}

export interface MemoryVerdict {
  readonly samples: number;
  readonly medianMb: number;
  readonly minMb: number;
  readonly maxMb: number;
  /** Highest reading over the post-warm-up median (0.04 = 4% above). */
  readonly maxAboveMedian: number;
  /** The same for the later half of the post-warm-up readings, where a leak is highest: what the rule judges. */
  readonly lateMaxAboveMedian: number;
  /** Least-squares slope over the post-warm-up readings. */
  readonly slopeMbPerMin: number;
  /** The slope carried over the whole soak, as a fraction of the median: what a leak would add. */
  readonly trendOverRun: number;
  /** How far memory fell from the warm-up's highest reading to the post-warm-up median (GC giving memory back); 0 when it did not. */
  readonly dropAfterWarmup: number;
  readonly flat: boolean;
}

export interface MemoryRule {
  /** Allowed rise over the post-warm-up median (default 0.1: the issue's ±10%, of which only + matters). */
  readonly tolerance?: number;
  /**
   * Also fail a reading in the later half above median + tolerance (default true). Off for the JS heap in use: between
   * collections it swings by the young generation (~10 MB on a ~30 MB heap), so there only the trend tells a leak.
   */
  readonly judgeMax?: boolean;
}

/**
 * Memory is flat when, after warm-up, neither the trend (slope × soak length) nor the highest reading of the later
 * half rises more than the tolerance above the median. Falling is not growth: a drop after warm-up is reported,
 * never failed, and so is an early peak that is given back (the allocator and V8 return memory late, at a moment
 * that depends on the load), while a leak keeps its highest readings at the end.
 */
export function memoryVerdict(
  samples: readonly MemorySample[],
  warmupS: number,
  durationS: number,
  { tolerance = 0.1, judgeMax = true }: MemoryRule = {},
): MemoryVerdict {
  const steady = samples.filter((s) => s.tS > warmupS);
  const warm = samples.filter((s) => s.tS <= warmupS);
  const medianMb = median(steady.map((s) => s.mb));
  const maxMb = Math.max(...steady.map((s) => s.mb));
  const slopePerS = slope(steady);
  const maxAboveMedian = maxMb / medianMb - 1;
  const later = steady.slice(steady.length >> 1);
  const lateMaxAboveMedian = Math.max(...later.map((s) => s.mb)) / medianMb - 1;
  const trendOverRun = (slopePerS * durationS) / medianMb;
  const warmPeak = Math.max(...warm.map((s) => s.mb));
  return {
    samples: steady.length,
    medianMb: round(medianMb),
    minMb: round(Math.min(...steady.map((s) => s.mb))),
    maxMb: round(maxMb),
    maxAboveMedian: round(maxAboveMedian, 4),
    lateMaxAboveMedian: round(lateMaxAboveMedian, 4),
    slopeMbPerMin: round(slopePerS * 60, 4),
    trendOverRun: round(trendOverRun, 4),
    dropAfterWarmup: warm.length ? round(Math.max(0, 1 - medianMb / warmPeak), 4) : 0,
    // Two readings are too few to call a trend: flat needs evidence, not its absence.
    flat: steady.length >= 3 && trendOverRun <= tolerance && (!judgeMax || lateMaxAboveMedian <= tolerance),
  };
}

export interface LatencyVerdict {
  readonly medianIntervalP99Ms: number;
  readonly worstIntervalP99Ms: number;
  /** The worst interval's p99 is at most `factor` times the median interval's. */
  readonly stable: boolean;
}

export function p99Verdict(intervalP99s: readonly number[], factor = 2): LatencyVerdict {
  const med = median(intervalP99s);
  const worst = Math.max(...intervalP99s);
  return {
    medianIntervalP99Ms: med,
    worstIntervalP99Ms: worst,
    stable: intervalP99s.length >= 2 && worst <= factor * med,
  };
}

function median(values: readonly number[]): number {
  const v = [...values].sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

/** Least-squares slope of mb over tS. */
function slope(samples: readonly MemorySample[]): number {
  const n = samples.length;
  if (n < 2) return 0;
  const mt = samples.reduce((s, p) => s + p.tS, 0) / n;
  const mm = samples.reduce((s, p) => s + p.mb, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of samples) {
    num += (p.tS - mt) * (p.mb - mm);
    den += (p.tS - mt) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
