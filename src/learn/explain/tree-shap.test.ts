import { describe, expect, it } from "vitest";
import { createRng, type Rng } from "../random.ts";
import { countCovers } from "./covers.ts";
import { explainTrees } from "./explain.ts";
import { childFor, type TreeArrays } from "./tree-shap.ts";

type Forest = TreeArrays & { cover: Float64Array; gain: Float64Array };

/** A random forest of small trees over `nFeatures` features; features repeat along paths on purpose. */
function randomForest(rng: Rng, nTrees: number, nFeatures: number, maxDepth: number): Forest {
  const feature: number[] = [];
  const threshold: number[] = [];
  const categories: number[] = [];
  const categoryBits: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const defaultLeft: number[] = [];
  const value: number[] = [];
  const cover: number[] = [];
  const roots: number[] = [];
  // Node ids are assigned so that the right child is always left + 1, like learn/gbdt's layout.
  const grow = (id: number, depth: number): void => {
    const isLeaf = depth >= maxDepth || (depth > 0 && rng.next() < 0.25);
    cover[id] = 1 + rng.int(50);
    if (isLeaf) {
      value[id] = rng.next() * 4 - 2;
      return;
    }
    const f = rng.int(nFeatures);
    feature[id] = f;
    // Feature 3 is categorical: a set over codes 0..5.
    if (f === 3) {
      categories[id] = categoryBits.length;
      categoryBits.push(rng.int(64), 0, 0, 0, 0, 0, 0, 0);
    } else threshold[id] = rng.next();
    defaultLeft[id] = rng.next() < 0.5 ? 1 : 0;
    const l = feature.length;
    for (const a of [feature, threshold, categories, left, right, defaultLeft, value, cover]) a.push(0, 0);
    feature[l] = -1;
    feature[l + 1] = -1;
    categories[l] = -1;
    categories[l + 1] = -1;
    left[id] = l;
    right[id] = l + 1;
    grow(l, depth + 1);
    grow(l + 1, depth + 1);
  };
  for (let t = 0; t < nTrees; t++) {
    const root = feature.length;
    roots.push(root);
    feature.push(-1);
    threshold.push(0);
    categories.push(-1);
    left.push(-1);
    right.push(-1);
    defaultLeft.push(0);
    value.push(0);
    cover.push(0);
    grow(root, 0);
  }
  return {
    feature: Int32Array.from(feature),
    threshold: Float64Array.from(threshold),
    categories: Int32Array.from(categories),
    categoryBits: Int32Array.from(categoryBits),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    defaultLeft: Uint8Array.from(defaultLeft),
    value: Float64Array.from(value),
    cover: Float64Array.from(cover),
    gain: new Float64Array(feature.length),
    roots: Int32Array.from(roots),
  };
}

/** v(S): the tree's expected output when the features in S are known and the others follow the covers. */
function conditional(t: Forest, node: number, x: Float64Array, known: number): number {
  const f = t.feature[node] as number;
  if (f < 0) return t.value[node] as number;
  if (known & (1 << f)) return conditional(t, childFor(t, node, x[f] as number), x, known);
  const l = t.left[node] as number;
  const r = t.right[node] as number;
  const total = (t.cover[l] as number) + (t.cover[r] as number);
  return (
    ((t.cover[l] as number) / total) * conditional(t, l, x, known) +
    ((t.cover[r] as number) / total) * conditional(t, r, x, known)
  );
}

/** Shapley values by enumerating every subset of features (2^M games). */
function bruteForceShapley(t: Forest, x: Float64Array, nFeatures: number): Float64Array {
  const phi = new Float64Array(nFeatures);
  const fact = (n: number): number => (n <= 1 ? 1 : n * fact(n - 1));
  const v = (known: number): number => {
    let sum = 0;
    for (const root of t.roots) sum += conditional(t, root, x, known);
    return sum;
  };
  for (let i = 0; i < nFeatures; i++) {
    for (let s = 0; s < 1 << nFeatures; s++) {
      if (s & (1 << i)) continue;
      let size = 0;
      for (let b = 0; b < nFeatures; b++) if (s & (1 << b)) size++;
      const weight = (fact(size) * fact(nFeatures - size - 1)) / fact(nFeatures);
      phi[i] = (phi[i] as number) + weight * (v(s | (1 << i)) - v(s));
    }
  }
  return phi;
}

const view = (forest: Forest, nFeatures: number) => ({
  forest,
  features: Array.from({ length: nFeatures }, (_, f) =>
    f === 3
      ? { name: `x${f}`, kind: "categorical" as const, dictionary: ["a", "b", "c", "d", "e", "f"] }
      : { name: `x${f}`, kind: "numeric" as const },
  ),
  nOutputs: 1,
  baseScore: [0.5],
});

function frameOf(rows: Float64Array[], nFeatures: number) {
  return {
    nRows: rows.length,
    columns: Array.from({ length: nFeatures }, (_, f) =>
      f === 3
        ? {
            kind: "categorical" as const,
            name: `x${f}`,
            codes: Int32Array.from(rows, (x) => (Number.isNaN(x[f]) ? -1 : (x[f] as number))),
            dictionary: ["a", "b", "c", "d", "e", "f"],
          }
        : { kind: "numeric" as const, name: `x${f}`, values: Float64Array.from(rows, (x) => x[f] as number) },
    ),
  };
}

describe("TreeSHAP", () => {
  it("equals brute-force Shapley values on random tiny trees, with repeated features, NaNs and category sets", () => {
    const rng = createRng(7);
    const nFeatures = 5;
    for (let trial = 0; trial < 40; trial++) {
      const forest = randomForest(rng, 1 + rng.int(3), nFeatures, 1 + rng.int(5));
      const rows = Array.from({ length: 6 }, () =>
        Float64Array.from({ length: nFeatures }, (_, f) =>
          rng.next() < 0.15 ? NaN : f === 3 ? rng.int(6) : rng.next(),
        ),
      );
      const e = explainTrees({}, view(forest, nFeatures), frameOf(rows, nFeatures));
      rows.forEach((x, r) => {
        const expected = bruteForceShapley(forest, x, nFeatures);
        for (let f = 0; f < nFeatures; f++) {
          expect(e.contributions[r * nFeatures + f]).toBeCloseTo(expected[f] as number, 10);
        }
      });
    }
  });

  it("gives zero to features the trees never split on and is exactly additive", () => {
    const rng = createRng(11);
    const forest = randomForest(rng, 4, 3, 4);
    const rows = Array.from({ length: 20 }, () => Float64Array.from({ length: 5 }, () => rng.next()));
    const e = explainTrees({}, view(forest, 5), frameOf(rows, 5));
    rows.forEach((x, r) => {
      let margin = 0.5;
      for (const root of forest.roots) {
        let node = root;
        while ((forest.feature[node] as number) >= 0)
          node = childFor(forest, node, x[forest.feature[node] as number] as number);
        margin += forest.value[node] as number;
      }
      let sum = e.expectedValue[0] as number;
      for (let f = 0; f < 5; f++) sum += e.contributions[r * 5 + f] as number;
      expect(Math.abs(sum - margin)).toBeLessThan(1e-9);
      expect(e.contributions[r * 5 + 3]).toBe(0);
      expect(e.contributions[r * 5 + 4]).toBe(0);
    });
  });

  it("counts covers from reference rows: the root sees every row and children add up", () => {
    const rng = createRng(3);
    const forest = randomForest(rng, 2, 3, 3);
    const columns = [0, 1, 2].map(() => Float64Array.from({ length: 100 }, () => rng.next()));
    const cover = countCovers(forest, columns, 100);
    for (const root of forest.roots) expect(cover[root]).toBe(100);
    for (let n = 0; n < forest.feature.length; n++) {
      if ((forest.feature[n] as number) >= 0) {
        expect(
          (cover[forest.left[n] as number] as number) + (cover[forest.right[n] as number] as number),
        ).toBe(cover[n]);
      }
    }
  });
});
