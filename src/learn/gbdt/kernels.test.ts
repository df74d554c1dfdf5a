import { describe, expect, it } from "vitest";
import { frameFromColumns } from "../frame.ts";
import { createRng } from "../random.ts";
import { decodeForest } from "./forest.ts";
import { gbdt } from "./index.ts";
import { predictKernel } from "./kernels.ts";
import type { FlatForest } from "./types.ts";

/** The plain node-by-node walk the fast kernel must agree with. */
function reference(f: FlatForest, columns: Float64Array[], n: number): Float64Array {
  const out = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    for (const root of f.roots) {
      let node = root;
      while ((f.feature[node] as number) >= 0) {
        const v = (columns[f.feature[node] as number] as Float64Array)[r] as number;
        const goLeft = Number.isNaN(v) ? f.defaultLeft[node] === 1 : v <= (f.threshold[node] as number);
        node = goLeft ? (f.left[node] as number) : (f.right[node] as number);
      }
      out[r] = (out[r] as number) + (f.value[node] as number);
    }
  }
  return out;
}

describe("prediction kernel", () => {
  it("gives the plain tree walk's scores on uneven trees with missing values", () => {
    const rng = createRng(8);
    const n = 3001; // not a multiple of the 4-row groups or the block size
    const x = Array.from({ length: 5 }, () =>
      Float64Array.from({ length: n }, () => (rng.next() < 0.15 ? NaN : rng.next())),
    );
    const y = Float64Array.from({ length: n }, (_, i) => (x[0]![i]! > 0.5 !== x[1]![i]! > 0.3 ? 1 : 0));
    const frame = frameFromColumns({ ...Object.fromEntries(x.map((c, j) => [`x${j}`, c])), y });
    // Few rows per leaf and gamma make trees of uneven depth, so padding of early leaves is exercised.
    const model = gbdt({
      objective: "binary",
      nRounds: 20,
      maxDepth: 5,
      gamma: 2,
      learningRate: 0.3,
      nThreads: 1,
    }).fit(frame, "y");
    const forest = decodeForest(model.toJSON().forest);
    const walk = forest.feature.map((f) => f);
    const raw = new Float64Array(n);
    const { threshold, categories, categoryBits, left, right, defaultLeft, value, roots } = forest;
    predictKernel(
      walk,
      threshold,
      categories,
      categoryBits,
      left,
      right,
      defaultLeft,
      value,
      roots,
      x,
      1,
      raw,
      0,
      n,
      0,
    );
    const expected = reference(forest, x, n);
    for (let r = 0; r < n; r++) expect(raw[r]).toBeCloseTo(expected[r] as number, 12);
  });
});
