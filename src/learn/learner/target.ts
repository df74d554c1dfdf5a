// Maps a target column onto what learners take: values for regression, class indices 0..K-1 for classification.
import { LoopmlError } from "../../errors.ts";
import { getColumn, type Frame } from "../frame.ts";

export type Task = "regression" | "binary" | "multiclass";

export interface EncodedTarget {
  readonly task: Task;
  /** Class labels in index order (empty for regression). */
  readonly classes: readonly string[];
  readonly y: Float64Array;
}

/**
 * "auto" picks binary for two distinct values, multiclass for a categorical column with more, regression
 * for other numeric columns. Missing targets and constant targets are errors.
 */
export function encodeTarget(frame: Frame, target: string, task: Task | "auto"): EncodedTarget {
  const column = frameColumn(frame, target);
  const n = frame.nRows;
  if (n < 2) throw new LoopmlError("INVALID_ARGUMENT", `Training needs at least 2 rows, the data has ${n}.`);
  if (column.kind === "numeric") {
    const distinct = new Set<number>();
    for (let i = 0; i < n; i++) {
      const v = column.values[i] as number;
      if (!Number.isFinite(v)) {
        throw new LoopmlError(
          "INVALID_ARGUMENT",
          `Target "${target}" is ${Number.isNaN(v) ? "missing" : v} at row ${i}; drop or fill those rows before training.`,
        );
      }
      if (distinct.size <= 1000) distinct.add(v);
    }
    if (distinct.size < 2) {
      throw new LoopmlError("INVALID_ARGUMENT", `Target "${target}" is constant; there is nothing to learn.`);
    }
    const chosen = task === "auto" ? (distinct.size === 2 ? "binary" : "regression") : task;
    if (chosen === "regression") return { task: chosen, classes: [], y: column.values };
    if (distinct.size > 1000) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Target "${target}" has over 1000 distinct values; use --task regression.`,
      );
    }
    const sorted = [...distinct].sort((a, b) => a - b);
    if (chosen === "binary" && sorted.length !== 2) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Target "${target}" has ${sorted.length} classes; binary needs 2 (use multiclass).`,
      );
    }
    const index = new Map(sorted.map((v, i) => [v, i] as const));
    return {
      task: chosen,
      classes: sorted.map(String),
      y: Float64Array.from(column.values, (v) => index.get(v) as number),
    };
  }
  if (task === "regression") {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Target "${target}" is categorical; regression needs a numeric target.`,
    );
  }
  // Classes are the categories that occur, in dictionary order.
  const counts = new Int32Array(column.dictionary.length);
  for (let i = 0; i < n; i++) {
    const c = column.codes[i] as number;
    if (c < 0) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Target "${target}" is missing at row ${i}; drop those rows before training.`,
      );
    }
    counts[c] = (counts[c] as number) + 1;
  }
  const present = column.dictionary.map((_, c) => c).filter((c) => (counts[c] as number) > 0);
  if (present.length < 2)
    throw new LoopmlError("INVALID_ARGUMENT", `Target "${target}" is constant; there is nothing to learn.`);
  const chosen = task === "auto" ? (present.length === 2 ? "binary" : "multiclass") : task;
  if (chosen === "binary" && present.length !== 2) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Target "${target}" has ${present.length} classes; binary needs 2 (use multiclass).`,
    );
  }
  const remap = new Int32Array(column.dictionary.length).fill(-1);
  present.forEach((c, i) => (remap[c] = i));
  return {
    task: chosen,
    classes: present.map((c) => column.dictionary[c] as string),
    y: Float64Array.from(column.codes, (c) => remap[c] as number),
  };
}

/**
 * Class indices of evaluation labels under the training classes; a label the model never saw is an error
 * (its metrics would be meaningless).
 */
export function labelsFor(
  frame: Frame,
  target: string,
  task: Task,
  classes: readonly string[],
): Float64Array {
  const column = frameColumn(frame, target);
  const index = new Map(classes.map((c, i) => [c, i] as const));
  const out = new Float64Array(frame.nRows);
  for (let i = 0; i < frame.nRows; i++) {
    let label: string | number | null;
    if (column.kind === "numeric") {
      const v = column.values[i] as number;
      label = Number.isNaN(v) ? null : task === "regression" ? v : String(v);
    } else {
      const c = column.codes[i] as number;
      label = c < 0 ? null : (column.dictionary[c] as string);
    }
    if (label === null) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Target "${target}" is missing at row ${i} of the evaluation data.`,
      );
    }
    if (typeof label === "number") {
      out[i] = label;
      continue;
    }
    const k = index.get(label);
    if (k === undefined) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Target "${target}" is "${label}" at row ${i} of the evaluation data, a class unseen in training (classes: ${classes.join(", ")}).`,
      );
    }
    out[i] = k;
  }
  return out;
}

function frameColumn(frame: Frame, target: string): ReturnType<typeof getColumn> {
  if (!frame.columns.some((c) => c.name === target)) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Target column "${target}" is not in the data (columns: ${frame.columns.map((c) => c.name).join(", ")}).`,
    );
  }
  return getColumn(frame, target);
}
