// A window of current data against a reference profile: feature drift, prediction drift, schema and data quality.
import { checkCategorical, checkNumeric, type ColumnCheck, type CurrentColumn } from "./check-column.ts";
import type { ColumnReference, ReferenceProfile } from "./reference.ts";
import { datasetDrift, type DatasetDrift } from "./stats/default-test.ts";
import type { DriftTestName } from "./stats/types.ts";

export interface WindowData {
  readonly rows: number;
  readonly columns: Readonly<Record<string, CurrentColumn>>;
  /** The model's predictions (class index for classifiers), when the window comes from the inference log. */
  readonly predictions?: Float64Array;
}

export interface WindowCheckOptions {
  /** Only these reference columns (default: every reference column except `target`). */
  readonly columns?: readonly string[];
  /** The reference column the predictions are compared with (the label the model was trained on). */
  readonly target?: string;
  /** Per-column test, e.g. { delay: "psi" }; "*" for every column. */
  readonly tests?: Readonly<Record<string, DriftTestName>>;
  /** Per-column threshold; "*" for every column. */
  readonly thresholds?: Readonly<Record<string, number>>;
  /** Share of drifted columns that makes the window drifted (Evidently: 0.5). */
  readonly driftShare?: number;
  /** Fewer rows than this is "not enough data", never an alarm (default 30). */
  readonly minRows?: number;
}

export type WindowStatus = "ok" | "drift" | "schema_drift" | "not_enough_data";

export interface SchemaCheck {
  /** Reference columns the window lacks: schema drift, reported rather than crashing. */
  readonly missingColumns: readonly string[];
  readonly extraColumns: readonly string[];
  readonly typeChanges: readonly {
    readonly column: string;
    readonly reference: string;
    readonly current: string;
  }[];
}

export interface WindowCheck {
  readonly status: WindowStatus;
  readonly rows: number;
  readonly referenceRows: number;
  readonly columns: readonly ColumnCheck[];
  readonly schema: SchemaCheck;
  readonly dataset: DatasetDrift | null;
  readonly prediction: ColumnCheck | null;
  /** Largest current missing share over the checked columns, and new-category / out-of-range row shares. */
  readonly quality: {
    readonly maxMissingShare: number;
    readonly newCategoryShare: number;
    readonly outOfRangeShare: number;
  };
}

export const DEFAULT_MIN_ROWS = 30;

/**
 * @example
 * const check = checkWindow(profile, { rows: 500, columns: { age: ages, plan: plans }, predictions });
 * if (check.status === "drift") console.log(check.dataset?.share);
 */
export function checkWindow(
  profile: ReferenceProfile,
  window: WindowData,
  options: WindowCheckOptions = {},
): WindowCheck {
  const byName = new Map(profile.columns.map((c) => [c.name, c]));
  const names = options.columns ?? profile.columns.map((c) => c.name).filter((n) => n !== options.target);
  const missingColumns: string[] = [];
  const typeChanges: { column: string; reference: string; current: string }[] = [];
  const columns: ColumnCheck[] = [];
  const enough = window.rows >= (options.minRows ?? DEFAULT_MIN_ROWS);
  for (const name of names) {
    const ref = byName.get(name);
    const cur = window.columns[name];
    if (!ref || cur === undefined) {
      missingColumns.push(name);
      continue;
    }
    const check = checkColumn(ref, cur, {
      ...pick(options.tests, name, "test"),
      ...pick(options.thresholds, name, "threshold"),
    });
    if (check.note?.startsWith("type changed"))
      typeChanges.push({ column: name, reference: ref.kind, current: "text" });
    columns.push(enough ? check : { ...check, result: null, note: "not enough data" });
  }
  const extraColumns = Object.keys(window.columns).filter((n) => !byName.has(n));
  const results = columns.flatMap((c) => (c.result ? [c.result] : []));
  const dataset = enough && results.length > 0 ? datasetDrift(results, options.driftShare ?? 0.5) : null;
  let prediction: ColumnCheck | null = null;
  const targetRef = options.target === undefined ? undefined : byName.get(options.target);
  if (targetRef && window.predictions) {
    const p = checkColumn(targetRef, predictionsAs(targetRef, window.predictions), {
      ...pick(options.tests, "prediction", "test"),
      ...pick(options.thresholds, "prediction", "threshold"),
    });
    prediction = { ...p, column: "prediction", ...(enough ? {} : { result: null, note: "not enough data" }) };
  }
  const schemaDrift = missingColumns.length > 0 || typeChanges.length > 0;
  const status: WindowStatus =
    dataset === null ? "not_enough_data" : dataset.drifted ? "drift" : schemaDrift ? "schema_drift" : "ok";
  return {
    status,
    rows: window.rows,
    referenceRows: profile.rows,
    columns,
    schema: { missingColumns, extraColumns, typeChanges },
    dataset,
    prediction,
    quality: quality(columns),
  };
}

function pick<K extends "test" | "threshold", V>(
  map: Readonly<Record<string, V>> | undefined,
  name: string,
  key: K,
): Partial<Record<K, V>> {
  const v = map?.[name] ?? map?.["*"];
  return v === undefined ? {} : ({ [key]: v } as Partial<Record<K, V>>);
}

function checkColumn(
  ref: ColumnReference,
  cur: CurrentColumn,
  options: { test?: DriftTestName; threshold?: number },
): ColumnCheck {
  if (ref.kind === "categorical") {
    // Numbers logged for a categorical column are compared as their text, as `loopml drift` does.
    const values =
      cur instanceof Float64Array ? Array.from(cur, (v) => (Number.isNaN(v) ? null : String(v))) : cur;
    return checkCategorical(ref, values, options);
  }
  if (cur instanceof Float64Array) return checkNumeric(ref, cur, options);
  const parsed = parseNumbers(cur);
  if (parsed) return checkNumeric(ref, parsed, options);
  // Text where the reference had numbers: a type change is schema drift, not a statistic.
  const check = checkNumeric(ref, new Float64Array(0), options);
  return { ...check, note: "type changed: the reference is numeric, the window has text" };
}

/** Strings that are all numbers (or missing) become numbers; anything else is a type change. */
function parseNumbers(cur: Exclude<CurrentColumn, Float64Array>): Float64Array | undefined {
  if (!Array.isArray(cur)) {
    const { codes, dictionary } = cur as { codes: Int32Array; dictionary: readonly string[] };
    const asNumbers = dictionary.map(Number);
    if (asNumbers.some((v, k) => !Number.isFinite(v) || dictionary[k]!.trim() === "")) return undefined;
    return Float64Array.from(codes, (c) => (c < 0 ? Number.NaN : asNumbers[c]!));
  }
  const values = cur as readonly (string | null)[];
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const s = values[i];
    if (s === null || s === undefined) out[i] = Number.NaN;
    else {
      const v = Number(s);
      if (!Number.isFinite(v) || s.trim() === "") return undefined;
      out[i] = v;
    }
  }
  return out;
}

/** Class indices become the reference label's text (label i of the sorted dictionary), numbers stay numbers. */
function predictionsAs(ref: ColumnReference, predictions: Float64Array): CurrentColumn {
  if (ref.kind === "numeric") return predictions;
  return Array.from(predictions, (v) =>
    Number.isInteger(v) && v >= 0 ? (ref.dictionary[v] ?? String(v)) : null,
  );
}

function quality(columns: readonly ColumnCheck[]): WindowCheck["quality"] {
  let maxMissingShare = 0;
  let newCategoryShare = 0;
  let outOfRangeShare = 0;
  for (const c of columns) {
    maxMissingShare = Math.max(maxMissingShare, c.missingShare.current);
    newCategoryShare = Math.max(newCategoryShare, c.newCategoryShare);
    outOfRangeShare = Math.max(outOfRangeShare, c.outOfRange?.share ?? 0);
  }
  return { maxMissingShare, newCategoryShare, outOfRangeShare };
}
