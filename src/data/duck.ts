// DuckDB plumbing shared by profiles and queries: an in-memory engine, safe quoting, strict CSV reading.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { LoopmlError } from "../errors.ts";

export interface Duck {
  readonly conn: DuckDBConnection;
  close(): Promise<void>;
}

/** An in-memory DuckDB that may spill to a private temp folder, removed on close. */
export async function openDuck(): Promise<Duck> {
  const spill = await mkdtemp(join(tmpdir(), "loopml-duck-"));
  const instance = await DuckDBInstance.create(":memory:", {
    threads: "2",
    temp_directory: spill,
    // no network: extensions cannot be downloaded here, and a query must never try
    autoinstall_known_extensions: "false",
    autoload_known_extensions: "false",
  });
  const conn = await instance.connect();
  return {
    conn,
    close: async () => {
      conn.closeSync();
      instance.closeSync();
      await rm(spill, { recursive: true, force: true });
    },
  };
}

export function quoteString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

export function quoteIdent(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}

export function isTabular(path: string): boolean {
  return /\.(csv|parquet)$/i.test(path);
}

/**
 * A table expression reading the file. CSV dialect is fixed (comma, double quote, header, no
 * skipped lines) and strict, so ragged rows and broken quotes fail instead of being guessed around.
 */
export function readExpression(abs: string, logicalPath: string = abs): string {
  if (/\.parquet$/i.test(logicalPath)) return `read_parquet(${quoteString(abs)})`;
  return `read_csv(${quoteString(abs)}, header=true, delim=',', quote='"', escape='"', skip=0, strict_mode=true, null_padding=false, comment='')`;
}

/** DuckDB's reading errors, as the user's bad input. */
export function tableReadError(e: unknown, path: string): LoopmlError {
  const msg = e instanceof Error ? e.message : String(e);
  const first = msg.split("\n").find((l) => l.trim() !== "") ?? msg;
  const csv = /\.csv$/i.test(path);
  return new LoopmlError(
    "INVALID_ARGUMENT",
    csv
      ? `${path} is not a well-formed CSV file (comma-separated, with a header, every row the same number of fields, quotes closed): ${first}`
      : `${path} cannot be read as Parquet: ${first}`,
    { path },
    { cause: e },
  );
}
