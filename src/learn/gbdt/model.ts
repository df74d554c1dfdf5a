// A trained GBDT: batch prediction over Frames, feature importance, and versioned JSON serialization.
import { LoopmlError } from "../../errors.ts";
import { explainTrees, type ExplainOptions, type Explanation } from "../explain/explain.ts";
import { getColumn, type Frame } from "../frame.ts";
import { decodeForest, encodeForest } from "./forest.ts";
import { defaultThreads, rowThreads, runOnRows, toShared } from "./thread-pool.ts";
import { createObjective } from "./objectives.ts";
import type {
  FeatureSpec,
  FlatForest,
  GbdtModelJson,
  ImportanceType,
  Objective,
  ResolvedParams,
} from "./types.ts";

const OBJECTIVES: readonly Objective[] = [
  "regression",
  "binary",
  "multiclass",
  "absolute",
  "huber",
  "poisson",
];

export interface GbdtModelState {
  readonly objective: Objective;
  readonly label: string;
  readonly nOutputs: number;
  readonly baseScore: readonly number[];
  readonly bestIteration: number;
  readonly params: ResolvedParams;
  readonly features: readonly FeatureSpec[];
  readonly forest: FlatForest;
  /** Threads for prediction; the machine's cores (at most 8) by default. */
  readonly nThreads?: number;
}

export class GbdtModel {
  private walk: Int32Array | null = null;
  private sharedForest: { forest: FlatForest; walk: Int32Array } | null = null;

  constructor(private readonly state: GbdtModelState) {}

  get objective(): Objective {
    return this.state.objective;
  }

  get features(): readonly FeatureSpec[] {
    return this.state.features;
  }

  get nTrees(): number {
    return this.state.forest.roots.length;
  }

  /** Boosting round (0-based) with the best validation loss; the model keeps trees up to it. */
  get bestIteration(): number {
    return this.state.bestIteration;
  }

  /** Raw scores (margins), n x nOutputs row-major. */
  predictRaw(frame: Frame): Float64Array {
    const { nOutputs, baseScore, forest, features } = this.state;
    const columns = featureColumns(frame, features, "predict");
    const n = frame.nRows;
    const threads = rowThreads(n, this.state.nThreads ?? defaultThreads());
    const bytes = 8 * n * nOutputs;
    const raw = new Float64Array(threads > 1 ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
    for (let i = 0; i < raw.length; i++) raw[i] = baseScore[i % nOutputs] as number;
    this.walk ??= walkFeatures(forest);
    // Workers read the forest from shared memory, made once per model.
    if (threads > 1) this.sharedForest ??= { forest: shareForest(forest), walk: toShared(this.walk) };
    const { forest: f, walk } =
      threads > 1 && this.sharedForest ? this.sharedForest : { forest, walk: this.walk };
    runOnRows(columns, n, threads, (rows, from, to, columnsFrom) => ({
      kind: "predict",
      args: [
        walk,
        f.threshold,
        f.categories,
        f.categoryBits,
        f.left,
        f.right,
        f.defaultLeft,
        f.value,
        f.roots,
        rows,
        nOutputs,
        raw,
        from,
        to,
        columnsFrom,
      ],
    }));
    return threads > 1 ? new Float64Array(raw) : raw;
  }

  /**
   * One value per row: P(class 1) for "binary", the most likely class index for "multiclass", the
   * predicted value otherwise.
   *
   * @example
   * const p = model.predict(testFrame); // Float64Array
   */
  predict(frame: Frame): Float64Array {
    const { objective, nOutputs } = this.state;
    const out = this.predictRaw(frame);
    if (objective !== "multiclass") {
      createObjective(objective, nOutputs, this.state.params.huberDelta).transform(out);
      return out;
    }
    const classes = new Float64Array(frame.nRows);
    for (let r = 0; r < frame.nRows; r++) {
      let best = 0;
      for (let k = 1; k < nOutputs; k++)
        if ((out[r * nOutputs + k] as number) > (out[r * nOutputs + best] as number)) best = k;
      classes[r] = best;
    }
    return classes;
  }

  /** Class probabilities, n x nClasses row-major (two columns for "binary"). */
  predictProba(frame: Frame): Float64Array {
    const { objective, nOutputs } = this.state;
    if (objective === "binary") {
      const p = this.predict(frame);
      const out = new Float64Array(p.length * 2);
      for (let r = 0; r < p.length; r++) {
        out[2 * r] = 1 - (p[r] as number);
        out[2 * r + 1] = p[r] as number;
      }
      return out;
    }
    if (objective !== "multiclass") {
      throw new LoopmlError(
        "FAILED_PRECONDITION",
        `predictProba needs a "binary" or "multiclass" model but this one is "${objective}"; use predict.`,
      );
    }
    const raw = this.predictRaw(frame);
    createObjective(objective, nOutputs, 1).transform(raw);
    return raw;
  }

  /** Total split gain or number of splits per feature, keyed by feature name (every feature listed). */
  featureImportance(type: ImportanceType = "gain"): Record<string, number> {
    const { forest, features } = this.state;
    const totals = new Float64Array(features.length);
    for (let i = 0; i < forest.feature.length; i++) {
      const f = forest.feature[i] as number;
      if (f >= 0) totals[f] = (totals[f] as number) + (type === "gain" ? (forest.gain[i] as number) : 1);
    }
    return Object.fromEntries(features.map((spec, f) => [spec.name, totals[f] as number]));
  }

  /**
   * Exact TreeSHAP contributions per row, feature and output on the raw (margin) scale (learn/explain).
   *
   * @example
   * const e = model.explain(testFrame, { background: trainFrame });
   */
  explain(frame: Frame, options?: ExplainOptions): Explanation {
    return explainTrees(this, this.state, frame, options);
  }

  toJSON(): GbdtModelJson {
    const s = this.state;
    return {
      format: "loopml-gbdt",
      version: 1,
      objective: s.objective,
      label: s.label,
      nOutputs: s.nOutputs,
      baseScore: [...s.baseScore],
      bestIteration: s.bestIteration,
      params: s.params,
      features: s.features,
      forest: encodeForest(s.forest),
    };
  }
}

/**
 * Rebuilds a model from `model.toJSON()` (or its JSON text), checking the format and version.
 *
 * @example
 * const again = loadModel(JSON.parse(JSON.stringify(model)));
 */
export function loadModel(json: unknown, options: { readonly nThreads?: number } = {}): GbdtModel {
  const doc = (typeof json === "string" ? JSON.parse(json) : json) as Partial<GbdtModelJson> | null;
  if (!doc || typeof doc !== "object" || doc.format !== "loopml-gbdt") {
    throw new LoopmlError("INVALID_ARGUMENT", 'Not a loopml GBDT model (format should be "loopml-gbdt").');
  }
  if (doc.version !== 1) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `GBDT model version ${String(doc.version)} is not supported by this loopml (it reads version 1); upgrade loopml.`,
    );
  }
  if (!doc.objective || !OBJECTIVES.includes(doc.objective)) {
    throw new LoopmlError("INVALID_ARGUMENT", `Unknown GBDT objective ${String(doc.objective)}.`);
  }
  if (!Array.isArray(doc.features) || !Array.isArray(doc.baseScore) || !doc.forest || !doc.params) {
    throw new LoopmlError("INVALID_ARGUMENT", "GBDT model JSON lacks features, baseScore, params or forest.");
  }
  const forest = decodeForest(doc.forest);
  for (const f of forest.feature) {
    if (f >= doc.features.length) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `GBDT model splits on feature ${f} but lists ${doc.features.length}.`,
      );
    }
  }
  return new GbdtModel({
    objective: doc.objective,
    label: doc.label ?? "",
    nOutputs: doc.nOutputs ?? 1,
    baseScore: doc.baseScore,
    bestIteration: doc.bestIteration ?? forest.roots.length - 1,
    params: doc.params,
    features: doc.features,
    forest,
    ...(options.nThreads === undefined ? {} : { nThreads: options.nThreads }),
  });
}

/** The kernel's node tests: feature for numeric splits, -2 - feature for categorical ones, -1 for leaves. */
function walkFeatures(f: FlatForest): Int32Array {
  return f.feature.map((feature, i) =>
    feature >= 0 && (f.categories[i] as number) >= 0 ? -2 - feature : feature,
  );
}

function shareForest(f: FlatForest): FlatForest {
  return {
    feature: toShared(f.feature),
    threshold: toShared(f.threshold),
    categories: toShared(f.categories),
    categoryBits: toShared(f.categoryBits),
    left: toShared(f.left),
    right: toShared(f.right),
    defaultLeft: toShared(f.defaultLeft),
    value: toShared(f.value),
    gain: f.gain,
    roots: toShared(f.roots),
  };
}

/**
 * The model's feature columns as Float64Arrays (NaN = missing): numeric columns are shared, categorical
 * codes are mapped onto the training dictionary (unknown categories become missing).
 */
export function featureColumns(
  frame: Frame,
  features: readonly FeatureSpec[],
  purpose: string,
): Float64Array[] {
  return features.map((spec) => {
    let column;
    try {
      column = getColumn(frame, spec.name);
    } catch (e) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `${purpose}: the model needs feature "${spec.name}" but the frame has no such column; pass a frame with the training columns.`,
        undefined,
        { cause: e },
      );
    }
    if (column.kind !== spec.kind) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `${purpose}: column "${spec.name}" is ${column.kind} but the model was trained on it as ${spec.kind}; convert it.`,
      );
    }
    if (column.kind === "numeric") {
      const values = column.values;
      for (let i = 0; i < values.length; i++) {
        const v = values[i] as number;
        if (v === Infinity || v === -Infinity) {
          throw new LoopmlError(
            "INVALID_ARGUMENT",
            `${purpose}: column "${spec.name}" holds ${v} at row ${i}; replace infinities with finite values or NaN (missing).`,
          );
        }
      }
      return values;
    }
    const dictionary = spec.dictionary ?? [];
    const index = new Map(dictionary.map((d, i) => [d, i] as const));
    const remap = Int32Array.from(column.dictionary, (d) => index.get(d) ?? -1);
    const out = new Float64Array(column.codes.length);
    for (let i = 0; i < out.length; i++) {
      const c = column.codes[i] as number;
      const m = c < 0 ? -1 : (remap[c] as number);
      out[i] = m < 0 ? NaN : m;
    }
    return out;
  });
}
