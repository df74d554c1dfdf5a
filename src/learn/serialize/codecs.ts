// Learner codecs for the model envelope: how each learner's model becomes metadata + typed arrays and back.
// GBDT is built in; other learners (random forest, linear) register theirs with registerCodec.
import { LoopmlError } from "../../errors.ts";
import { attachCovers, countCovers } from "../explain/index.ts";
import { attachedCoversOf } from "../explain/explain.ts";
import { forestArrays } from "../explain/forest.ts";
import type { Frame } from "../frame.ts";
import { LinearModel, loadLinearModel } from "../linear/model.ts";
import { ForestModel, loadForestModel } from "../random-forest/model.ts";
import { CATEGORY_WORDS, decodeForest } from "../gbdt/forest.ts";
import { featureColumns, GbdtModel, loadModel } from "../gbdt/model.ts";
import type { FlatForest, GbdtModelJson } from "../gbdt/types.ts";
import type { EnvelopeBody, TypedArray } from "./envelope.ts";

export interface LearnerCodec<M> {
  /** Name stored in the envelope header, e.g. "gbdt". */
  readonly learner: string;
  /** Version of this codec's body layout. */
  readonly version: number;
  owns(model: unknown): model is M;
  encode(model: M, options: EncodeOptions): EnvelopeBody;
  decode(body: EnvelopeBody, version: number): M;
}

export interface EncodeOptions {
  /** Reference rows (the training data) whose per-node counts are stored as TreeSHAP covers. */
  readonly background?: Frame;
}

const codecs = new Map<string, LearnerCodec<unknown>>();

/** Makes a learner serializable; later registrations replace earlier ones of the same name. */
export function registerCodec<M>(codec: LearnerCodec<M>): void {
  codecs.set(codec.learner, codec);
}

export function codecFor(model: unknown): LearnerCodec<unknown> {
  for (const codec of codecs.values()) if (codec.owns(model)) return codec;
  throw new LoopmlError(
    "INVALID_ARGUMENT",
    `Cannot serialize this model: no codec claims it (known learners: ${[...codecs.keys()].join(", ")}).`,
  );
}

export function codecNamed(learner: string): LearnerCodec<unknown> {
  const codec = codecs.get(learner);
  if (!codec) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `The model file holds a "${learner}" model, which this loopml cannot load (it knows ${[...codecs.keys()].join(", ")}); upgrade loopml.`,
    );
  }
  return codec;
}

/** The GBDT body: its JSON minus the forest as metadata, the forest arrays raw (plus optional covers). */
const gbdtCodec: LearnerCodec<GbdtModel> = {
  learner: "gbdt",
  version: 1,
  owns: (model): model is GbdtModel => model instanceof GbdtModel,
  encode(model, options) {
    const { forest: encoded, ...meta } = model.toJSON();
    const forest = decodeForest(encoded);
    const arrays: Record<string, TypedArray> = {};
    for (const [key, a] of Object.entries(forest) as [string, TypedArray][]) arrays[`forest.${key}`] = a;
    let covers = attachedCoversOf(model);
    if (options.background) {
      const columns = featureColumns(options.background, model.features, "serialize background");
      covers = countCovers(forest, columns, options.background.nRows);
    }
    if (covers) arrays.covers = covers;
    return { meta, arrays };
  },
  decode(body) {
    const meta = body.meta as Omit<GbdtModelJson, "forest">;
    // learn/gbdt's loader checks format, version, objective and features (on an empty forest); the
    // forest itself is checked here so that its arrays can stay zero-copy views of the file.
    loadModel({ ...meta, forest: EMPTY_FOREST });
    const forest = checkForest(body.arrays, meta.features.length);
    const model = new GbdtModel({
      objective: meta.objective,
      label: meta.label,
      nOutputs: meta.nOutputs,
      baseScore: meta.baseScore,
      bestIteration: meta.bestIteration,
      params: meta.params,
      features: meta.features,
      forest,
    });
    const covers = body.arrays.covers;
    if (covers) {
      if (!(covers instanceof Float64Array) || covers.length !== forest.feature.length) {
        throw badForest("its node covers do not match its forest");
      }
      attachCovers(model, covers);
    }
    return model;
  },
};

const FOREST_TYPES = {
  feature: Int32Array,
  threshold: Float64Array,
  categories: Int32Array,
  categoryBits: Int32Array,
  left: Int32Array,
  right: Int32Array,
  defaultLeft: Uint8Array,
  value: Float64Array,
  gain: Float64Array,
  roots: Int32Array,
} as const;

const EMPTY_FOREST = Object.fromEntries(
  Object.keys(FOREST_TYPES).map((k) => [k, ""]),
) as GbdtModelJson["forest"];

/** The same guarantees as learn/gbdt's decodeForest: prediction can never index outside or loop. */
function checkForest(arrays: Readonly<Record<string, TypedArray>>, nFeatures: number): FlatForest {
  const out: Record<string, TypedArray> = {};
  for (const [key, type] of Object.entries(FOREST_TYPES)) {
    const a = arrays[`forest.${key}`];
    if (!(a instanceof type)) throw badForest(`forest.${key} is missing or has the wrong type`);
    out[key] = a;
  }
  const n = (out.feature as Int32Array).length;
  const cover = arrays["forest.cover"];
  if (cover !== undefined) {
    if (!(cover instanceof Float64Array) || cover.length !== n)
      throw badForest("forest.cover does not match");
    out.cover = cover;
  }
  const f = out as unknown as FlatForest;
  for (const key of Object.keys(FOREST_TYPES) as (keyof FlatForest)[]) {
    if (key !== "roots" && key !== "categoryBits" && f[key]?.length !== n) {
      throw badForest(`forest.${key} has the wrong length`);
    }
  }
  for (let i = 0; i < n; i++) {
    const feature = f.feature[i] as number;
    if (feature >= nFeatures) throw badForest(`node ${i} splits on feature ${feature} of ${nFeatures}`);
    if (feature >= 0) {
      const l = f.left[i] as number;
      if (l <= i || l + 1 >= n || f.right[i] !== l + 1) throw badForest(`node ${i} has invalid children`);
    }
    const c = f.categories[i] as number;
    if (c !== -1 && (c < 0 || c + CATEGORY_WORDS > f.categoryBits.length)) {
      throw badForest(`node ${i} points outside the category sets`);
    }
  }
  for (const root of f.roots)
    if (root < 0 || root >= n) throw badForest("a tree root points outside the forest");
  return f;
}

function badForest(why: string): LoopmlError {
  return new LoopmlError("INVALID_ARGUMENT", `This is not a valid loopml GBDT model file: ${why}.`);
}

registerCodec(gbdtCodec);

/** Random forests / extra trees: metadata as JSON, node arrays raw; learn/random-forest validates them. */
const forestCodec: LearnerCodec<ForestModel> = {
  learner: "random-forest",
  version: 1,
  owns: (model): model is ForestModel => model instanceof ForestModel,
  encode(model, options) {
    const arrays: Record<string, TypedArray> = {};
    for (const [key, a] of Object.entries(model.nodes) as [string, TypedArray][]) arrays[`nodes.${key}`] = a;
    let covers = attachedCoversOf(model);
    if (options.background) {
      const columns = featureColumns(options.background, model.features, "serialize background");
      covers = countCovers(forestArrays(model), columns, options.background.nRows);
    }
    if (covers) arrays.covers = covers;
    const { nodes: _nodes, ...meta } = model.toJSON();
    return { meta, arrays };
  },
  decode(body) {
    const nodes: Record<string, string> = {};
    for (const [name, a] of Object.entries(body.arrays)) {
      if (name.startsWith("nodes.")) {
        nodes[name.slice(6)] = Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");
      }
    }
    const model = loadForestModel({ ...(body.meta as object), nodes });
    const covers = body.arrays.covers;
    if (covers) {
      if (!(covers instanceof Float64Array) || covers.length !== model.nodes.feature.length) {
        throw badForest("its node covers do not match its forest");
      }
      attachCovers(model, covers);
    }
    return model;
  },
};

/** Linear models: task and feature names as JSON, coefficients and intercepts as float64 arrays. */
const linearCodec: LearnerCodec<LinearModel> = {
  learner: "linear",
  version: 1,
  owns: (model): model is LinearModel => model instanceof LinearModel,
  encode(model) {
    return {
      meta: { task: model.task, features: model.features },
      arrays: { coef: model.coef, intercept: model.intercept },
    };
  },
  decode(body) {
    const { coef, intercept } = body.arrays;
    if (!(coef instanceof Float64Array) || !(intercept instanceof Float64Array)) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        "This is not a valid loopml linear model file: coefficients are missing.",
      );
    }
    return loadLinearModel({
      ...(body.meta as object),
      format: "loopml-linear",
      version: 1,
      coef: Array.from(coef),
      intercept: Array.from(intercept),
    });
  },
};

registerCodec(forestCodec);
registerCodec(linearCodec);
