// Problem setup (pure): the task, the metric, the target encoding, the features kept and the validation plan.
import { LoopmlError } from "../errors.ts";
import { columnNames, getColumn, type Column, type Frame } from "../learn/frame.ts";
import { createRng, shuffleInPlace } from "../learn/random.ts";
import { holdout, kFold, stratifiedKFold, timeSeriesSplit, type Split } from "../learn/split.ts";
import { screenColumn } from "./columns.ts";
import { checkMetric, defaultMetric } from "./metric.ts";
import type { DroppedColumn, Problem, ProblemOptions, Task, ValidationPlan } from "./types.ts";

/** Fewer rows than this cannot give both a model and an honest validation score. */
export const MIN_ROWS = 20;
const KFOLD_MAX_ROWS = 50_000;
const DEFAULT_FOLDS = 5;
const TIME_FOLDS = 3;
const HOLDOUT_FRACTION = 0.2;
/** A numeric target with at most this many integer values is read as classes. */
const MAX_INTEGER_CLASSES = 10;

/**
 * Reads the frame and the options into a Problem, or fails with a LoopmlError naming the fix.
 *
 * @example
 * const problem = setupProblem(frame, { target: "diagnosis" });
 * problem.task; // "binary"
 * problem.dropped; // [{ name: "id", reason: "id-like: …" }]
 */
export function setupProblem(frame: Frame, options: ProblemOptions): Problem {
  const names = columnNames(frame);
  if (!names.includes(options.target)) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Target column "${options.target}" is not in the data (columns: ${names.join(", ") || "none"}); pass the name of the column to predict.`,
      { target: options.target },
    );
  }
  for (const name of [options.timeColumn, ...(options.exclude ?? [])]) {
    if (name !== undefined && !names.includes(name)) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Column "${name}" is not in the data (columns: ${names.join(", ")}).`,
      );
    }
  }
  if (options.timeColumn === options.target) {
    throw new LoopmlError("INVALID_ARGUMENT", `The time column cannot be the target "${options.target}".`);
  }
  const targetColumn = getColumn(frame, options.target);
  const present = presentRows(targetColumn, frame.nRows);
  if (present.length < MIN_ROWS) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Too few rows: ${present.length} rows have a value for "${options.target}" but AutoML needs at least ${MIN_ROWS} to train and validate; add rows.`,
      { rows: present.length, minimum: MIN_ROWS },
    );
  }
  const task = resolveTask(targetColumn, present, options.task ?? "auto");
  const metric = options.metric === undefined ? defaultMetric(task) : checkMetric(options.metric, task);
  const rows =
    options.timeColumn === undefined ? present : timeOrder(getColumn(frame, options.timeColumn), present);
  const { y, classes } = encodeTarget(targetColumn, rows, task);
  if (task !== "regression") checkClassCounts(y, classes, options.target);

  const dropped: DroppedColumn[] = [];
  const features: string[] = [];
  const excluded = new Set(options.exclude ?? []);
  for (const column of frame.columns) {
    if (column.name === options.target) continue;
    if (excluded.has(column.name)) {
      dropped.push({ name: column.name, reason: "excluded by the caller" });
      continue;
    }
    if (column.name === options.timeColumn) {
      // Time orders the split; as a feature it would only teach the model to extrapolate the calendar.
      dropped.push({ name: column.name, reason: "time column: orders the validation split" });
      continue;
    }
    const verdict = screenColumn(column, rows, y, task);
    if (verdict.allMissing) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Column "${column.name}" has no value in any row with a target; fix the file or exclude the column.`,
        { column: column.name },
      );
    }
    if (verdict.dropReason) dropped.push({ name: column.name, reason: verdict.dropReason });
    else features.push(column.name);
  }
  if (features.length === 0) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `No usable feature is left: ${dropped.map((d) => `${d.name} (${d.reason})`).join(", ") || "the data has only the target"}.`,
      { dropped },
    );
  }
  const validation = planValidation(
    rows.length,
    options,
    task === "regression" ? null : minClassCount(y, classes.length),
  );
  return {
    target: options.target,
    task,
    metric,
    classes,
    y,
    rows,
    features,
    dropped,
    validation,
    ...(options.timeColumn !== undefined && { timeColumn: options.timeColumn }),
    rowsWithoutTarget: frame.nRows - present.length,
  };
}

/**
 * The train/validation splits as positions into `problem.rows` (never original row numbers). Time
 * splits train only on rows before the ones they score.
 */
export function makeSplits(problem: Problem, seed: number): Split[] {
  const n = problem.rows.length;
  const { kind, folds } = problem.validation;
  if (kind === "time") {
    if (folds > 1) return timeSeriesSplit(n, folds);
    return [holdout(n, { testFraction: HOLDOUT_FRACTION, shuffle: false })];
  }
  const stratify = problem.task === "regression" ? undefined : problem.y;
  if (kind === "holdout") {
    return [holdout(n, { testFraction: HOLDOUT_FRACTION, seed, ...(stratify && { stratify }) })];
  }
  return stratify
    ? stratifiedKFold(stratify, folds, { shuffle: true, seed })
    : kFold(n, folds, { shuffle: true, seed });
}

/** A seeded sample of `size` positions out of `train`, the same for every trial at that size. */
export function sampleTrain(train: Uint32Array, size: number, seed: number): Uint32Array {
  if (size >= train.length) return train;
  const copy = Uint32Array.from(train);
  shuffleInPlace(copy, createRng(seed ^ 0x5bd1e995));
  return copy.subarray(0, size).sort();
}

function planValidation(n: number, options: ProblemOptions, minClass: number | null): ValidationPlan {
  const maxRows = options.kfoldMaxRows ?? KFOLD_MAX_ROWS;
  if (options.timeColumn !== undefined) {
    return n < maxRows
      ? {
          kind: "time",
          folds: TIME_FOLDS,
          reason: `time column "${options.timeColumn}": ${TIME_FOLDS} expanding-window splits, each trained only on earlier rows`,
        }
      : {
          kind: "time",
          folds: 1,
          reason: `time column "${options.timeColumn}": the latest ${HOLDOUT_FRACTION * 100}% of rows validate a model trained on the earlier ones`,
        };
  }
  if (n >= maxRows) {
    return {
      kind: "holdout",
      folds: 1,
      reason: `${n} rows >= ${maxRows}: one ${HOLDOUT_FRACTION * 100}% holdout keeps trials affordable`,
    };
  }
  const folds = minClass === null ? DEFAULT_FOLDS : Math.min(DEFAULT_FOLDS, minClass);
  const rare = folds < DEFAULT_FOLDS ? ` (the rarest class has only ${minClass} rows)` : "";
  return { kind: "kfold", folds, reason: `${n} rows < ${maxRows}: ${folds}-fold cross-validation${rare}` };
}

function presentRows(column: Column, nRows: number): Uint32Array {
  const out: number[] = [];
  for (let i = 0; i < nRows; i++) {
    const missing =
      column.kind === "numeric" ? !Number.isFinite(column.values[i]) : (column.codes[i] as number) < 0;
    if (!missing) out.push(i);
  }
  return Uint32Array.from(out);
}

function resolveTask(column: Column, rows: Uint32Array, asked: Task | "auto"): Task {
  const distinct = new Set<number>();
  let integers = true;
  for (const r of rows) {
    const v = column.kind === "numeric" ? (column.values[r] as number) : (column.codes[r] as number);
    distinct.add(v);
    if (!Number.isInteger(v)) integers = false;
  }
  const name = column.name;
  if (distinct.size < 2) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Target "${name}" has a single value; there is nothing to predict. Check the target column.`,
    );
  }
  if (asked === "auto") {
    if (column.kind === "categorical") return distinct.size === 2 ? "binary" : "multiclass";
    if (distinct.size === 2) return "binary";
    return integers && distinct.size <= MAX_INTEGER_CLASSES ? "multiclass" : "regression";
  }
  if (asked === "regression" && column.kind === "categorical") {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Task "regression" needs a numeric target but "${name}" holds text; use --task binary or multiclass.`,
      { task: asked },
    );
  }
  if (asked === "binary" && distinct.size !== 2) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Task "binary" needs exactly 2 target values but "${name}" has ${distinct.size}; use --task ${column.kind === "numeric" && !integers ? "regression" : "multiclass"}.`,
      { task: asked, distinct: distinct.size },
    );
  }
  if (asked === "multiclass") {
    if (column.kind === "numeric" && !integers) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Task "multiclass" needs class labels but "${name}" has fractional values; use --task regression.`,
        { task: asked },
      );
    }
    if (distinct.size === 2) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Task "multiclass" needs at least 3 classes but "${name}" has 2; use --task binary.`,
        { task: asked },
      );
    }
  }
  return asked;
}

function encodeTarget(column: Column, rows: Uint32Array, task: Task): { y: Float64Array; classes: string[] } {
  const y = new Float64Array(rows.length);
  if (task === "regression") {
    for (let i = 0; i < rows.length; i++)
      y[i] = (column as { values: Float64Array }).values[rows[i] as number] as number;
    return { y, classes: [] };
  }
  const raw = (r: number): number =>
    column.kind === "numeric" ? (column.values[r] as number) : (column.codes[r] as number);
  const keys = [...new Set(Array.from(rows, raw))];
  // Classes in a stable order (numbers ascending, text alphabetical) so the same data gives the same codes.
  const label = (k: number): string =>
    column.kind === "numeric" ? String(k) : (column.dictionary[k] as string);
  keys.sort(
    column.kind === "numeric"
      ? (a, b) => a - b
      : (a, b) => (label(a) < label(b) ? -1 : label(a) > label(b) ? 1 : 0),
  );
  const index = new Map(keys.map((k, i) => [k, i] as const));
  for (let i = 0; i < rows.length; i++) y[i] = index.get(raw(rows[i] as number)) as number;
  return { y, classes: keys.map(label) };
}

function checkClassCounts(y: Float64Array, classes: readonly string[], target: string): void {
  const counts = new Array<number>(classes.length).fill(0);
  for (const v of y) counts[v] = (counts[v] as number) + 1;
  const rare = counts.findIndex((c) => c < 2);
  if (rare >= 0) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Class "${classes[rare]}" of "${target}" has only ${counts[rare]} row; every class needs at least 2 to be validated. Add rows or merge the class.`,
      { class: classes[rare] },
    );
  }
}

function minClassCount(y: Float64Array, k: number): number {
  const counts = new Array<number>(k).fill(0);
  for (const v of y) counts[v] = (counts[v] as number) + 1;
  return Math.min(...counts);
}

function timeOrder(column: Column, rows: Uint32Array): Uint32Array {
  const key: (r: number) => number | string =
    column.kind === "numeric"
      ? (r) => column.values[r] as number
      : (r) => column.dictionary[column.codes[r] as number] ?? "";
  for (const r of rows) {
    const missing =
      column.kind === "numeric" ? Number.isNaN(column.values[r]) : (column.codes[r] as number) < 0;
    if (missing) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Time column "${column.name}" is missing at row ${r}; every row needs a time to be ordered.`,
        { row: r },
      );
    }
  }
  // ISO dates and times sort as text; ties keep file order so the split is deterministic.
  return Uint32Array.from(rows).sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : a - b;
  });
}
