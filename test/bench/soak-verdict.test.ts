// The serving soak's rules: a drop after warm-up is not a leak, slow steady growth is, and one slow interval breaks "p99 stable".
import { describe, expect, it } from "vitest";
import { memoryVerdict, p99Verdict, type MemorySample } from "../../bench/serving/soak-verdict.ts";

/** Readings every 2 s for 10 minutes from a memory curve. */
function curve(mb: (tS: number) => number): MemorySample[] {
  return Array.from({ length: 300 }, (_, i) => ({ tS: 2 * (i + 1), mb: mb(2 * (i + 1)) }));
}

describe("memoryVerdict", () => {
  it("calls memory that falls after warm-up flat, and reports the drop", () => {
    // 236 MB while warming, then GC gives back 45 MB and it stays near 191 MB (the 5-minute run that was failed).
    const v = memoryVerdict(
      curve((t) => (t < 60 ? 236 : 191 + Math.sin(t) * 2)),
      60,
      600,
    );
    expect(v.flat).toBe(true);
    expect(v.dropAfterWarmup).toBeCloseTo(0.19, 2);
    expect(Math.abs(v.trendOverRun)).toBeLessThan(0.02);
  });

  it("fails slow steady growth that never jumps: 12% over the run", () => {
    const v = memoryVerdict(
      curve((t) => 200 + (t / 600) * 24),
      60,
      600,
    );
    expect(v.flat).toBe(false);
    expect(v.trendOverRun).toBeGreaterThan(0.1);
    expect(v.slopeMbPerMin).toBeCloseTo(2.4, 1);
  });

  it("fails a late spike above the median even without a trend, and passes noise within 10%", () => {
    expect(
      memoryVerdict(
        curve((t) => (t === 400 ? 230 : 200)),
        60,
        600,
      ).flat,
    ).toBe(false);
    expect(
      memoryVerdict(
        curve((t) => 200 + ((t * 7919) % 17)),
        60,
        600,
      ).flat,
    ).toBe(true);
  });

  it("judges the JS heap by its trend only when asked: young-generation swings are not growth", () => {
    const sawtooth = curve((t) => 30 + ((t / 2) % 5) * 2.5);
    expect(memoryVerdict(sawtooth, 60, 600).flat).toBe(false);
    expect(memoryVerdict(sawtooth, 60, 600, { judgeMax: false }).flat).toBe(true);
    expect(
      memoryVerdict(
        curve((t) => 30 + t / 100),
        60,
        600,
        { judgeMax: false },
      ).flat,
    ).toBe(false);
  });

  it("calls an early peak that is given back flat (the 3-minute run: 249 MB at 80 s, then 187 MB), and reports it", () => {
    const v = memoryVerdict(
      curve((t) => (t < 80 ? 213 + (t / 80) * 36 : 187)),
      18,
      180 * 10,
    );
    expect(v.maxAboveMedian).toBeGreaterThan(0.3);
    expect(v.lateMaxAboveMedian).toBe(0);
    expect(v.flat).toBe(true);
  });

  it("does not call two readings a trend", () => {
    expect(memoryVerdict(curve(() => 200).slice(0, 31), 60, 600).flat).toBe(false);
  });
});

describe("p99Verdict", () => {
  it("is stable when the worst interval is within twice the median interval", () => {
    expect(p99Verdict([3.1, 3.4, 2.9, 6.0]).stable).toBe(true);
    const spike = p99Verdict([3.1, 3.4, 2.9, 3.0, 12.5]);
    expect(spike).toEqual({ medianIntervalP99Ms: 3.1, worstIntervalP99Ms: 12.5, stable: false });
    expect(p99Verdict([3]).stable).toBe(false);
  });
});
