// Model evaluation metrics on typed arrays, matching scikit-learn's definitions and edge cases.
import { LoopmlError } from "../errors.ts";

/** Class labels are numbers (e.g. the codes of a categorical target). */
export type Labels = ArrayLike<number>;
export type Average = "binary" | "macro" | "weighted";

export interface AverageOptions {
  /** "binary" (default) reports the positive class only; "macro" and "weighted" average over all labels. */
  readonly average?: Average;
  /** The positive label for average "binary"; 1 by default. */
  readonly posLabel?: number;
}

export interface ConfusionMatrix {
  /** Sorted labels; row i / column j of `matrix` are true label i / predicted label j. */
  readonly labels: readonly number[];
  readonly matrix: readonly (readonly number[])[];
}

/**
 * Fraction of rows where the prediction equals the truth.
 *
 * @example
 * accuracy([0, 1, 1], [0, 1, 0]); // 0.666…
 */
export function accuracy(yTrue: Labels, yPred: Labels): number {
  const n = checkPair(yTrue, yPred, "yPred");
  let hits = 0;
  for (let i = 0; i < n; i++) if (yTrue[i] === yPred[i]) hits++;
  return hits / n;
}

/** Mean recall over the classes present in yTrue (sklearn `balanced_accuracy_score`). */
export function balancedAccuracy(yTrue: Labels, yPred: Labels): number {
  const { labels, matrix } = confusionMatrix(yTrue, yPred);
  let sum = 0;
  let count = 0;
  for (let k = 0; k < labels.length; k++) {
    const row = matrix[k] as readonly number[];
    const support = row.reduce((a, b) => a + b, 0);
    if (support === 0) continue;
    sum += (row[k] as number) / support;
    count++;
  }
  return sum / count;
}

/**
 * Counts of (true, predicted) label pairs over the sorted union of labels, or the given labels.
 *
 * @example
 * confusionMatrix([0, 1, 1], [0, 0, 1]).matrix; // [[1, 0], [1, 1]]
 */
export function confusionMatrix(yTrue: Labels, yPred: Labels, labels?: readonly number[]): ConfusionMatrix {
  const n = checkPair(yTrue, yPred, "yPred");
  const used = labels ?? sortedUnion(yTrue, yPred);
  const index = new Map(used.map((l, i) => [l, i] as const));
  const matrix = used.map(() => new Array<number>(used.length).fill(0));
  for (let i = 0; i < n; i++) {
    const t = index.get(yTrue[i] as number);
    const p = index.get(yPred[i] as number);
    if (t === undefined || p === undefined) continue;
    (matrix[t] as number[])[p] = ((matrix[t] as number[])[p] as number) + 1;
  }
  return { labels: used, matrix };
}

/** tp / (tp + fp); 0 when nothing is predicted positive (sklearn's zero_division default). */
export function precision(yTrue: Labels, yPred: Labels, options: AverageOptions = {}): number {
  return prf(yTrue, yPred, options).precision;
}

/** tp / (tp + fn); 0 when the class has no true rows. */
export function recall(yTrue: Labels, yPred: Labels, options: AverageOptions = {}): number {
  return prf(yTrue, yPred, options).recall;
}

/** Harmonic mean of precision and recall, averaged per `options.average`. */
export function f1(yTrue: Labels, yPred: Labels, options: AverageOptions = {}): number {
  return prf(yTrue, yPred, options).f1;
}

/**
 * Mean negative log-likelihood. `proba` is P(class 1) per row when it has one value per row, else a
 * row-major n x k matrix whose column j is the probability of label j. Probabilities are clipped to
 * [eps, 1 - eps] and rows renormalised, as sklearn does.
 */
export function logLoss(yTrue: Labels, proba: ArrayLike<number>): number {
  const n = yTrue.length;
  if (n === 0) throw empty("yTrue");
  if (proba.length % n !== 0) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `proba has ${proba.length} values for ${n} rows; pass one probability per row or n x classes values.`,
    );
  }
  const eps = Number.EPSILON;
  const clip = (p: number): number => (p < eps ? eps : p > 1 - eps ? 1 - eps : p);
  const k = proba.length / n;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const y = yTrue[i] as number;
    const classes = k === 1 ? 2 : k;
    if (!Number.isInteger(y) || y < 0 || y >= classes) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `yTrue[${i}] is ${y}; log loss needs labels 0..${classes - 1} matching the probability columns.`,
      );
    }
    if (k === 1) {
      const p1 = clip(proba[i] as number);
      const p0 = clip(1 - (proba[i] as number));
      total -= Math.log((y === 1 ? p1 : p0) / (p0 + p1));
    } else {
      let sum = 0;
      for (let j = 0; j < k; j++) sum += clip(proba[i * k + j] as number);
      total -= Math.log(clip(proba[i * k + y] as number) / sum);
    }
  }
  return total / n;
}

/**
 * Area under the ROC curve for binary labels (1 = positive, anything else negative); tied scores count
 * half, as in the trapezoidal rule. Fails when only one class is present, like sklearn.
 *
 * @example
 * rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]); // 0.75
 */
export function rocAuc(yTrue: Labels, score: ArrayLike<number>): number {
  const { pos, neg } = splitScores(yTrue, score, 1);
  if (pos.length === 0 || neg.length === 0) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      "ROC AUC is undefined when yTrue holds only one class; evaluate on data with both classes.",
    );
  }
  // For each positive, count the negatives scored below it (ties count half): the Mann-Whitney form of AUC.
  let wins = 0;
  let j = 0;
  for (let i = 0; i < pos.length; i++) {
    const s = pos[i] as number;
    while (j < neg.length && (neg[j] as number) < s) j++;
    let ties = 0;
    while (j + ties < neg.length && neg[j + ties] === s) ties++;
    wins += j + ties / 2;
  }
  return wins / pos.length / neg.length;
}

/**
 * Multiclass ROC AUC, one-vs-rest, macro-averaged. `proba` is row-major n x k; yTrue holds 0..k-1 and
 * every class must occur.
 */
export function rocAucOvr(yTrue: Labels, proba: ArrayLike<number>, nClasses: number): number {
  const n = yTrue.length;
  if (proba.length !== n * nClasses) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `proba has ${proba.length} values; expected ${n} rows x ${nClasses} classes.`,
    );
  }
  const column = new Float64Array(n);
  const isClass = new Float64Array(n);
  let sum = 0;
  for (let c = 0; c < nClasses; c++) {
    for (let i = 0; i < n; i++) {
      column[i] = proba[i * nClasses + c] as number;
      isClass[i] = yTrue[i] === c ? 1 : 0;
    }
    sum += rocAuc(isClass, column);
  }
  return sum / nClasses;
}

/**
 * Average precision (sklearn `average_precision_score`): sum over distinct thresholds of
 * (recall gain) x precision, with label 1 positive. 0 when there is no positive row.
 */
export function averagePrecision(yTrue: Labels, score: ArrayLike<number>): number {
  const { pos, neg } = splitScores(yTrue, score, 1);
  const nPos = pos.length;
  if (nPos === 0) return 0;
  let i = nPos - 1;
  let j = neg.length - 1;
  let tp = 0;
  let fp = 0;
  let ap = 0;
  while (i >= 0 || j >= 0) {
    const t = Math.max(i >= 0 ? (pos[i] as number) : -Infinity, j >= 0 ? (neg[j] as number) : -Infinity);
    const before = tp;
    while (i >= 0 && pos[i] === t) {
      tp++;
      i--;
    }
    while (j >= 0 && neg[j] === t) {
      fp++;
      j--;
    }
    if (tp > before) ap += ((tp - before) / nPos) * (tp / (tp + fp));
  }
  return ap;
}

export function rmse(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const n = checkPair(yTrue, yPred, "yPred");
  let s = 0;
  for (let i = 0; i < n; i++) {
    const d = (yTrue[i] as number) - (yPred[i] as number);
    s += d * d;
  }
  return Math.sqrt(s / n);
}

export function mae(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const n = checkPair(yTrue, yPred, "yPred");
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.abs((yTrue[i] as number) - (yPred[i] as number));
  return s / n;
}

/** Coefficient of determination; with a constant yTrue, 1 for a perfect fit and 0 otherwise (sklearn). */
export function r2(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const n = checkPair(yTrue, yPred, "yPred");
  let mean = 0;
  for (let i = 0; i < n; i++) mean += yTrue[i] as number;
  mean /= n;
  let ssRes = 0;
  let ssTot = 0;
  for (let i = 0; i < n; i++) {
    const y = yTrue[i] as number;
    ssRes += (y - (yPred[i] as number)) ** 2;
    ssTot += (y - mean) ** 2;
  }
  if (ssTot === 0) return ssRes === 0 ? 1 : 0;
  return 1 - ssRes / ssTot;
}

/** Mean absolute percentage error as a fraction; |y| is floored at machine epsilon, as sklearn does. */
export function mape(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const n = checkPair(yTrue, yPred, "yPred");
  let s = 0;
  for (let i = 0; i < n; i++) {
    const y = yTrue[i] as number;
    s += Math.abs(y - (yPred[i] as number)) / Math.max(Math.abs(y), Number.EPSILON);
  }
  return s / n;
}

function prf(
  yTrue: Labels,
  yPred: Labels,
  options: AverageOptions,
): { precision: number; recall: number; f1: number } {
  const average = options.average ?? "binary";
  const { labels, matrix } = confusionMatrix(yTrue, yPred);
  const scores = labels.map((_, k) => {
    let predicted = 0;
    let support = 0;
    for (let r = 0; r < labels.length; r++) {
      predicted += (matrix[r] as number[])[k] as number;
      support += (matrix[k] as number[])[r] as number;
    }
    const tp = (matrix[k] as number[])[k] as number;
    const p = predicted === 0 ? 0 : tp / predicted;
    const r = support === 0 ? 0 : tp / support;
    const denom = p + r === 0 ? 1 : p + r;
    return { precision: p, recall: r, f1: (2 * p * r) / denom, support };
  });
  if (average === "binary") {
    const posLabel = options.posLabel ?? 1;
    if (labels.length > 2) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `average "binary" needs at most two labels but found ${labels.length} (${labels.join(", ")}); use average "macro" or "weighted".`,
      );
    }
    const k = labels.indexOf(posLabel);
    if (k < 0 && labels.length === 2) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `posLabel ${posLabel} is not one of the labels (${labels.join(", ")}); pass posLabel explicitly.`,
      );
    }
    if (k < 0) return { precision: 0, recall: 0, f1: 0 };
    const s = scores[k] as { precision: number; recall: number; f1: number };
    return { precision: s.precision, recall: s.recall, f1: s.f1 };
  }
  const totalSupport = scores.reduce((a, s) => a + s.support, 0);
  const mean = (pick: (s: (typeof scores)[number]) => number): number => {
    if (average === "macro") return scores.reduce((a, s) => a + pick(s), 0) / scores.length;
    if (totalSupport === 0) return 0;
    return scores.reduce((a, s) => a + pick(s) * s.support, 0) / totalSupport;
  };
  return { precision: mean((s) => s.precision), recall: mean((s) => s.recall), f1: mean((s) => s.f1) };
}

function splitScores(
  yTrue: Labels,
  score: ArrayLike<number>,
  posLabel: number,
): { pos: Float64Array; neg: Float64Array } {
  const n = checkPair(yTrue, score, "score");
  let nPos = 0;
  for (let i = 0; i < n; i++) {
    const s = score[i] as number;
    if (Number.isNaN(s)) {
      throw new LoopmlError("INVALID_ARGUMENT", `score[${i}] is NaN; scores must be numbers.`);
    }
    if (yTrue[i] === posLabel) nPos++;
  }
  const pos = new Float64Array(nPos);
  const neg = new Float64Array(n - nPos);
  let a = 0;
  let b = 0;
  for (let i = 0; i < n; i++) {
    if (yTrue[i] === posLabel) pos[a++] = score[i] as number;
    else neg[b++] = score[i] as number;
  }
  pos.sort();
  neg.sort();
  return { pos, neg };
}

function sortedUnion(a: Labels, b: Labels): number[] {
  const set = new Set<number>();
  for (let i = 0; i < a.length; i++) set.add(a[i] as number);
  for (let i = 0; i < b.length; i++) set.add(b[i] as number);
  return [...set].sort((x, y) => x - y);
}

function checkPair(yTrue: ArrayLike<number>, other: ArrayLike<number>, otherName: string): number {
  if (yTrue.length !== other.length) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `yTrue has ${yTrue.length} rows but ${otherName} has ${other.length}; pass arrays of the same length.`,
    );
  }
  if (yTrue.length === 0) throw empty("yTrue");
  return yTrue.length;
}

function empty(name: string): LoopmlError {
  return new LoopmlError("INVALID_ARGUMENT", `${name} is empty; metrics need at least one row.`);
}
