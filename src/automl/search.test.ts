import { describe, expect, it } from "vitest";
import { createRng } from "../learn/random.ts";
import { createLocalSearcher } from "./cfo.ts";
import { selectEnsemble } from "./ensemble.ts";
import type { Searcher } from "./searcher.ts";
import { costUnits, fromUnit, paramsOf, spaceFor, toUnit, type LearnerSpace } from "./space.ts";
import { createTpeSearcher } from "./tpe.ts";
import type { LearnerParams } from "./types.ts";

const GBDT = spaceFor("gbdt", "binary", 8);
const num = (p: LearnerParams, k: string): number => p[k] as number;

describe("search space", () => {
  it("maps values to the unit cube and back, on a log scale where asked", () => {
    const rounds = GBDT.dimensions.find((d) => d.name === "nRounds");
    if (!rounds) throw new Error("nRounds dimension missing");
    expect(fromUnit(rounds, toUnit(rounds, 100))).toBe(100);
    expect(fromUnit(rounds, 0)).toBe(4);
    expect(toUnit(rounds, Math.sqrt(4 * 2000))).toBeCloseTo(0.5, 6);
  });

  it("starts every learner at its cheapest configuration", () => {
    const start = (s: LearnerSpace): LearnerParams =>
      paramsOf(
        s,
        s.dimensions.map((d) => toUnit(d, d.init)),
      );
    expect(start(GBDT)).toMatchObject({ nRounds: 4, maxDepth: 3 });
    expect(costUnits("gbdt", start(GBDT), 1000, 5)).toBeLessThan(
      costUnits("gbdt", { nRounds: 100, maxDepth: 6 }, 1000, 5),
    );
    const rf = spaceFor("rf", "binary", 16);
    expect(start(rf)).toMatchObject({ nTrees: 4, maxDepth: 6, maxFeatures: 0.25, minSamplesLeaf: 1 });
    expect(costUnits("rf", start(rf), 1000, 16)).toBeLessThan(
      costUnits("rf", { nTrees: 100, maxDepth: 32, maxFeatures: 1 }, 1000, 16),
    );
    expect(start(spaceFor("rf", "regression", 16))).toMatchObject({ maxFeatures: 1 });
    expect(start(spaceFor("linear", "binary", 4))).toEqual({ C: 1, penalty: "l2", maxIterations: 300 });
    expect(start(spaceFor("linear", "regression", 4))).toMatchObject({ alpha: 1e-4, penalty: "l2" });
    // scikit-learn-style multinomial fits take the L2 penalty only.
    expect(start(spaceFor("linear", "multiclass", 4))).toEqual({ C: 1, penalty: "l2", maxIterations: 300 });
  });

  it("maps a categorical dimension onto equal intervals and keeps l1Ratio only for the elastic net", () => {
    const space = spaceFor("linear", "binary", 4);
    const penalty = space.dimensions.find((d) => d.name === "penalty");
    if (!penalty) throw new Error("penalty dimension missing");
    expect([0, 0.34, 0.99].map((u) => fromUnit(penalty, u))).toEqual(["l2", "l1", "elasticnet"]);
    expect(fromUnit(penalty, toUnit(penalty, "l1"))).toBe("l1");
    expect(paramsOf(space, [0.5, 0.9, 0.5])).toMatchObject({ penalty: "elasticnet", l1Ratio: 0.5 });
    expect(paramsOf(space, [0.5, 0.1, 0.5])).not.toHaveProperty("l1Ratio");
  });
});

/** Best at 300 rounds and learning rate 0.05: far from where the search starts. */
function bowl(p: LearnerParams): number {
  return Math.log(num(p, "nRounds") / 300) ** 2 + Math.log(num(p, "learningRate") / 0.05) ** 2;
}

function walk(searcher: Searcher, steps: number, batch = 1): number[] {
  const losses: number[] = [];
  while (losses.length < steps) {
    const proposals = Array.from({ length: batch }, () => searcher.propose());
    for (const p of proposals) {
      const loss = bowl(p.params);
      losses.push(loss);
      searcher.report(p, loss);
    }
  }
  return losses;
}

describe("local searcher (CFO)", () => {
  it("descends a smooth loss from the low-cost start and is reproducible", () => {
    const run = (): number[] => walk(createLocalSearcher(GBDT, createRng(3)), 60);
    const losses = run();
    expect(Math.min(...losses.slice(40))).toBeLessThan((losses[0] as number) / 4);
    expect(run()).toEqual(losses);
  });

  it("proposes both sides of a direction in one batch and still descends", () => {
    // A space without seed configurations, so the second and third proposals are moves.
    const searcher = createLocalSearcher(spaceFor("gbdt-leafwise", "binary", 8), createRng(5));
    const first = searcher.propose();
    searcher.report(first, bowl(first.params));
    const [plus, minus] = [searcher.propose(), searcher.propose()];
    const incumbent = searcher.incumbent?.point ?? [];
    // x + s·u and x − s·u are mirror images around the incumbent (where no bound clips them).
    plus?.point.forEach((x, i) => {
      const m = minus?.point[i] as number;
      if (x > 0 && x < 1 && m > 0 && m < 1) expect(x + m).toBeCloseTo(2 * (incumbent[i] as number), 9);
    });
    const losses = walk(createLocalSearcher(GBDT, createRng(3)), 60, 2);
    expect(Math.min(...losses.slice(40))).toBeLessThan((losses[0] as number) / 4);
  });
});

describe("TPE searcher", () => {
  // A 4-dimensional problem with a log-scale optimum, an integer and a categorical dimension.
  const space: LearnerSpace = {
    learner: "gbdt",
    fixed: {},
    seeds: [],
    dimensions: [
      { name: "rate", low: 1e-4, high: 1, log: true, integer: false, init: 0.5 },
      { name: "depth", low: 1, high: 16, log: false, integer: true, init: 1 },
      { name: "share", low: 0, high: 1, log: false, integer: false, init: 0.5 },
      { name: "kind", low: 0, high: 1, log: false, integer: false, init: "a", choices: ["a", "b", "c", "d"] },
    ],
  };
  const target = (p: LearnerParams): number =>
    Math.log10(num(p, "rate") / 0.003) ** 2 +
    ((num(p, "depth") - 11) / 4) ** 2 +
    (num(p, "share") - 0.2) ** 2 * 4 +
    (p.kind === "c" ? 0 : 1);
  const best = (searcher: Searcher, n: number): number => {
    let b = Infinity;
    for (let i = 0; i < n; i++) {
      const p = searcher.propose();
      const loss = target(p.params);
      b = Math.min(b, loss);
      searcher.report(p, loss);
    }
    return b;
  };
  const random = (seed: number, n: number): number => {
    const rng = createRng(seed);
    let b = Infinity;
    for (let i = 0; i < n; i++)
      b = Math.min(
        b,
        target(
          paramsOf(
            space,
            space.dimensions.map(() => rng.next()),
          ),
        ),
      );
    return b;
  };

  it("finds a known optimum better than random search with the same number of trials", () => {
    const seeds = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
    const tpe = seeds.map((s) => best(createTpeSearcher(space, createRng(s)), 60)).sort((a, b) => a - b);
    const rnd = seeds.map((s) => random(s + 100, 60)).sort((a, b) => a - b);
    const median = (xs: number[]): number => xs[Math.floor(xs.length / 2)] as number;
    expect(median(tpe)).toBeLessThan(median(rnd) / 2);
    // The categorical optimum is learned: good trials concentrate on "c".
    const s = createTpeSearcher(space, createRng(42));
    best(s, 60);
    const late = Array.from({ length: 20 }, () => s.propose().params.kind);
    expect(late.filter((k) => k === "c").length).toBeGreaterThan(10);
  });

  it("is reproducible for a seed and starts from the space's low-cost point", () => {
    const run = (): number[] => walk(createTpeSearcher(GBDT, createRng(8)), 30);
    const losses = run();
    expect(run()).toEqual(losses);
    const first = createTpeSearcher(GBDT, createRng(8)).propose();
    expect(first.params).toMatchObject({ nRounds: 4, maxDepth: 3 });
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
