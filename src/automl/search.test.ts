import { describe, expect, it } from "vitest";
import { createRng } from "../learn/random.ts";
import { createLocalSearcher } from "./cfo.ts";
import { selectEnsemble } from "./ensemble.ts";
import { SPACES, costUnits, fromUnit, paramsOf, toUnit } from "./space.ts";

describe("search space", () => {
  it("maps values to the unit cube and back, on a log scale where asked", () => {
    const rounds = SPACES.gbdt.dimensions.find((d) => d.name === "nRounds");
    if (!rounds) throw new Error("nRounds dimension missing");
    expect(fromUnit(rounds, toUnit(rounds, 100))).toBe(100);
    expect(fromUnit(rounds, 0)).toBe(4);
    expect(toUnit(rounds, Math.sqrt(4 * 2000))).toBeCloseTo(0.5, 6);
  });

  it("starts every learner at its cheapest configuration", () => {
    const start = paramsOf(
      SPACES.gbdt,
      SPACES.gbdt.dimensions.map((d) => toUnit(d, d.init)),
    );
    expect(start).toMatchObject({ nRounds: 4, maxDepth: 3 });
    expect(costUnits(start, 1000, 5)).toBeLessThan(costUnits({ nRounds: 100, maxDepth: 6 }, 1000, 5));
  });
});

describe("local searcher (CFO)", () => {
  it("descends a smooth loss from the low-cost start and is reproducible", () => {
    const run = (): number[] => {
      const searcher = createLocalSearcher(SPACES.gbdt, createRng(3));
      const losses: number[] = [];
      for (let i = 0; i < 60; i++) {
        const p = searcher.propose();
        // Best at 300 rounds, learning rate 0.05: far from where the search starts.
        const loss =
          Math.log(((p.params.nRounds ?? 1) / 300) ** 2) ** 2 +
          Math.log((p.params.learningRate ?? 1) / 0.05) ** 2;
        losses.push(loss);
        searcher.report(loss);
      }
      return losses;
    };
    const losses = run();
    expect(Math.min(...losses.slice(40))).toBeLessThan((losses[0] as number) / 4);
    expect(run()).toEqual(losses);
  });
});

describe("greedy ensemble selection", () => {
  it("mixes two models with complementary errors and beats both", () => {
    const y = Float64Array.from({ length: 40 }, (_, i) => i);
    const a = y.map((v, i) => v + (i % 2 ? 2 : -2));
    const b = y.map((v, i) => v + (i % 2 ? -2 : 2));
    const bad = y.map((v) => v + 10);
    const choice = selectEnsemble(
      [
        { trial: 1, oof: a },
        { trial: 2, oof: b },
        { trial: 3, oof: bad },
      ],
      y,
      "rmse",
      1,
    );
    expect(choice?.loss).toBeCloseTo(0, 9);
    expect(choice?.members.map((m) => m.trial).sort()).toEqual([1, 2]);
    expect(choice?.members.reduce((s, m) => s + m.weight, 0)).toBeCloseTo(1, 12);
  });
});
