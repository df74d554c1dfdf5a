// A trained random forest / extra-trees ensemble: batch prediction, importance and versioned JSON.
import { LoopmlError } from "../../errors.ts";
import { explainForest } from "../explain/forest.ts";
import type { ExplainOptions, Explanation } from "../explain/explain.ts";
import type { Frame } from "../frame.ts";
import { featureColumns } from "../gbdt/model.ts";
import { defaultThreads, rowThreads, runOnRows, toShared } from "../gbdt/thread-pool.ts";
import type { FeatureSpec } from "../gbdt/types.ts";

export type ForestTask = "regression" | "binary" | "multiclass";

/** All trees in parallel node arrays; a node with feature -1 is a leaf, the right child is left + 1. */
export interface ForestNodes {
  readonly feature: Int32Array;
  /** A row goes left when value <= threshold; a missing value goes left when defaultLeft is 1. */
  readonly threshold: Float64Array;
  readonly defaultLeft: Uint8Array;
  readonly left: Int32Array;
  /** nOutputs values per node: P(class 1) for binary, class probabilities, or the mean target. */
  readonly value: Float64Array;
  readonly gain: Float64Array;
  readonly roots: Int32Array;
}

export interface ForestModelJson {
  readonly format: "loopml-forest";
  readonly version: 1;
  readonly kind: "random-forest" | "extra-trees";
  readonly task: ForestTask;
  readonly label: string;
  readonly nClasses: number;
  readonly features: readonly FeatureSpec[];
  readonly nodes: { readonly [K in keyof ForestNodes]: string };
}

export class ForestModel {
  private sharedNodes: ForestNodes | null = null;

  constructor(
    readonly kind: "random-forest" | "extra-trees",
    readonly task: ForestTask,
    readonly label: string,
    /** Classes (2 for binary), 1 for regression. */
    readonly nClasses: number,
    readonly features: readonly FeatureSpec[],
    readonly nodes: ForestNodes,
  ) {}

  get nTrees(): number {
    return this.nodes.roots.length;
  }

  /** Values per leaf: 1 for regression and binary, the class count for multiclass. */
  get nOutputs(): number {
    return this.task === "multiclass" ? this.nClasses : 1;
  }

  /** Average over trees of the leaf values, n x nOutputs row-major; large batches use every core. */
  private average(frame: Frame): Float64Array {
    const columns = featureColumns(frame, this.features, "predict");
    const n = frame.nRows;
    const K = this.nOutputs;
    const threads = rowThreads(n, defaultThreads());
    const out = new Float64Array(threads > 1 ? new SharedArrayBuffer(8 * n * K) : new ArrayBuffer(8 * n * K));
    if (threads > 1) this.sharedNodes ??= shareNodes(this.nodes);
    const { feature, threshold, defaultLeft, left, value, roots } =
      threads > 1 && this.sharedNodes ? this.sharedNodes : this.nodes;
    runOnRows(columns, n, threads, (rows, from, to, columnsFrom) => ({
      kind: "forest",
      args: [feature, threshold, defaultLeft, left, value, roots, rows, K, out, from, to, columnsFrom],
    }));
    const nTrees = roots.length;
    const avg = threads > 1 ? new Float64Array(out) : out;
    for (let i = 0; i < avg.length; i++) avg[i] = (avg[i] as number) / nTrees;
    return avg;
  }

  /** The value (regression), P(class 1) (binary) or the most likely class index (multiclass) per row. */
  predict(frame: Frame): Float64Array {
    const avg = this.average(frame);
    if (this.task !== "multiclass") return avg;
    const K = this.nClasses;
    const out = new Float64Array(frame.nRows);
    for (let r = 0; r < out.length; r++) {
      let best = 0;
      for (let k = 1; k < K; k++) if ((avg[r * K + k] as number) > (avg[r * K + best] as number)) best = k;
      out[r] = best;
    }
    return out;
  }

  /** Class probabilities, n x classes row-major (two columns for binary). */
  predictProba(frame: Frame): Float64Array {
    if (this.task === "regression") {
      throw new LoopmlError(
        "FAILED_PRECONDITION",
        "predictProba needs a classifier; this forest is a regression.",
      );
    }
    const avg = this.average(frame);
    if (this.task === "multiclass") return avg;
    const out = new Float64Array(avg.length * 2);
    for (let r = 0; r < avg.length; r++) {
      out[2 * r] = 1 - (avg[r] as number);
      out[2 * r + 1] = avg[r] as number;
    }
    return out;
  }

  /**
   * Exact TreeSHAP contributions per row, feature and output on the probability / value scale
   * (learn/explain).
   *
   * @example
   * const e = model.explain(testFrame, { background: trainFrame });
   */
  explain(frame: Frame, options?: ExplainOptions): Explanation {
    return explainForest(this, frame, options);
  }

  /** Total weighted impurity decrease per feature, normalised to sum to 1 (scikit-learn's feature_importances_). */
  featureImportance(): Record<string, number> {
    const totals = new Float64Array(this.features.length);
    const { feature, gain } = this.nodes;
    for (let i = 0; i < feature.length; i++) {
      const f = feature[i] as number;
      if (f >= 0) totals[f] = (totals[f] as number) + (gain[i] as number);
    }
    const sum = totals.reduce((a, b) => a + b, 0) || 1;
    return Object.fromEntries(this.features.map((s, f) => [s.name, (totals[f] as number) / sum]));
  }

  toJSON(): ForestModelJson {
    const enc = (a: ArrayBufferView): string =>
      Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");
    const n = this.nodes;
    return {
      format: "loopml-forest",
      version: 1,
      kind: this.kind,
      task: this.task,
      label: this.label,
      nClasses: this.nClasses,
      features: this.features,
      nodes: {
        feature: enc(n.feature),
        threshold: enc(n.threshold),
        defaultLeft: enc(n.defaultLeft),
        left: enc(n.left),
        value: enc(n.value),
        gain: enc(n.gain),
        roots: enc(n.roots),
      },
    };
  }
}

/** The node arrays on shared memory, for prediction workers. */
function shareNodes(n: ForestNodes): ForestNodes {
  return {
    feature: toShared(n.feature),
    threshold: toShared(n.threshold),
    defaultLeft: toShared(n.defaultLeft),
    left: toShared(n.left),
    value: toShared(n.value),
    gain: n.gain,
    roots: toShared(n.roots),
  };
}

/** Rebuilds a forest from `model.toJSON()`, validating every node so prediction cannot run off the arrays. */
export function loadForestModel(json: unknown): ForestModel {
  const doc = (typeof json === "string" ? JSON.parse(json) : json) as Partial<ForestModelJson> | null;
  const bad = (why: string): LoopmlError =>
    new LoopmlError(
      "INVALID_ARGUMENT",
      `Not a valid loopml forest model: ${why}. Load JSON produced by model.toJSON().`,
    );
  if (!doc || doc.format !== "loopml-forest") throw bad('format should be "loopml-forest"');
  if (doc.version !== 1) throw bad(`version ${String(doc.version)} is not supported (this loopml reads 1)`);
  const { task, kind, features, nodes } = doc;
  if (task !== "regression" && task !== "binary" && task !== "multiclass") throw bad("unknown task");
  if (kind !== "random-forest" && kind !== "extra-trees") throw bad("unknown kind");
  if (!Array.isArray(features) || !nodes) throw bad("features or nodes are missing");
  const bytes = (key: keyof ForestNodes, width: number): ArrayBuffer => {
    const text = nodes[key];
    if (typeof text !== "string") throw bad(`nodes.${key} is missing`);
    const buf = Buffer.from(text, "base64");
    if (buf.byteLength % width !== 0) throw bad(`nodes.${key} is truncated`);
    const copy = new ArrayBuffer(buf.byteLength);
    new Uint8Array(copy).set(buf);
    return copy;
  };
  const decoded: ForestNodes = {
    feature: new Int32Array(bytes("feature", 4)),
    threshold: new Float64Array(bytes("threshold", 8)),
    defaultLeft: new Uint8Array(bytes("defaultLeft", 1)),
    left: new Int32Array(bytes("left", 4)),
    value: new Float64Array(bytes("value", 8)),
    gain: new Float64Array(bytes("gain", 8)),
    roots: new Int32Array(bytes("roots", 4)),
  };
  const nClasses = doc.nClasses ?? 1;
  const K = task === "multiclass" ? nClasses : 1;
  const n = decoded.feature.length;
  for (const key of ["threshold", "defaultLeft", "left", "gain"] as const)
    if (decoded[key].length !== n) throw bad(`nodes.${key} has the wrong length`);
  if (decoded.value.length !== n * K) throw bad("nodes.value has the wrong length");
  for (let i = 0; i < n; i++) {
    const f = decoded.feature[i] as number;
    if (f >= features.length) throw bad(`node ${i} splits on an unknown feature`);
    const l = decoded.left[i] as number;
    if (f >= 0 && (l <= i || l + 1 >= n)) throw bad(`node ${i} has invalid children`);
  }
  for (const root of decoded.roots)
    if (root < 0 || root >= n) throw bad("a tree root points outside the forest");
  return new ForestModel(kind, task, doc.label ?? "", nClasses, features, decoded);
}
