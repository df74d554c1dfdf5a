// Column profiles of CSV/Parquet files with DuckDB: inferred types, counts, moments, quantiles, histograms, top-k.
import type { DuckDBConnection } from "@duckdb/node-api";
import { LoopmlError } from "../errors.ts";
import type { ColumnProfile, ColumnType, TableProfile } from "./types.ts";
import { isTabular, openDuck, quoteIdent, readExpression, tableReadError } from "./duck.ts";

export { isTabular };

export const HISTOGRAM_BINS = 20;
export const TOP_K = 10;
const QUANTILES: readonly (readonly [string, number])[] = [
  ["p01", 0.01],
  ["p05", 0.05],
  ["p25", 0.25],
  ["p50", 0.5],
  ["p75", 0.75],
  ["p95", 0.95],
  ["p99", 0.99],
];

/** A text column with at most this many distinct values (or 5% of rows, if more) is categorical. */
const CATEGORICAL_MAX = 1000;

export function columnType(sourceType: string, distinct: number, rows: number): ColumnType {
  const t = sourceType.toUpperCase();
  if (t === "BOOLEAN") return "boolean";
  if (/^(U?TINYINT|U?SMALLINT|U?INTEGER|U?BIGINT|U?HUGEINT)$/.test(t)) return "integer";
  if (/^(FLOAT|DOUBLE|REAL|DECIMAL)/.test(t)) return "numeric";
  if (/^(DATE|TIME|TIMESTAMP)/.test(t)) return "datetime";
  if (t === "VARCHAR" && distinct <= Math.max(20, Math.min(CATEGORICAL_MAX, rows * 0.05)))
    return "categorical";
  return "text";
}

function num(v: unknown): number | undefined {
  if (v === null || v === undefined) return undefined;
  const n = typeof v === "number" ? v : Number(v);
  return Number.isFinite(n) ? n : undefined;
}

async function rows(conn: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  return (await conn.runAndReadAll(sql)).getRowObjectsJson();
}

/** Profiles each file; a file DuckDB cannot read fails with INVALID_ARGUMENT naming it. */
export async function profileTables(
  files: readonly { path: string; abs: string }[],
): Promise<Record<string, TableProfile>> {
  const out: Record<string, TableProfile> = {};
  if (files.length === 0) return out;
  const duck = await openDuck();
  try {
    for (const f of files) out[f.path] = await profileFile(duck.conn, f.abs, f.path);
  } finally {
    await duck.close();
  }
  return out;
}

export async function profileFile(conn: DuckDBConnection, abs: string, path: string): Promise<TableProfile> {
  // One load, many scans: the CSV is parsed once into a temporary table.
  try {
    await conn.run(`CREATE OR REPLACE TEMP TABLE profiled AS SELECT * FROM ${readExpression(abs, path)}`);
  } catch (e) {
    throw tableReadError(e, path);
  }
  try {
    return await profileTable(conn, "profiled");
  } finally {
    await conn.run("DROP TABLE IF EXISTS profiled");
  }
}

/** Profiles an existing table or view. */
export async function profileTable(conn: DuckDBConnection, table: string): Promise<TableProfile> {
  const described = await rows(conn, `DESCRIBE ${quoteIdent(table)}`);
  const cols = described.map((r) => ({ name: String(r["column_name"]), type: String(r["column_type"]) }));
  // DuckDB's SQL parser cannot take a NUL inside a quoted identifier: name the bad header instead of failing on SQL.
  const nul = cols.find((c) => c.name.includes("\u0000"));
  if (nul) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Column name ${JSON.stringify(nul.name)} contains a NUL character; fix the header row.`,
      { column: nul.name },
    );
  }
  const t = quoteIdent(table);
  const aggs: string[] = ["count(*) AS n"];
  cols.forEach((c, i) => {
    const q = quoteIdent(c.name);
    aggs.push(`count(${q}) AS c${i}`, `approx_count_distinct(${q}) AS d${i}`);
    const kind = columnType(c.type, 0, 0);
    if (kind === "integer" || kind === "numeric") {
      const x = `${q}::DOUBLE`;
      aggs.push(
        `min(${x}) AS lo${i}`,
        `max(${x}) AS hi${i}`,
        `avg(${x}) AS mean${i}`,
        `stddev_samp(${x}) AS sd${i}`,
      );
      // one t-digest per column for all quantiles: seven separate aggregates cost seven times as much
      aggs.push(`approx_quantile(${x}, [${QUANTILES.map(([, p]) => p).join(", ")}]) AS q${i}`);
    } else if (kind === "datetime") {
      aggs.push(`min(${q})::VARCHAR AS lo${i}`, `max(${q})::VARCHAR AS hi${i}`);
    }
  });
  const [summary = {}] = await rows(conn, `SELECT ${aggs.join(", ")} FROM ${t}`);
  const n = num(summary["n"]) ?? 0;
  const columns: ColumnProfile[] = [];
  for (let i = 0; i < cols.length; i++) {
    const c = cols[i]!;
    const q = quoteIdent(c.name);
    const count = num(summary[`c${i}`]) ?? 0;
    const distinct = Math.min(num(summary[`d${i}`]) ?? 0, count);
    const type = columnType(c.type, distinct, n);
    let profile: ColumnProfile = {
      name: c.name,
      type,
      sourceType: c.type,
      count,
      missing: n - count,
      distinct,
    };
    if (type === "integer" || type === "numeric") {
      const lo = num(summary[`lo${i}`]);
      const hi = num(summary[`hi${i}`]);
      const quantiles: Record<string, number> = {};
      const qs = summary[`q${i}`];
      QUANTILES.forEach(([name], k) => {
        const v = Array.isArray(qs) ? num(qs[k]) : undefined;
        if (v !== undefined) quantiles[name] = v;
      });
      const mean = num(summary[`mean${i}`]);
      const std = num(summary[`sd${i}`]);
      profile = {
        ...profile,
        ...(lo !== undefined && { min: lo }),
        ...(hi !== undefined && { max: hi }),
        ...(mean !== undefined && { mean }),
        ...(std !== undefined && { std }),
        quantiles,
        ...(lo !== undefined && hi !== undefined && { histogram: await histogram(conn, t, q, lo, hi) }),
      };
    } else if (type === "datetime") {
      const lo = summary[`lo${i}`];
      const hi = summary[`hi${i}`];
      profile = {
        ...profile,
        ...(typeof lo === "string" && { min: lo }),
        ...(typeof hi === "string" && { max: hi }),
      };
    } else if (type === "categorical" || type === "boolean") {
      const top = await rows(
        conn,
        `SELECT ${q}::VARCHAR AS v, count(*) AS k FROM ${t} WHERE ${q} IS NOT NULL GROUP BY 1 ORDER BY k DESC, v LIMIT ${TOP_K}`,
      );
      profile = { ...profile, top: top.map((r) => ({ value: String(r["v"]), count: num(r["k"]) ?? 0 })) };
    }
    columns.push(profile);
  }
  return { rows: n, columns };
}

/** Equal-width bins over [lo, hi]; a constant column is one bin. */
async function histogram(
  conn: DuckDBConnection,
  t: string,
  q: string,
  lo: number,
  hi: number,
): Promise<{ edges: number[]; counts: number[] }> {
  const bins = hi > lo ? HISTOGRAM_BINS : 1;
  const width = hi > lo ? (hi - lo) / bins : 1;
  const edges = Array.from({ length: bins + 1 }, (_, k) => (k === bins ? hi : lo + k * width));
  const counts = new Array<number>(bins).fill(0);
  const got = await rows(
    conn,
    `SELECT least(${bins - 1}, greatest(0, floor((${q}::DOUBLE - ${lo}) / ${width})))::INTEGER AS b, count(*) AS k FROM ${t} WHERE ${q} IS NOT NULL AND isfinite(${q}::DOUBLE) GROUP BY 1`,
  );
  for (const r of got) {
    const b = num(r["b"]);
    if (b !== undefined) counts[b] = num(r["k"]) ?? 0;
  }
  return { edges, counts };
}
