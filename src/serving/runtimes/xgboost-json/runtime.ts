// The xgboost-json runtime: XGBoost models predicted in TypeScript with XGBoost's float32 arithmetic, so results match it.
import { LoopmlError } from "../../../errors.ts";
import type { Batch, ModelRuntime, ModelSignature, PredictResult } from "../../types.ts";
import { compileForest, type TreeFn } from "./compile.ts";
import { parseXgboostJson, type XgbModel } from "./parse.ts";

const f32 = Math.fround;
/** Rows per block: 64 rows of a few dozen features stay in L1 while each tree runs over them. */
const BLOCK_ROWS = 64;

export class XgboostJsonRuntime implements ModelRuntime {
  readonly kind = "xgboost-json";
  readonly signature: ModelSignature;
  /** A block of rows' features, float32 like XGBoost's DMatrix, reused across calls (prediction is synchronous). */
  private readonly block: Float32Array;
  private readonly trees: readonly TreeFn[];

  constructor(readonly model: XgbModel) {
    this.block = new Float32Array(BLOCK_ROWS * model.nFeatures);
    this.trees = compileForest(model.forest, model.nGroups);
    const { link, nGroups } = model;
    this.signature = {
      inputs: model.featureNames.map((name) => ({ name, type: "double", nullable: true })),
      task: link === "logistic" ? "binary" : link === "softmax" ? "multiclass" : "regression",
      nClasses: link === "logistic" ? 2 : link === "softmax" ? nGroups : 1,
    };
  }

  /**
   * Summed margins, nRows x nGroups row-major, accumulated in float32 in tree order as XGBoost does.
   * Rows go in blocks, trees in the outer loop: one tree's code stays hot while the block's rows
   * walk it (the order of additions per row, and so the float32 result, is unchanged).
   */
  predictMargins(batch: Batch): Float64Array {
    const { nFeatures, nGroups, baseMargin } = this.model;
    const values = batch.values;
    const nRows = batch.nRows;
    if (values.length !== nRows * nFeatures) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `The model needs ${nFeatures} features per row but the batch holds ${values.length} values for ${nRows} rows.`,
      );
    }
    const out = new Float64Array(nRows * nGroups).fill(baseMargin);
    const block = this.block;
    const trees = this.trees;
    for (let start = 0; start < nRows; start += BLOCK_ROWS) {
      const size = Math.min(BLOCK_ROWS, nRows - start);
      // Float32Array stores round like XGBoost's float32 DMatrix, so thresholds compare the same way.
      block.set(values.subarray(start * nFeatures, (start + size) * nFeatures));
      for (const tree of trees) tree(block, size, nFeatures, out, start);
    }
    return out;
  }

  predict(batch: Batch): PredictResult {
    const { link, nGroups } = this.model;
    const margins = this.predictMargins(batch);
    const n = batch.nRows;
    if (link === "identity") return { predictions: margins };
    if (link === "exp") {
      for (let i = 0; i < margins.length; i++) margins[i] = f32(Math.exp(margins[i] as number));
      return { predictions: margins };
    }
    if (link === "logistic") {
      const probabilities = new Float64Array(2 * n);
      const predictions = new Float64Array(n);
      for (let r = 0; r < n; r++) {
        const p = f32(1 / f32(1 + f32(Math.exp(-(margins[r] as number)))));
        probabilities[2 * r] = 1 - p;
        probabilities[2 * r + 1] = p;
        predictions[r] = p >= 0.5 ? 1 : 0;
      }
      return { predictions, probabilities };
    }
    const predictions = new Float64Array(n);
    for (let r = 0; r < n; r++) {
      const base = r * nGroups;
      let max = -Infinity;
      let best = 0;
      for (let k = 0; k < nGroups; k++) {
        const m = margins[base + k] as number;
        if (m > max) {
          max = m;
          best = k;
        }
      }
      let sum = 0;
      for (let k = 0; k < nGroups; k++) {
        const e = f32(Math.exp(f32((margins[base + k] as number) - max)));
        margins[base + k] = e;
        sum += e;
      }
      const s = f32(sum);
      for (let k = 0; k < nGroups; k++) margins[base + k] = f32((margins[base + k] as number) / s);
      predictions[r] = best;
    }
    return { predictions, probabilities: margins };
  }
}

/** Loads XGBoost's JSON model text (or its parsed document). */
export function createXgboostJsonRuntime(json: unknown): XgboostJsonRuntime {
  return new XgboostJsonRuntime(parseXgboostJson(json));
}
