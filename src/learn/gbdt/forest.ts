// Flat typed-array forest: appending grown trees, and a compact, validated base64 codec for serialization.
import { LoopmlError } from "../../errors.ts";
import type { BinBounds } from "./binning.ts";
import type { GrownTree } from "./grow-tree.ts";
import type { FlatForest } from "./types.ts";

/** Int32 words in one category set (256 bits, one per possible bin). */
export const CATEGORY_WORDS = 8;

export class ForestBuilder {
  private readonly feature: number[] = [];
  private readonly threshold: number[] = [];
  private readonly categories: number[] = [];
  private readonly categoryBits: number[] = [];
  private readonly left: number[] = [];
  private readonly right: number[] = [];
  private readonly defaultLeft: number[] = [];
  private readonly value: number[] = [];
  private readonly gain: number[] = [];
  private readonly cover: number[] = [];
  private readonly roots: number[] = [];
  /** categoryBits length after each tree, to cut the forest at any tree. */
  private readonly bitsEnd: number[] = [];

  get nTrees(): number {
    return this.roots.length;
  }

  /** Appends a tree, turning its bin thresholds into raw-value thresholds with the training bin bounds. */
  add(tree: GrownTree, bounds: readonly BinBounds[]): void {
    const offset = this.feature.length;
    this.roots.push(offset);
    for (let i = 0; i < tree.feature.length; i++) {
      const f = tree.feature[i] as number;
      const set = tree.categories[i] ?? null;
      this.feature.push(f);
      this.threshold.push(f < 0 || set ? 0 : ((bounds[f] as BinBounds)[tree.bin[i] as number] as number));
      this.categories.push(set ? this.categoryBits.length : -1);
      if (set) this.categoryBits.push(...set);
      this.left.push(f < 0 ? -1 : (tree.left[i] as number) + offset);
      this.right.push(f < 0 ? -1 : (tree.right[i] as number) + offset);
      this.defaultLeft.push(tree.defaultLeft[i] ? 1 : 0);
      this.value.push(tree.value[i] as number);
      this.gain.push(tree.gain[i] as number);
      this.cover.push(tree.cover[i] as number);
    }
    this.bitsEnd.push(this.categoryBits.length);
  }

  /** The forest made of the first `nTrees` trees. */
  build(nTrees = this.roots.length): FlatForest {
    const end = nTrees < this.roots.length ? (this.roots[nTrees] as number) : this.feature.length;
    const bitsEnd = nTrees === 0 ? 0 : (this.bitsEnd[nTrees - 1] as number);
    return {
      feature: Int32Array.from(this.feature.slice(0, end)),
      threshold: Float64Array.from(this.threshold.slice(0, end)),
      categories: Int32Array.from(this.categories.slice(0, end)),
      categoryBits: Int32Array.from(this.categoryBits.slice(0, bitsEnd)),
      left: Int32Array.from(this.left.slice(0, end)),
      right: Int32Array.from(this.right.slice(0, end)),
      defaultLeft: Uint8Array.from(this.defaultLeft.slice(0, end)),
      value: Float64Array.from(this.value.slice(0, end)),
      gain: Float64Array.from(this.gain.slice(0, end)),
      roots: Int32Array.from(this.roots.slice(0, nTrees)),
      cover: Float64Array.from(this.cover.slice(0, end)),
    };
  }
}

type Encoded = { readonly [K in keyof FlatForest]: string };

export function encodeForest(forest: FlatForest): Encoded {
  const enc = (a: ArrayBufferView): string =>
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");
  return {
    feature: enc(forest.feature),
    threshold: enc(forest.threshold),
    categories: enc(forest.categories),
    categoryBits: enc(forest.categoryBits),
    left: enc(forest.left),
    right: enc(forest.right),
    defaultLeft: enc(forest.defaultLeft),
    value: enc(forest.value),
    gain: enc(forest.gain),
    roots: enc(forest.roots),
    ...(forest.cover && { cover: enc(forest.cover) }),
  };
}

/** Decodes and checks a forest, so that prediction can never index outside its arrays or loop. */
export function decodeForest(encoded: Encoded): FlatForest {
  const bytes = (key: keyof FlatForest, width: number): ArrayBuffer => {
    const text = encoded[key];
    if (typeof text !== "string") throw badModel(`forest.${key} is missing`);
    const buf = Buffer.from(text, "base64");
    if (buf.byteLength % width !== 0) throw badModel(`forest.${key} has a truncated array`);
    const copy = new ArrayBuffer(buf.byteLength);
    new Uint8Array(copy).set(buf);
    return copy;
  };
  const forest: FlatForest = {
    feature: new Int32Array(bytes("feature", 4)),
    threshold: new Float64Array(bytes("threshold", 8)),
    categories: new Int32Array(bytes("categories", 4)),
    categoryBits: new Int32Array(bytes("categoryBits", 4)),
    left: new Int32Array(bytes("left", 4)),
    right: new Int32Array(bytes("right", 4)),
    defaultLeft: new Uint8Array(bytes("defaultLeft", 1)),
    value: new Float64Array(bytes("value", 8)),
    gain: new Float64Array(bytes("gain", 8)),
    roots: new Int32Array(bytes("roots", 4)),
    // Models saved before covers were recorded have none; explanations then count covers on data.
    ...(typeof encoded.cover === "string" && { cover: new Float64Array(bytes("cover", 8)) }),
  };
  const n = forest.feature.length;
  for (const key of Object.keys(forest) as (keyof FlatForest)[]) {
    if (key !== "roots" && key !== "categoryBits" && forest[key]?.length !== n) {
      throw badModel(`forest.${key} has the wrong length`);
    }
  }
  for (let i = 0; i < n; i++) {
    if ((forest.feature[i] as number) >= 0) {
      const l = forest.left[i] as number;
      if (l <= i || l + 1 >= n || forest.right[i] !== l + 1) throw badModel(`node ${i} has invalid children`);
    }
    const c = forest.categories[i] as number;
    if (c !== -1 && (c < 0 || c + CATEGORY_WORDS > forest.categoryBits.length)) {
      throw badModel(`node ${i} points outside the category sets`);
    }
  }
  for (const root of forest.roots)
    if (root < 0 || root >= n) throw badModel("a tree root points outside the forest");
  return forest;
}

function badModel(why: string): LoopmlError {
  return new LoopmlError(
    "INVALID_ARGUMENT",
    `This is not a valid loopml GBDT model: ${why}. Load JSON produced by model.toJSON().`,
  );
}
