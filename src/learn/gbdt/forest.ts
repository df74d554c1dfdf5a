// Flat typed-array forest: appending grown trees, batch prediction without per-row allocation, base64 codec.
import { LoopmlError } from "../../errors.ts";
import { MISSING_BIN, type BinBounds, type BinnedMatrix } from "./binning.ts";
import type { GrownTree } from "./grow-tree.ts";
import type { FlatForest } from "./types.ts";

export class ForestBuilder {
  private readonly feature: number[] = [];
  private readonly threshold: number[] = [];
  private readonly thresholdBin: number[] = [];
  private readonly left: number[] = [];
  private readonly right: number[] = [];
  private readonly defaultLeft: number[] = [];
  private readonly value: number[] = [];
  private readonly gain: number[] = [];
  private readonly roots: number[] = [];

  get nTrees(): number {
    return this.roots.length;
  }

  /** Appends a tree, turning its bin thresholds into raw-value thresholds with the training bin bounds. */
  add(tree: GrownTree, bounds: readonly BinBounds[]): void {
    const offset = this.feature.length;
    this.roots.push(offset);
    for (let i = 0; i < tree.feature.length; i++) {
      const f = tree.feature[i] as number;
      const bin = tree.bin[i] as number;
      this.feature.push(f);
      this.thresholdBin.push(bin);
      this.threshold.push(f < 0 ? 0 : ((bounds[f] as BinBounds)[bin] as number));
      this.left.push(f < 0 ? -1 : (tree.left[i] as number) + offset);
      this.right.push(f < 0 ? -1 : (tree.right[i] as number) + offset);
      this.defaultLeft.push(tree.defaultLeft[i] ? 1 : 0);
      this.value.push(tree.value[i] as number);
      this.gain.push(tree.gain[i] as number);
    }
  }

  /** The forest made of the first `nTrees` trees. */
  build(nTrees = this.roots.length): FlatForest {
    const end = nTrees < this.roots.length ? (this.roots[nTrees] as number) : this.feature.length;
    return {
      feature: Int32Array.from(this.feature.slice(0, end)),
      threshold: Float64Array.from(this.threshold.slice(0, end)),
      thresholdBin: Uint8Array.from(this.thresholdBin.slice(0, end)),
      left: Int32Array.from(this.left.slice(0, end)),
      right: Int32Array.from(this.right.slice(0, end)),
      defaultLeft: Uint8Array.from(this.defaultLeft.slice(0, end)),
      value: Float64Array.from(this.value.slice(0, end)),
      gain: Float64Array.from(this.gain.slice(0, end)),
      roots: Int32Array.from(this.roots.slice(0, nTrees)),
    };
  }
}

/** Adds the output of trees [fromTree, toTree) on binned rows (training or validation data) to raw. */
export function predictBinnedRaw(
  forest: FlatForest,
  binned: BinnedMatrix,
  fromTree: number,
  toTree: number,
  nOutputs: number,
  raw: Float64Array,
): void {
  const { feature, thresholdBin, left, right, defaultLeft, value, roots } = forest;
  const { bins, nRows } = binned;
  for (let t = fromTree; t < toTree; t++) {
    const root = roots[t] as number;
    const out = t % nOutputs;
    for (let r = 0; r < nRows; r++) {
      let node = root;
      let f = feature[node] as number;
      while (f >= 0) {
        const b = bins[f * nRows + r] as number;
        if (b === MISSING_BIN)
          node = defaultLeft[node] === 1 ? (left[node] as number) : (right[node] as number);
        else node = b <= (thresholdBin[node] as number) ? (left[node] as number) : (right[node] as number);
        f = feature[node] as number;
      }
      const k = r * nOutputs + out;
      raw[k] = (raw[k] as number) + (value[node] as number);
    }
  }
}

type Encoded = { readonly [K in keyof FlatForest]: string };

export function encodeForest(forest: FlatForest): Encoded {
  const enc = (a: ArrayBufferView): string =>
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");
  return {
    feature: enc(forest.feature),
    threshold: enc(forest.threshold),
    thresholdBin: enc(forest.thresholdBin),
    left: enc(forest.left),
    right: enc(forest.right),
    defaultLeft: enc(forest.defaultLeft),
    value: enc(forest.value),
    gain: enc(forest.gain),
    roots: enc(forest.roots),
  };
}

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
    thresholdBin: new Uint8Array(bytes("thresholdBin", 1)),
    left: new Int32Array(bytes("left", 4)),
    right: new Int32Array(bytes("right", 4)),
    defaultLeft: new Uint8Array(bytes("defaultLeft", 1)),
    value: new Float64Array(bytes("value", 8)),
    gain: new Float64Array(bytes("gain", 8)),
    roots: new Int32Array(bytes("roots", 4)),
  };
  const n = forest.feature.length;
  for (const key of Object.keys(forest) as (keyof FlatForest)[]) {
    if (key !== "roots" && forest[key].length !== n) throw badModel(`forest.${key} has the wrong length`);
  }
  for (let i = 0; i < n; i++) {
    if ((forest.feature[i] as number) >= 0) {
      const l = forest.left[i] as number;
      const r = forest.right[i] as number;
      if (l <= i || r <= i || l >= n || r >= n) throw badModel(`node ${i} points outside the forest`);
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
