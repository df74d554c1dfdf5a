// Table-driven check of every drift statistic against SciPy (and Evidently's formulas) from fixtures/drift-cases.json.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { fisherExact2x2 } from "./categorical.ts";
import { runDriftTest } from "./default-test.ts";
import { kolmogorovSf, smirnovSf } from "./kolmogorov.ts";
import { bellSample } from "./rng.ts";
import type { DriftTestName } from "./types.ts";

type Encoded = number | "inf" | "-inf" | "nan" | null;
interface Generator {
  readonly generator: { seed: number; n: number; loc: number; scale: number; nanEvery: number };
}
interface Case {
  readonly name: string;
  readonly test: DriftTestName;
  readonly kind: "numeric" | "categorical";
  readonly reference: (number | null)[] | Generator;
  readonly current: (number | null)[] | Generator;
  readonly options: { table?: [number, number, number, number] };
  readonly expected: { statistic: Encoded; pValue: Encoded };
}

const fixtures = JSON.parse(
  readFileSync(new URL("./fixtures/drift-cases.json", import.meta.url), "utf8"),
) as {
  scipy: string;
  cases: Case[];
  kolmogorov: [number, number, Encoded, Encoded][];
};

const decode = (x: Encoded): number | null =>
  x === "inf" ? Infinity : x === "-inf" ? -Infinity : x === "nan" ? Number.NaN : x;

const generated = new Map<string, Float64Array>();
function column(spec: Case["reference"], kind: Case["kind"]): Float64Array | Int32Array {
  if (!Array.isArray(spec)) {
    const g = spec.generator;
    const key = JSON.stringify(g);
    let data = generated.get(key);
    if (!data) {
      data = bellSample(g.seed, g.n, g.loc, g.scale);
      if (g.nanEvery) for (let i = 0; i < data.length; i += g.nanEvery) data[i] = Number.NaN;
      generated.set(key, data);
    }
    return data;
  }
  return kind === "categorical"
    ? Int32Array.from(spec, (v) => v ?? -1)
    : Float64Array.from(spec, (v) => v ?? Number.NaN);
}

/** Relative tolerance 1e-9; the 1e-15 absolute floor only matters for values that cancel to ~0 (MMD², W = 0). */
function expectClose(actual: number | null, expected: number | null, what: string): void {
  if (expected === null || actual === null) {
    expect(actual, what).toBe(expected);
    return;
  }
  if (Number.isNaN(expected) || !Number.isFinite(expected)) {
    expect(actual, what).toBe(expected);
    return;
  }
  const tol = 1e-9 * Math.max(Math.abs(actual), Math.abs(expected)) + 1e-15;
  expect(Math.abs(actual - expected), `${what}: ${actual} vs SciPy ${expected}`).toBeLessThanOrEqual(tol);
}

describe(`drift statistics match SciPy ${fixtures.scipy}`, () => {
  it.each(fixtures.cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    if (c.test === "fisher_exact") {
      const { oddsRatio, pValue } = fisherExact2x2(c.options.table!);
      expectClose(oddsRatio, decode(c.expected.statistic), "odds ratio");
      expectClose(pValue, decode(c.expected.pValue), "p-value");
      return;
    }
    const result = runDriftTest(c.test, column(c.reference, c.kind), column(c.current, c.kind));
    expectClose(result.statistic, decode(c.expected.statistic), "statistic");
    if (c.test === "mmd") return; // permutation p-value: see mmd tests
    expectClose(result.pValue, decode(c.expected.pValue), "p-value");
  });
});

describe("Kolmogorov distributions match scipy.stats.kstwo.sf and scipy.special.smirnov", () => {
  const rows = fixtures.kolmogorov.map(([n, x, sf, smirnov]) => ({ n, x, sf, smirnov }));
  it.each(rows)("n = $n, x = $x", ({ n, x, sf, smirnov }) => {
    expectClose(kolmogorovSf(n, x), decode(sf), "kstwo.sf");
    expectClose(smirnovSf(n, x), decode(smirnov), "smirnov");
  });
});

it("generates the same samples as make_fixtures.py's bell() (first values pinned from Python)", () => {
  // Exact dyadic arithmetic: these are bit-for-bit the values Python printed for bell(11, 3, 0.0, 1.0).
  expect(Array.from(bellSample(11, 3, 0, 1))).toEqual([
    -1.0569889466278255, 0.36468470515683293, -0.6244173641316593,
  ]);
});
