// Reads a CSV or Parquet file (or a query over one) into a columnar Frame for learning, through DuckDB.
import { createFrame, type Column, type Frame } from "../learn/frame.ts";
import { openDuck, quoteIdent, readExpression, tableReadError, type Duck } from "./duck.ts";

/** How a source column was mapped: datetimes become epoch milliseconds, booleans 0/1. */
export type SourceKind = "numeric" | "boolean" | "datetime" | "categorical";

export interface ReadFrameOptions {
  /** Only these columns, in this order (default: all). */
  readonly columns?: readonly string[];
  /** A SQL condition over the file's columns, e.g. `month(date) = 1`. Written by code, never by end users. */
  readonly where?: string;
  readonly orderBy?: string;
  readonly limit?: number;
}

export interface ReadFrameResult {
  readonly frame: Frame;
  readonly kinds: Readonly<Record<string, SourceKind>>;
}

const NUMERIC =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|REAL|DECIMAL.*)$/;
const DATETIME = /^(DATE|TIMESTAMP.*)$/;

/**
 * @example
 * const { frame } = await readFrame("flights.parquet", { where: "month(date) = 1" });
 */
export async function readFrame(
  path: string,
  options: ReadFrameOptions = {},
  duck?: Duck,
): Promise<ReadFrameResult> {
  const own = duck === undefined;
  const d = duck ?? (await openDuck());
  try {
    const source = readExpression(path);
    let described;
    try {
      described = (await d.conn.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`)).getRowObjects();
    } catch (e) {
      throw tableReadError(e, path);
    }
    const types = new Map(described.map((r) => [String(r["column_name"]), String(r["column_type"])]));
    const names = options.columns ?? [...types.keys()];
    const kinds: Record<string, SourceKind> = {};
    const dictionaries = new Map<string, string[]>();
    const select: string[] = [];
    for (const [i, name] of names.entries()) {
      const type = types.get(name);
      if (type === undefined) throw missingColumn(name, path, [...types.keys()]);
      const q = quoteIdent(name);
      // Every column arrives as a DOUBLE without NULLs, so that chunks can be copied as typed arrays.
      if (NUMERIC.test(type) || type === "BOOLEAN") {
        kinds[name] = type === "BOOLEAN" ? "boolean" : "numeric";
        select.push(`COALESCE(CAST(${q} AS DOUBLE), 'NaN'::DOUBLE)`);
      } else if (DATETIME.test(type)) {
        kinds[name] = "datetime";
        select.push(`COALESCE(CAST(epoch_ms(CAST(${q} AS TIMESTAMP)) AS DOUBLE), 'NaN'::DOUBLE)`);
      } else {
        // Categoricals are dictionary-encoded by DuckDB itself: an ENUM type over the distinct values, then enum_code.
        kinds[name] = "categorical";
        const enumType = `loopml_enum_${process.pid}_${enumCounter++}_${i}`;
        await run(
          d,
          `CREATE TYPE ${enumType} AS ENUM (SELECT DISTINCT CAST(${q} AS VARCHAR) FROM ${source} WHERE ${q} IS NOT NULL ORDER BY 1)`,
          path,
        );
        const dict =
          (await d.conn.runAndReadAll(`SELECT unnest(enum_range(NULL::${enumType})) AS v`)).getColumns()[0] ??
          [];
        dictionaries.set(name, dict.map(String));
        select.push(`COALESCE(CAST(enum_code(CAST(CAST(${q} AS VARCHAR) AS ${enumType})) AS DOUBLE), -1)`);
      }
    }
    const sql = [
      `SELECT ${select.join(", ")} FROM ${source}`,
      options.where ? `WHERE ${options.where}` : "",
      options.orderBy ? `ORDER BY ${options.orderBy}` : "",
      options.limit !== undefined ? `LIMIT ${Math.max(0, Math.floor(options.limit))}` : "",
    ].join(" ");
    let result;
    try {
      result = await d.conn.stream(sql);
    } catch (e) {
      throw tableReadError(e, path);
    }
    const builders = names.map(() => new DoubleBuilder());
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      for (let c = 0; c < builders.length; c++) builders[c]?.append(chunk.getColumnVector(c), chunk.rowCount);
    }
    const columns = names.map((name, c): Column => {
      const values = (builders[c] as DoubleBuilder).finish();
      const dictionary = dictionaries.get(name);
      return dictionary
        ? { kind: "categorical", name, codes: Int32Array.from(values), dictionary }
        : { kind: "numeric", name, values };
    });
    return { frame: createFrame(columns), kinds };
  } finally {
    if (own) await d.close();
  }
}

function missingColumn(name: string, path: string, existing: string[]): Error {
  return tableReadError(new Error(`it has no column "${name}" (columns: ${existing.join(", ")})`), path);
}

let enumCounter = 0;

async function run(d: Duck, sql: string, path: string): Promise<void> {
  try {
    await d.conn.run(sql);
  } catch (e) {
    throw tableReadError(e, path);
  }
}

/** Appends DOUBLE vectors into one growing Float64Array, copying whole chunks when DuckDB exposes them. */
class DoubleBuilder {
  private values = new Float64Array(1 << 16);
  private n = 0;
  append(vector: { getItem(i: number): unknown }, count: number): void {
    while (this.n + count > this.values.length) {
      const next = new Float64Array(this.values.length * 2);
      next.set(this.values.subarray(0, this.n));
      this.values = next;
    }
    // The node-api DOUBLE vector keeps its data in `items`; fall back to getItem if that ever changes.
    const items = (vector as { items?: unknown }).items;
    if (items instanceof Float64Array && items.length >= count) {
      this.values.set(items.subarray(0, count), this.n);
    } else {
      for (let i = 0; i < count; i++) {
        const v = vector.getItem(i);
        this.values[this.n + i] = typeof v === "number" ? v : NaN;
      }
    }
    this.n += count;
  }
  finish(): Float64Array {
    return this.values.slice(0, this.n);
  }
}
