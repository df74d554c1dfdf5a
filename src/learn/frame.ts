// Columnar table for learning: numeric columns as Float64Array (NaN = missing), categoricals dictionary-encoded.
import { LoopmlError } from "../errors.ts";

export interface NumericColumn {
  readonly kind: "numeric";
  readonly name: string;
  /** One value per row; NaN marks a missing value. */
  readonly values: Float64Array;
}

export interface CategoricalColumn {
  readonly kind: "categorical";
  readonly name: string;
  /** Index into `dictionary` per row; -1 marks a missing value. */
  readonly codes: Int32Array;
  readonly dictionary: readonly string[];
}

export type Column = NumericColumn | CategoricalColumn;
export type ColumnKind = Column["kind"];

export interface Frame {
  readonly nRows: number;
  readonly columns: readonly Column[];
}

/** What `frameFromColumns` accepts for one column. */
export type ColumnInput =
  | Float64Array
  | Float32Array
  | Int32Array
  | Uint8Array
  | readonly (number | null | undefined)[]
  | readonly (string | null | undefined)[]
  | { readonly codes: Int32Array; readonly dictionary: readonly string[] };

/**
 * Builds a Frame from named column arrays. Numbers become numeric columns (null/undefined -> NaN),
 * strings become categorical columns with a dictionary in first-seen order.
 *
 * @example
 * const frame = frameFromColumns({ age: [31, null, 54], city: ["Lyon", "Oslo", null] });
 */
export function frameFromColumns(columns: Readonly<Record<string, ColumnInput>>): Frame {
  const built: Column[] = [];
  for (const [name, input] of Object.entries(columns)) built.push(toColumn(name, input));
  return createFrame(built);
}

/** Assembles columns into a Frame, checking that they all have the same length and distinct names. */
export function createFrame(columns: readonly Column[]): Frame {
  const nRows = columns.length === 0 ? 0 : columnLength(columns[0] as Column);
  const seen = new Set<string>();
  for (const c of columns) {
    if (seen.has(c.name)) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Column "${c.name}" appears twice; give each column a distinct name.`,
      );
    }
    seen.add(c.name);
    if (columnLength(c) !== nRows) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Column "${c.name}" has ${columnLength(c)} rows but the frame has ${nRows}; all columns must have the same length.`,
      );
    }
  }
  return { nRows, columns };
}

export interface RowsSchema {
  /** Column names and kinds, in order; by default inferred from the first non-null value of each key. */
  readonly kinds?: Readonly<Record<string, ColumnKind>>;
  /** Fixed dictionaries (e.g. the ones a model was trained with); unknown strings become missing (-1). */
  readonly dictionaries?: Readonly<Record<string, readonly string[]>>;
}

/**
 * Builds a Frame from row objects, for small data and serving. Keys absent from a row are missing.
 *
 * @example
 * const frame = frameFromRows([{ age: 31, city: "Lyon" }, { age: 40 }]);
 */
export function frameFromRows(
  rows: readonly Readonly<Record<string, unknown>>[],
  schema: RowsSchema = {},
): Frame {
  const kinds: Record<string, ColumnKind> = { ...schema.kinds };
  if (schema.kinds === undefined) {
    for (const row of rows) {
      for (const [key, value] of Object.entries(row)) {
        if (kinds[key] !== undefined || value === null || value === undefined) continue;
        kinds[key] = typeof value === "string" ? "categorical" : "numeric";
      }
    }
  }
  const columns: Column[] = [];
  for (const [name, kind] of Object.entries(kinds)) {
    if (kind === "numeric") {
      const values = new Float64Array(rows.length);
      rows.forEach((row, i) => {
        const v = row[name];
        if (v === null || v === undefined) values[i] = NaN;
        else if (typeof v === "number") values[i] = v;
        else if (typeof v === "boolean") values[i] = v ? 1 : 0;
        else {
          throw new LoopmlError(
            "INVALID_ARGUMENT",
            `Row ${i} column "${name}" is ${JSON.stringify(v)} but the column is numeric; pass a number or null.`,
          );
        }
      });
      columns.push({ kind, name, values });
    } else {
      const fixed = schema.dictionaries?.[name];
      const raw = rows.map((row) => {
        const v = row[name];
        return cellToString(v);
      });
      columns.push(fixed ? encodeWithDictionary(name, raw, fixed) : encodeStrings(name, raw));
    }
  }
  return { nRows: rows.length, columns };
}

export function columnNames(frame: Frame): string[] {
  return frame.columns.map((c) => c.name);
}

/** The column called `name`, or an error listing the columns that exist. */
export function getColumn(frame: Frame, name: string): Column {
  const c = frame.columns.find((col) => col.name === name);
  if (!c) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Column "${name}" is not in the frame (columns: ${columnNames(frame).join(", ") || "none"}).`,
    );
  }
  return c;
}

/** A frame with only the named columns, in the given order; the arrays are shared, not copied. */
export function selectColumns(frame: Frame, names: readonly string[]): Frame {
  return { nRows: frame.nRows, columns: names.map((n) => getColumn(frame, n)) };
}

/** A frame without the named columns; the arrays are shared, not copied. */
export function dropColumns(frame: Frame, names: readonly string[]): Frame {
  for (const n of names) getColumn(frame, n);
  const drop = new Set(names);
  return { nRows: frame.nRows, columns: frame.columns.filter((c) => !drop.has(c.name)) };
}

/** A new frame holding the given rows (in the given order, repeats allowed), e.g. for a split or a sample. */
export function takeRows(frame: Frame, indices: ArrayLike<number>): Frame {
  const n = indices.length;
  for (let i = 0; i < n; i++) {
    const r = indices[i] as number;
    if (!Number.isInteger(r) || r < 0 || r >= frame.nRows) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Row index ${r} is outside the frame (0..${frame.nRows - 1}).`,
      );
    }
  }
  const columns = frame.columns.map((c): Column => {
    if (c.kind === "numeric") {
      const values = new Float64Array(n);
      for (let i = 0; i < n; i++) values[i] = c.values[indices[i] as number] as number;
      return { kind: "numeric", name: c.name, values };
    }
    const codes = new Int32Array(n);
    for (let i = 0; i < n; i++) codes[i] = c.codes[indices[i] as number] as number;
    return { kind: "categorical", name: c.name, codes, dictionary: c.dictionary };
  });
  return { nRows: n, columns };
}

/** The string value of a categorical cell, or null when missing. */
export function categoryAt(column: CategoricalColumn, row: number): string | null {
  const code = column.codes[row] ?? -1;
  return code < 0 ? null : (column.dictionary[code] ?? null);
}

function cellToString(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  return JSON.stringify(v);
}

function columnLength(c: Column): number {
  return c.kind === "numeric" ? c.values.length : c.codes.length;
}

function toColumn(name: string, input: ColumnInput): Column {
  if (input instanceof Float64Array) return { kind: "numeric", name, values: input };
  if (input instanceof Float32Array || input instanceof Int32Array || input instanceof Uint8Array) {
    return { kind: "numeric", name, values: Float64Array.from(input) };
  }
  if (!Array.isArray(input)) {
    const enc = input as { readonly codes: Int32Array; readonly dictionary: readonly string[] };
    for (const code of enc.codes) {
      if (code < -1 || code >= enc.dictionary.length) {
        throw new LoopmlError(
          "INVALID_ARGUMENT",
          `Column "${name}" has code ${code} but its dictionary has ${enc.dictionary.length} entries; use -1 for missing.`,
        );
      }
    }
    return { kind: "categorical", name, codes: enc.codes, dictionary: enc.dictionary };
  }
  const arr = input as readonly unknown[];
  const first = arr.find((v) => v !== null && v !== undefined);
  if (typeof first === "string") {
    return encodeStrings(name, arr.map(cellToString));
  }
  const values = new Float64Array(arr.length);
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i];
    if (v === null || v === undefined) values[i] = NaN;
    else if (typeof v === "number") values[i] = v;
    else {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Column "${name}" mixes numbers with ${typeof v} at row ${i}; make every value a number or null.`,
      );
    }
  }
  return { kind: "numeric", name, values };
}

function encodeStrings(name: string, values: readonly (string | null)[]): CategoricalColumn {
  const index = new Map<string, number>();
  const dictionary: string[] = [];
  const codes = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      codes[i] = -1;
      continue;
    }
    let code = index.get(v);
    if (code === undefined) {
      code = dictionary.length;
      dictionary.push(v);
      index.set(v, code);
    }
    codes[i] = code;
  }
  return { kind: "categorical", name, codes, dictionary };
}

function encodeWithDictionary(
  name: string,
  values: readonly (string | null)[],
  dictionary: readonly string[],
): CategoricalColumn {
  const index = new Map(dictionary.map((d, i) => [d, i] as const));
  const codes = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    codes[i] = v === null || v === undefined ? -1 : (index.get(v) ?? -1);
  }
  return { kind: "categorical", name, codes, dictionary };
}
