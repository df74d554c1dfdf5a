// Validation splitters: holdout, k-fold, stratified k-fold and time-series split, returning row indices.
import { LoopmlError } from "../errors.ts";
import { createRng, shuffleInPlace } from "./random.ts";

export interface Split {
  readonly train: Uint32Array;
  readonly test: Uint32Array;
}

export interface HoldoutOptions {
  /** Fraction of rows in the test part, in (0, 1); 0.2 by default. */
  readonly testFraction?: number;
  /** Shuffle before cutting (default true); false keeps the last rows as the test part. */
  readonly shuffle?: boolean;
  /** Class labels to keep the class proportions in both parts. */
  readonly stratify?: ArrayLike<number>;
  readonly seed?: number;
}

/**
 * One train/test split.
 *
 * @example
 * const { train, test } = holdout(frame.nRows, { testFraction: 0.25, seed: 7 });
 */
export function holdout(nRows: number, options: HoldoutOptions = {}): Split {
  const fraction = options.testFraction ?? 0.2;
  if (!(fraction > 0 && fraction < 1)) {
    throw new LoopmlError("INVALID_ARGUMENT", `testFraction is ${fraction}; pass a number between 0 and 1.`);
  }
  checkRows(nRows, 2);
  if (options.stratify) {
    const groups = groupByClass(nRows, options.stratify);
    const rng = createRng(options.seed ?? 0);
    const train: number[] = [];
    const test: number[] = [];
    for (const rows of groups) {
      shuffleInPlace(rows, rng);
      const nTest = Math.round(rows.length * fraction);
      for (let i = 0; i < rows.length; i++) (i < nTest ? test : train).push(rows[i] as number);
    }
    return { train: sorted(train), test: sorted(test) };
  }
  const order = identity(nRows);
  if (options.shuffle ?? true) shuffleInPlace(order, createRng(options.seed ?? 0));
  const nTest = Math.min(nRows - 1, Math.max(1, Math.round(nRows * fraction)));
  const cut = nRows - nTest;
  return { train: order.slice(0, cut).sort(), test: order.slice(cut).sort() };
}

export interface KFoldOptions {
  readonly shuffle?: boolean;
  readonly seed?: number;
}

/** k folds of (almost) equal size; each row is in exactly one test part. Sizes follow sklearn's KFold. */
export function kFold(nRows: number, k: number, options: KFoldOptions = {}): Split[] {
  checkK(k);
  checkRows(nRows, k);
  const order = identity(nRows);
  if (options.shuffle) shuffleInPlace(order, createRng(options.seed ?? 0));
  const folds: Split[] = [];
  let start = 0;
  for (let f = 0; f < k; f++) {
    const size = Math.floor(nRows / k) + (f < nRows % k ? 1 : 0);
    const test = order.slice(start, start + size).sort();
    const train = new Uint32Array(nRows - size);
    train.set(order.subarray(0, start));
    train.set(order.subarray(start + size), start);
    folds.push({ train: train.sort(), test });
    start += size;
  }
  return folds;
}

/**
 * k folds keeping the class proportions of `labels` in each fold: the rows of each class (shuffled
 * when asked) are dealt round-robin over the folds, continuing where the previous class stopped.
 */
export function stratifiedKFold(labels: ArrayLike<number>, k: number, options: KFoldOptions = {}): Split[] {
  checkK(k);
  const nRows = labels.length;
  checkRows(nRows, k);
  const groups = groupByClass(nRows, labels);
  const rng = createRng(options.seed ?? 0);
  const foldOf = new Int32Array(nRows);
  let next = 0;
  for (const rows of groups) {
    if (options.shuffle) shuffleInPlace(rows, rng);
    for (const r of rows) {
      foldOf[r] = next;
      next = (next + 1) % k;
    }
  }
  const folds: Split[] = [];
  for (let f = 0; f < k; f++) {
    const train: number[] = [];
    const test: number[] = [];
    for (let i = 0; i < nRows; i++) (foldOf[i] === f ? test : train).push(i);
    folds.push({ train: Uint32Array.from(train), test: Uint32Array.from(test) });
  }
  return folds;
}

export interface TimeSeriesSplitOptions {
  /** Rows left out between the end of train and the start of test, against leakage; 0 by default. */
  readonly gap?: number;
  /** Cap on the number of training rows (a sliding window); unlimited by default. */
  readonly maxTrainSize?: number;
}

/**
 * Expanding-window splits for rows in time order, as sklearn's TimeSeriesSplit: the test parts are the
 * last k blocks of nRows / (k + 1) rows, and train is everything before (minus the gap).
 */
export function timeSeriesSplit(nRows: number, k: number, options: TimeSeriesSplitOptions = {}): Split[] {
  checkK(k);
  const gap = options.gap ?? 0;
  const testSize = Math.floor(nRows / (k + 1));
  if (testSize < 1 || nRows - gap - testSize * k <= 0) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Cannot make ${k} time-series splits with gap ${gap} from ${nRows} rows; use fewer splits or a smaller gap.`,
    );
  }
  const folds: Split[] = [];
  for (let f = 0; f < k; f++) {
    const testStart = nRows - (k - f) * testSize;
    const trainEnd = testStart - gap;
    const trainStart = options.maxTrainSize ? Math.max(0, trainEnd - options.maxTrainSize) : 0;
    folds.push({ train: range(trainStart, trainEnd), test: range(testStart, testStart + testSize) });
  }
  return folds;
}

function groupByClass(nRows: number, labels: ArrayLike<number>): Uint32Array[] {
  if (labels.length !== nRows) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `stratify has ${labels.length} labels for ${nRows} rows; pass one label per row.`,
    );
  }
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < nRows; i++) {
    const y = labels[i] as number;
    let rows = byClass.get(y);
    if (!rows) byClass.set(y, (rows = []));
    rows.push(i);
  }
  return [...byClass.keys()].sort((a, b) => a - b).map((y) => Uint32Array.from(byClass.get(y) as number[]));
}

function identity(n: number): Uint32Array {
  return range(0, n);
}

function range(start: number, end: number): Uint32Array {
  const out = new Uint32Array(Math.max(0, end - start));
  for (let i = 0; i < out.length; i++) out[i] = start + i;
  return out;
}

function sorted(values: number[]): Uint32Array {
  return Uint32Array.from(values).sort();
}

function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 2) {
    throw new LoopmlError("INVALID_ARGUMENT", `k is ${k}; pass an integer of at least 2.`);
  }
}

function checkRows(nRows: number, min: number): void {
  if (!Number.isInteger(nRows) || nRows < min) {
    throw new LoopmlError("INVALID_ARGUMENT", `Need at least ${min} rows to split, got ${nRows}.`);
  }
}
