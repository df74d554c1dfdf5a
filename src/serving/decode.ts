// Turns request payloads (rows, columns, split frames) into validated Batches, with errors naming column, row and fix.
import { LoopmlError } from "../errors.ts";
import type { Batch, ColumnSpec, ModelSignature } from "./types.ts";

export interface DecodeLimits {
  /** Most rows one request may carry; more is answered 413. */
  readonly maxRows: number;
  /** Added to row numbers in error messages, for chunks of a larger file. */
  readonly rowOffset?: number;
}

export const DEFAULT_LIMITS: DecodeLimits = { maxRows: 10_000 };

/** A batch larger than the limit: RESOURCE_EXHAUSTED, which the serving routes answer with 413. */
export function batchTooLarge(rows: number, maxRows: number): LoopmlError {
  return new LoopmlError(
    "RESOURCE_EXHAUSTED",
    `The batch has ${rows} rows but this server accepts at most ${maxRows} per request; split it into smaller requests.`,
    { rows, maxRows, tooLarge: true },
  );
}

const positions = new WeakMap<ModelSignature, ReadonlyMap<string, number>>();

/** Column name to its position in the signature (cached per signature). */
export function positionOf(signature: ModelSignature): ReadonlyMap<string, number> {
  let map = positions.get(signature);
  if (!map) {
    map = new Map(signature.inputs.map((c, i) => [c.name, i] as const));
    positions.set(signature, map);
  }
  return map;
}

class BatchWriter {
  readonly values: Float64Array;
  readonly strings: ((string | null)[] | null)[];
  private readonly width: number;
  private readonly rowOffset: number;

  constructor(
    private readonly signature: ModelSignature,
    readonly nRows: number,
    limits: DecodeLimits,
  ) {
    if (nRows === 0) {
      throw new LoopmlError("INVALID_ARGUMENT", "The batch is empty; send at least one row.");
    }
    if (nRows > limits.maxRows) throw batchTooLarge(nRows, limits.maxRows);
    this.width = signature.inputs.length;
    this.rowOffset = limits.rowOffset ?? 0;
    this.values = new Float64Array(nRows * this.width);
    this.strings = signature.inputs.map((c) =>
      c.type === "string" ? new Array<string | null>(nRows).fill(null) : null,
    );
  }

  set(row: number, col: number, cell: unknown): void {
    const spec = this.signature.inputs[col] as ColumnSpec;
    const at = row * this.width + col;
    if (spec.type === "double") {
      if (typeof cell === "number") {
        if (cell === cell && cell !== Infinity && cell !== -Infinity) {
          this.values[at] = cell;
          return;
        }
        if (cell !== cell) return this.missing(spec, row, at);
        throw cellError(
          spec,
          row + this.rowOffset,
          `${cell} is not finite`,
          "send a finite number, or null for missing",
        );
      }
      if (cell === null || cell === undefined) return this.missing(spec, row, at);
      if (typeof cell === "boolean") {
        this.values[at] = cell ? 1 : 0;
        return;
      }
      throw cellError(
        spec,
        row + this.rowOffset,
        `${describe(cell)} is not a number`,
        "send a number, or null for missing",
      );
    }
    this.values[at] = NaN;
    const column = this.strings[col] as (string | null)[];
    if (typeof cell === "string") column[row] = cell;
    else if (typeof cell === "number" || typeof cell === "boolean") column[row] = String(cell);
    else if (cell === null || cell === undefined) {
      if (!spec.nullable)
        throw cellError(spec, row + this.rowOffset, "the value is missing", "send a string");
    } else
      throw cellError(
        spec,
        row + this.rowOffset,
        `${describe(cell)} is not a string`,
        "send a string, or null for missing",
      );
  }

  private missing(spec: ColumnSpec, row: number, at: number): void {
    if (!spec.nullable) {
      throw cellError(
        spec,
        row + this.rowOffset,
        "the value is missing (null or NaN)",
        "this model does not accept missing values; send a number",
      );
    }
    this.values[at] = NaN;
  }

  batch(): Batch {
    return { nRows: this.nRows, values: this.values, strings: this.strings };
  }
}

/**
 * Rows as arrays (positional, in signature order) or objects (keyed by column; absent keys are missing).
 *
 * @example
 * decodeRows(signature, [[1.5, null, 3], { f0: 2, f2: 1 }]);
 */
export function decodeRows(
  signature: ModelSignature,
  rows: unknown,
  limits: DecodeLimits = DEFAULT_LIMITS,
): Batch {
  if (!Array.isArray(rows)) {
    throw new LoopmlError("INVALID_ARGUMENT", `Rows must be a JSON array of rows, got ${describe(rows)}.`);
  }
  const inputs = signature.inputs;
  const width = inputs.length;
  const writer = new BatchWriter(signature, rows.length, limits);
  for (let r = 0; r < rows.length; r++) {
    const row: unknown = rows[r];
    if (Array.isArray(row)) {
      if (row.length !== width) {
        throw new LoopmlError(
          "INVALID_ARGUMENT",
          `Row ${r} has ${row.length} values but the model takes ${width} (${columnList(signature)}); send them in that order.`,
          { row: r },
        );
      }
      for (let c = 0; c < width; c++) writer.set(r, c, row[c]);
    } else if (row !== null && typeof row === "object") {
      const record = row as Record<string, unknown>;
      let found = 0;
      for (let c = 0; c < width; c++) {
        const name = (inputs[c] as ColumnSpec).name;
        const cell = record[name];
        if (cell !== undefined) found++;
        writer.set(r, c, cell);
      }
      let keys = 0;
      for (const key in record) if (record[key] !== undefined) keys++;
      if (keys !== found) throw unknownColumn(signature, Object.keys(record), `row ${r}`);
    } else {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Row ${r} is ${describe(row)}; send each row as an array of values or an object keyed by column.`,
        { row: r },
      );
    }
  }
  return writer.batch();
}

/**
 * Columnar input: `{ col: [v0, v1, …] }`; every signature column must be present, all of the same length.
 *
 * @example
 * decodeColumns(signature, { f0: [1, 2], f1: [null, 0.5] });
 */
export function decodeColumns(
  signature: ModelSignature,
  input: unknown,
  limits: DecodeLimits = DEFAULT_LIMITS,
): Batch {
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Columnar inputs must be an object of column arrays, got ${describe(input)}.`,
    );
  }
  const record = input as Record<string, unknown>;
  const names = Object.keys(record);
  const index = positionOf(signature);
  if (names.some((n) => !index.has(n))) throw unknownColumn(signature, names, "inputs");
  let nRows = -1;
  for (const spec of signature.inputs) {
    const column = record[spec.name];
    if (column === undefined) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Column "${spec.name}" is missing from the inputs; the model takes ${columnList(signature)} (send nulls for missing values).`,
        { column: spec.name },
      );
    }
    if (!Array.isArray(column)) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Column "${spec.name}" must be an array of values, got ${describe(column)}.`,
        {
          column: spec.name,
        },
      );
    }
    if (nRows >= 0 && column.length !== nRows) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Column "${spec.name}" has ${column.length} values but the other columns have ${nRows}; send columns of equal length.`,
        { column: spec.name },
      );
    }
    nRows = column.length;
  }
  const writer = new BatchWriter(signature, Math.max(nRows, 0), limits);
  signature.inputs.forEach((spec, c) => {
    const column = record[spec.name] as unknown[];
    for (let r = 0; r < column.length; r++) writer.set(r, c, column[r]);
  });
  return writer.batch();
}

/**
 * A pandas "split" frame: column names plus rows in that column order (MLflow's dataframe_split).
 *
 * @example
 * decodeSplit(signature, ["f1", "f0"], [[0.5, 1]]);
 */
export function decodeSplit(
  signature: ModelSignature,
  columns: unknown,
  data: unknown,
  limits: DecodeLimits = DEFAULT_LIMITS,
): Batch {
  if (!Array.isArray(columns)) return decodeRows(signature, data, limits);
  const index = positionOf(signature);
  const names = columns.map(String);
  if (names.some((n) => !index.has(n))) throw unknownColumn(signature, names, "columns");
  const missing = signature.inputs.filter((c) => !names.includes(c.name));
  if (missing.length > 0) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Column${missing.length > 1 ? "s" : ""} ${missing.map((c) => `"${c.name}"`).join(", ")} missing; the model takes ${columnList(signature)}.`,
      { column: missing[0]?.name },
    );
  }
  if (!Array.isArray(data)) {
    throw new LoopmlError("INVALID_ARGUMENT", `"data" must be an array of rows, got ${describe(data)}.`);
  }
  const target = names.map((n) => index.get(n) as number);
  const writer = new BatchWriter(signature, data.length, limits);
  for (let r = 0; r < data.length; r++) {
    const row: unknown = data[r];
    if (!Array.isArray(row) || row.length !== names.length) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Row ${r} must be an array of ${names.length} values (one per listed column), got ${describe(row)}.`,
        { row: r },
      );
    }
    for (let i = 0; i < target.length; i++) writer.set(r, target[i] as number, row[i]);
  }
  return writer.batch();
}

function unknownColumn(signature: ModelSignature, names: readonly string[], where: string): LoopmlError {
  const index = positionOf(signature);
  const unknown = names.filter((n) => !index.has(n));
  return new LoopmlError(
    "INVALID_ARGUMENT",
    `Unknown column${unknown.length > 1 ? "s" : ""} ${unknown.map((n) => `"${n}"`).join(", ")} in ${where}; the model takes ${columnList(signature)}.`,
    { column: unknown[0] },
  );
}

function cellError(spec: ColumnSpec, row: number, problem: string, fix: string): LoopmlError {
  return new LoopmlError(
    "INVALID_ARGUMENT",
    `Column "${spec.name}" (${spec.type}), row ${row}: ${problem}; ${fix}.`,
    {
      column: spec.name,
      row,
    },
  );
}

function columnList(signature: ModelSignature): string {
  const names = signature.inputs.map((c) => c.name);
  return names.length <= 12
    ? names.join(", ")
    : `${names.slice(0, 12).join(", ")}, … (${names.length} columns)`;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (typeof v === "object") return "an object";
  return v === undefined ? "missing" : `a ${typeof v}`;
}
