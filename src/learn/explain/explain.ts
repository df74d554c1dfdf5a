// Per-prediction explanations for tree ensembles: exact TreeSHAP contributions on the raw (margin) scale.
import { LoopmlError } from "../../errors.ts";
import type { Frame } from "../frame.ts";
import { featureColumns } from "../gbdt/model.ts";
import type { FeatureSpec } from "../gbdt/types.ts";
import { countCovers } from "./covers.ts";
import {
  childFractions,
  ShapWorkspace,
  treeDepth,
  treeExpectation,
  treeShap,
  type TreeArrays,
} from "./tree-shap.ts";

/**
 * SHAP values of a batch: for every row r, feature f and output k, `contributions[(r * nFeatures + f) *
 * outputs + k]`; summed over features and added to `expectedValue[k]` they give the model's raw margin.
 */
export interface Explanation {
  featureNames: string[];
  /** The model's mean raw output under the reference distribution (node covers), per output. */
  expectedValue: Float64Array;
  /** Row-major rows × features × outputs, raw (margin) scale. */
  contributions: Float64Array;
  outputs: number;
}

export interface ExplainOptions {
  /**
   * Reference rows (typically the training data) whose counts per node serve as covers when the model
   * carries none. Without it, and without stored covers, the explained frame itself is the reference,
   * which is only meaningful for a batch of many rows.
   */
  readonly background?: Frame;
  /** Explicit node covers, one per node of the forest. */
  readonly covers?: Float64Array;
}

/** What any tree learner hands the explainer (learn/gbdt's state is one). */
export interface TreeModelView {
  readonly forest: TreeArrays & { readonly cover?: Float64Array };
  readonly features: readonly FeatureSpec[];
  readonly nOutputs: number;
  readonly baseScore: readonly number[];
  /** Factor applied to every leaf (a random forest averages: 1 / trees per output); 1 by default. */
  readonly leafScale?: number;
}

/** Covers attached to a loaded model (e.g. restored from its serialized envelope), by model object. */
const attachedCovers = new WeakMap<object, Float64Array>();
/** Fractions and expected values per covers array, so that serving pays for them once per model. */
const prepared = new WeakMap<Float64Array, { fraction: Float64Array; expected: Float64Array }>();

/** Remembers node covers for a model so that later `explain` calls use them. */
export function attachCovers(model: object, covers: Float64Array): void {
  attachedCovers.set(model, covers);
}

/** The covers attached to a model with `attachCovers`, if any. */
export function attachedCoversOf(model: object): Float64Array | undefined {
  return attachedCovers.get(model);
}

/**
 * Exact TreeSHAP for every row of `frame`.
 *
 * @param owner the model object, under which `attachCovers` may have stored covers
 * @example
 * const e = explainTrees(model, view, testFrame, { background: trainFrame });
 * // e.contributions[(row * e.featureNames.length + f) * e.outputs + k]
 */
export function explainTrees(
  owner: object,
  view: TreeModelView,
  frame: Frame,
  options: ExplainOptions = {},
): Explanation {
  const { forest, features, nOutputs, baseScore } = view;
  const nFeatures = features.length;
  const nNodes = forest.feature.length;
  const columns = featureColumns(frame, features, "explain");
  // Most specific first: covers or reference rows given to this call, covers attached to the model, the
  // training hessian sums the model recorded, and only then the explained rows themselves.
  const background = options.background;
  const covers =
    options.covers ??
    (background
      ? countCovers(forest, featureColumns(background, features, "explain background"), background.nRows)
      : undefined) ??
    attachedCovers.get(owner) ??
    forest.cover ??
    countCovers(forest, columns, frame.nRows);
  if (covers.length !== nNodes) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `explain: ${covers.length} node covers given for a forest of ${nNodes} nodes; pass one cover per node.`,
    );
  }
  const { fraction, expected } = prepare(view, covers);
  const scale = view.leafScale ?? 1;
  const n = frame.nRows;
  const contributions = new Float64Array(n * nFeatures * nOutputs);
  const row = new Float64Array(nFeatures);
  let maxDepth = 0;
  for (const root of forest.roots) maxDepth = Math.max(maxDepth, treeDepth(forest, root));
  const ws = new ShapWorkspace(maxDepth);
  const phi = new Float64Array(nFeatures * nOutputs);
  for (let r = 0; r < n; r++) {
    for (let f = 0; f < nFeatures; f++) row[f] = (columns[f] as Float64Array)[r] as number;
    phi.fill(0);
    for (let t = 0; t < forest.roots.length; t++) {
      treeShap(forest, fraction, forest.roots[t] as number, row, ws, phi, nOutputs, t % nOutputs);
    }
    const base = r * nFeatures * nOutputs;
    for (let i = 0; i < phi.length; i++) contributions[base + i] = (phi[i] as number) * scale;
  }
  const expectedValue = new Float64Array(nOutputs);
  for (let k = 0; k < nOutputs; k++) expectedValue[k] = (baseScore[k] ?? 0) + (expected[k] as number) * scale;
  return { featureNames: features.map((f) => f.name), expectedValue, contributions, outputs: nOutputs };
}

function prepare(
  view: TreeModelView,
  covers: Float64Array,
): { fraction: Float64Array; expected: Float64Array } {
  const cached = prepared.get(covers);
  if (cached) return cached;
  const { forest, nOutputs } = view;
  const fraction = childFractions(forest, covers);
  const expected = new Float64Array(nOutputs);
  for (let t = 0; t < forest.roots.length; t++) {
    const k = t % nOutputs;
    expected[k] = (expected[k] as number) + treeExpectation(forest, fraction, forest.roots[t] as number);
  }
  const result = { fraction, expected };
  prepared.set(covers, result);
  return result;
}
