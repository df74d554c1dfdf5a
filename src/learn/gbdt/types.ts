// Parameters, objectives and the serialized form of loopml's histogram gradient-boosted trees.

export type Objective = "regression" | "binary" | "multiclass" | "absolute" | "huber" | "poisson";

export interface GbdtParams {
  /** "regression" is squared error; "binary" logistic; "multiclass" softmax; "huber" is pseudo-Huber. */
  readonly objective: Objective;
  /** Boosting rounds (trees per class); 100 by default. */
  readonly nRounds?: number;
  /** Shrinkage applied to every leaf; 0.3 by default (as XGBoost). */
  readonly learningRate?: number;
  /** Maximum tree depth; 6 by default, 0 for no limit (then numLeaves must be set). */
  readonly maxDepth?: number;
  /** When set, grow leaf-wise (best gain first) up to this many leaves instead of level by level. */
  readonly numLeaves?: number;
  /** Minimum hessian sum in a child (XGBoost min_child_weight); 1 by default. */
  readonly minChildWeight?: number;
  /** L2 regularisation on leaf weights; 1 by default. */
  readonly lambda?: number;
  /** L1 regularisation on leaf weights; 0 by default. */
  readonly alpha?: number;
  /** Minimum loss reduction to make a split (XGBoost gamma / min_split_loss); 0 by default. */
  readonly gamma?: number;
  /** Fraction of rows sampled (without replacement) for each tree; 1 by default. */
  readonly subsample?: number;
  /** Fraction of features sampled for each tree; 1 by default. */
  readonly colsampleByTree?: number;
  /** Maximum number of value bins per feature, 2..255 (one more bin holds missing values); 255 by default. */
  readonly maxBins?: number;
  /** Number of classes, for "multiclass"; inferred from the label by default. */
  readonly nClasses?: number;
  /** Slope parameter of the "huber" objective; 1 by default. */
  readonly huberDelta?: number;
  /** Stop when the validation metric has not improved for this many rounds; 10 by default with a valid set. */
  readonly earlyStoppingRounds?: number;
  /** Seed for row and feature sampling; 0 by default. */
  readonly seed?: number;
  /**
   * Threads for histogram building and prediction (worker threads on shared memory); the machine's cores
   * (at most 8) by default. Results are bit-identical whatever the count; small data always uses one.
   */
  readonly nThreads?: number;
}

export interface ResolvedParams {
  readonly objective: Objective;
  readonly nRounds: number;
  readonly learningRate: number;
  readonly maxDepth: number;
  readonly numLeaves: number;
  readonly minChildWeight: number;
  readonly lambda: number;
  readonly alpha: number;
  readonly gamma: number;
  readonly subsample: number;
  readonly colsampleByTree: number;
  readonly maxBins: number;
  readonly huberDelta: number;
  readonly earlyStoppingRounds: number;
  readonly seed: number;
}

/** One input feature as the model saw it in training. */
export interface FeatureSpec {
  readonly name: string;
  readonly kind: "numeric" | "categorical";
  /** Training dictionary of a categorical feature; prediction maps strings onto it. */
  readonly dictionary?: readonly string[];
}

/**
 * All trees flattened into parallel arrays (one entry per node). A node with feature -1 is a leaf.
 * At a numeric split a row goes left when value <= threshold; at a categorical split when its category
 * is in the node's set; a missing value goes left when defaultLeft is 1. The right child is left + 1.
 */
export interface FlatForest {
  readonly feature: Int32Array;
  readonly threshold: Float64Array;
  /** For a categorical split, the offset of its 8-word (256-bit) category set in categoryBits; else -1. */
  readonly categories: Int32Array;
  /** Category sets: bit c of a set is 1 when category code c goes left. */
  readonly categoryBits: Int32Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly defaultLeft: Uint8Array;
  readonly value: Float64Array;
  readonly gain: Float64Array;
  /** Root node index of each tree; tree t adds to output t % nOutputs. */
  readonly roots: Int32Array;
  /** Training hessian sum per node (TreeSHAP covers); absent in models saved before it was recorded. */
  readonly cover?: Float64Array;
}

export interface GbdtModelJson {
  readonly format: "loopml-gbdt";
  readonly version: 1;
  readonly objective: Objective;
  readonly label: string;
  readonly nOutputs: number;
  readonly baseScore: readonly number[];
  readonly bestIteration: number;
  readonly params: ResolvedParams;
  readonly features: readonly FeatureSpec[];
  /** Typed arrays as base64 of their little-endian bytes: exact and about half the size of decimal text. */
  readonly forest: { readonly [K in keyof FlatForest]: string };
}

export type ImportanceType = "gain" | "split";
