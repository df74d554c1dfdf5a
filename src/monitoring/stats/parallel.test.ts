// The multi-column kernel on worker threads gives exactly the single-column statistics.
import { afterAll, describe, expect, it } from "vitest";
import { psiTest, wassersteinTest } from "./distance.ts";
import { ksTest } from "./ks.ts";
import { closeDriftWorkers, numericDriftColumns } from "./parallel.ts";
import { bellSample } from "./rng.ts";

afterAll(() => closeDriftWorkers());

const withNaN = (a: Float64Array, every: number): Float64Array =>
  a.map((v, i) => (i % every === 0 ? Number.NaN : v));

describe("numericDriftColumns", () => {
  it("matches ksTest, wassersteinTest and psiTest bit for bit, on both threads", async () => {
    const columns = [
      {
        reference: withNaN(bellSample(1, 50_000, 0, 1), 97),
        current: withNaN(bellSample(2, 40_000, 0.1, 1.1), 89),
      },
      { reference: bellSample(3, 300, 5, 2), current: bellSample(4, 200, 5, 2) },
      // Ties and few values: PSI takes one bucket per value.
      {
        reference: Float64Array.from({ length: 30_000 }, (_, i) => i % 4),
        current: Float64Array.from({ length: 20_000 }, (_, i) => (i % 5) % 4),
      },
      // Rounded values: many ties, more than 20 distinct.
      {
        reference: bellSample(5, 20_000, 0, 10).map(Math.round),
        current: bellSample(6, 25_000, 1, 10).map(Math.round),
      },
      { reference: Float64Array.of(1), current: Float64Array.of(1, 2, 3) },
    ];
    const results = await numericDriftColumns(columns, { threads: 2 });
    results.forEach((r, k) => {
      const { reference, current } = columns[k]!;
      const ks = ksTest(reference, current);
      expect(r.ks, `column ${k}`).toEqual({ statistic: ks.statistic, pValue: ks.pValue });
      expect(r.wasserstein, `column ${k}`).toBe(wassersteinTest(reference, current).statistic);
      expect(r.psi, `column ${k}`).toBe(psiTest(reference, current).statistic);
    });
  });

  it("reports a column with no value on a side as not enough data", async () => {
    const [r] = await numericDriftColumns(
      [{ reference: Float64Array.of(Number.NaN), current: Float64Array.of(1) }],
      { threads: 2 },
    );
    expect(r).toEqual({ referenceCount: 0, currentCount: 1, ks: null, wasserstein: null, psi: null });
  });
});
