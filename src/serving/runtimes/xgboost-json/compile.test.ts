// Compiled trees must give exactly the interpreter's float32 margins, missing values and split ties included.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileForest } from "./compile.ts";
import { parseXgboostJson, type XgbModel } from "./parse.ts";

const FIXTURES = join(import.meta.dirname, "..", "..", "fixtures");

function margins(model: XgbModel, rows: Float64Array, nRows: number, maxNodes: number): Float64Array {
  const trees = compileForest(model.forest, model.nGroups, maxNodes);
  const block = Float32Array.from(rows);
  const out = new Float64Array(nRows * model.nGroups).fill(model.baseMargin);
  for (const tree of trees) tree(block, nRows, model.nFeatures, out, 0);
  return out;
}

/** Rows that hit every threshold exactly, just below it, missing, and random values. */
function probeRows(model: XgbModel, nRows: number): Float64Array {
  const { cond, left, feature } = model.forest;
  const splits: [number, number][] = [];
  for (let n = 0; n < left.length; n++) {
    if ((left[n] as number) >= 0) splits.push([feature[n] as number, cond[n] as number]);
  }
  let seed = 42;
  const random = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const rows = new Float64Array(nRows * model.nFeatures);
  for (let i = 0; i < rows.length; i++) {
    const [, c] = splits[Math.floor(Math.abs(random()) * splits.length)] ?? [0, 0];
    const kind = i % 4;
    rows[i] = kind === 0 ? c : kind === 1 ? Math.fround(c - 1e-6) : kind === 2 ? NaN : random() * 3;
  }
  return rows;
}

describe("compiled XGBoost trees", () => {
  it.each(["binary", "regression", "multiclass", "poisson"])(
    "%s: compiled, interpreted and mixed trees agree bit for bit",
    (kind) => {
      const model = parseXgboostJson(readFileSync(join(FIXTURES, `xgb-${kind}`, "m.json"), "utf8"));
      const nRows = 500;
      const rows = probeRows(model, nRows);
      const interpreted = margins(model, rows, nRows, 0);
      const compiled = margins(model, rows, nRows, Number.MAX_SAFE_INTEGER);
      // A limit between the smallest and largest tree compiles some trees and walks the others.
      const sizes = Array.from(
        model.forest.roots,
        (r, t) =>
          (t + 1 < model.forest.roots.length
            ? (model.forest.roots[t + 1] as number)
            : model.forest.left.length) - r,
      );
      const mixed = margins(model, rows, nRows, (Math.min(...sizes) + Math.max(...sizes)) / 2);
      expect(Array.from(compiled)).toEqual(Array.from(interpreted));
      expect(Array.from(mixed)).toEqual(Array.from(interpreted));
      expect(interpreted.some((v) => v !== model.baseMargin)).toBe(true);
    },
  );
});
