// Reads a model saved by XGBoost's save_model("m.json") into flat typed arrays, checking every index it will follow.
import { LoopmlError } from "../../../errors.ts";

/** How the summed margin becomes a prediction. */
export type Link = "identity" | "logistic" | "exp" | "softmax";

/**
 * All trees in parallel arrays, one entry per node, child indices absolute. A node with left -1 is a
 * leaf whose value sits in `cond` (XGBoost stores leaf values in split_conditions; base_weights holds
 * the weight before shrinkage, so it is not the leaf value).
 */
export interface XgbForest {
  readonly feature: Int32Array;
  /** Split threshold (row goes left when value < cond), or the leaf value; float32 as in XGBoost. */
  readonly cond: Float32Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  /** Child taken by a missing value: left or right per default_left. */
  readonly missing: Int32Array;
  readonly roots: Int32Array;
  /** Output group (class) of each tree. */
  readonly group: Int32Array;
}

export interface XgbModel {
  readonly objective: string;
  readonly link: Link;
  readonly nFeatures: number;
  readonly nGroups: number;
  readonly featureNames: readonly string[];
  /** Starting margin of every output, float32 like XGBoost's prediction buffer. */
  readonly baseMargin: number;
  readonly forest: XgbForest;
}

const LINKS: Readonly<Record<string, Link>> = {
  "reg:squarederror": "identity",
  "reg:linear": "identity",
  "reg:squaredlogerror": "identity",
  "reg:pseudohubererror": "identity",
  "reg:absoluteerror": "identity",
  "binary:logistic": "logistic",
  "reg:logistic": "logistic",
  "count:poisson": "exp",
  "reg:gamma": "exp",
  "reg:tweedie": "exp",
  "multi:softprob": "softmax",
  "multi:softmax": "softmax",
};

type Json = Record<string, unknown>;

/**
 * Parses XGBoost's JSON model (gbtree booster, numerical splits).
 *
 * @example
 * const model = parseXgboostJson(await readFile("m.json", "utf8"));
 */
export function parseXgboostJson(text: unknown): XgbModel {
  let doc: unknown = text;
  if (typeof text === "string") {
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw invalid(`the file is not valid JSON (${(e as Error).message})`);
    }
  }
  const learner = obj(obj(doc, "document").learner, "learner");
  const param = obj(learner.learner_model_param, "learner.learner_model_param");
  const objective = String(obj(learner.objective, "learner.objective").name);
  const link = LINKS[objective];
  if (link === undefined) {
    throw invalid(`objective "${objective}" is not supported; supported: ${Object.keys(LINKS).join(", ")}`);
  }
  const booster = obj(learner.gradient_booster, "learner.gradient_booster");
  if (booster.name !== "gbtree") {
    throw invalid(
      `booster "${String(booster.name)}" is not supported; retrain with booster="gbtree" (dart and gblinear are not served)`,
    );
  }
  const model = obj(booster.model, "gradient_booster.model");
  const nFeatures = toInt(param.num_feature, "num_feature");
  const numClass = toInt(param.num_class ?? "0", "num_class");
  const nGroups = link === "softmax" ? Math.max(numClass, 1) : 1;
  const baseScore = parseBaseScore(param.base_score);
  const trees = model.trees;
  const treeInfo = model.tree_info;
  if (!Array.isArray(trees) || !Array.isArray(treeInfo) || treeInfo.length !== trees.length) {
    throw invalid("gradient_booster.model needs trees and a tree_info of the same length");
  }
  const names = Array.isArray(learner.feature_names) ? (learner.feature_names as unknown[]) : [];
  const featureNames =
    names.length === nFeatures ? names.map(String) : Array.from({ length: nFeatures }, (_, i) => `f${i}`);
  return {
    objective,
    link,
    nFeatures,
    nGroups,
    featureNames,
    baseMargin: baseMarginOf(link, baseScore),
    forest: flatten(trees as unknown[], treeInfo as unknown[], nFeatures, nGroups),
  };
}

/** XGBoost keeps base_score in output space and turns it into a margin with the objective's inverse link, in float32. */
function baseMarginOf(link: Link, baseScore: number): number {
  const f = Math.fround;
  const b = f(baseScore);
  if (link === "logistic") {
    if (!(b > 0 && b < 1))
      throw invalid(`base_score ${baseScore} must lie in (0, 1) for a logistic objective`);
    return f(-f(Math.log(f(f(1 / b) - 1))));
  }
  if (link === "exp") {
    if (!(b > 0)) throw invalid(`base_score ${baseScore} must be positive for a log-link objective`);
    return f(Math.log(b));
  }
  return b;
}

function parseBaseScore(raw: unknown): number {
  // XGBoost 3.1 writes a vector such as "[5E-1]"; older versions a scalar string.
  let v: unknown = raw;
  if (typeof raw === "string") v = raw.trim().startsWith("[") ? (JSON.parse(raw) as unknown) : Number(raw);
  if (Array.isArray(v)) {
    if (v.length !== 1) throw invalid(`base_score ${String(raw)} has several values; only one is supported`);
    v = Number(v[0]);
  }
  if (typeof v !== "number" || !Number.isFinite(v))
    throw invalid(`base_score ${String(raw)} is not a number`);
  return v;
}

function flatten(trees: unknown[], treeInfo: unknown[], nFeatures: number, nGroups: number): XgbForest {
  let total = 0;
  const parsed = trees.map((t, i) => {
    const tree = obj(t, `trees[${i}]`);
    const left = intArray(tree.left_children, i, "left_children");
    const n = left.length;
    const right = intArray(tree.right_children, i, "right_children");
    const feature = intArray(tree.split_indices, i, "split_indices");
    const cond = numArray(tree.split_conditions, i, "split_conditions");
    const defaultLeft = intArray(tree.default_left, i, "default_left");
    const splitType = Array.isArray(tree.split_type) ? intArray(tree.split_type, i, "split_type") : [];
    if ([right, feature, cond, defaultLeft].some((a) => a.length !== n) || n === 0) {
      throw invalid(`tree ${i} has node arrays of different lengths (or no node)`);
    }
    if (splitType.some((s) => s !== 0)) {
      throw invalid(
        `tree ${i} has categorical splits, which are not supported; one-hot encode the categories`,
      );
    }
    total += n;
    return { left, right, feature, cond, defaultLeft };
  });
  const forest: XgbForest = {
    feature: new Int32Array(total),
    cond: new Float32Array(total),
    left: new Int32Array(total),
    right: new Int32Array(total),
    missing: new Int32Array(total),
    roots: new Int32Array(trees.length),
    group: new Int32Array(trees.length),
  };
  let offset = 0;
  parsed.forEach((t, i) => {
    const g = Number(treeInfo[i]);
    if (!Number.isInteger(g) || g < 0 || g >= nGroups)
      throw invalid(`tree_info[${i}] = ${String(g)} is not a class index`);
    forest.roots[i] = offset;
    forest.group[i] = g;
    const n = t.left.length;
    for (let j = 0; j < n; j++) {
      const l = t.left[j] as number;
      const r = t.right[j] as number;
      const at = offset + j;
      forest.cond[at] = t.cond[j] as number;
      if (l === -1) {
        forest.left[at] = -1;
        forest.right[at] = -1;
        forest.missing[at] = -1;
        forest.feature[at] = 0;
        continue;
      }
      const f = t.feature[j] as number;
      // Children always come after their parent in XGBoost's node order; requiring it makes every walk end.
      if (l <= j || r <= j || l >= n || r >= n)
        throw invalid(`tree ${i} node ${j} has children outside the tree`);
      if (f < 0 || f >= nFeatures)
        throw invalid(`tree ${i} node ${j} splits on feature ${f} of ${nFeatures}`);
      forest.feature[at] = f;
      forest.left[at] = l + offset;
      forest.right[at] = r + offset;
      forest.missing[at] = (t.defaultLeft[j] as number) !== 0 ? l + offset : r + offset;
    }
    offset += n;
  });
  return forest;
}

function obj(v: unknown, what: string): Json {
  if (v === null || typeof v !== "object" || Array.isArray(v))
    throw invalid(`${what} is missing or not an object`);
  return v as Json;
}

function toInt(v: unknown, what: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw invalid(`${what} ${String(v)} is not a count`);
  return n;
}

function intArray(v: unknown, tree: number, what: string): number[] {
  const a = numbers(v, tree, what);
  if (a.some((x) => !Number.isInteger(x))) throw invalid(`tree ${tree} ${what} holds a non-integer`);
  return a;
}

function numArray(v: unknown, tree: number, what: string): number[] {
  const a = numbers(v, tree, what);
  if (a.some((x) => !Number.isFinite(x))) throw invalid(`tree ${tree} ${what} holds a non-number`);
  return a;
}

function numbers(v: unknown, tree: number, what: string): number[] {
  if (!Array.isArray(v)) throw invalid(`tree ${tree} has no ${what} array`);
  return v.map((x) => (typeof x === "boolean" ? Number(x) : typeof x === "number" ? x : NaN));
}

function invalid(problem: string): LoopmlError {
  return new LoopmlError("INVALID_ARGUMENT", `Not a usable XGBoost JSON model: ${problem}.`);
}
