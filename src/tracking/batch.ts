// Writes one log batch (metrics, params, tags) in the caller's transaction: multi-row inserts and summary upserts.
import { CompiledQuery, sql, type Kysely } from "kysely";
import { LoopmlError } from "../errors.ts";
import type { Database, Dialect } from "../store/types.ts";
import type { KeyValue, MetricInput } from "./types.ts";

/** Rows per INSERT statement: 6 columns × 500 stays far below SQLite's and PostgreSQL's bind-variable limits. */
const ROWS_PER_INSERT = 500;

interface Summary {
  last_value: number;
  last_is_nan: number;
  last_step: number;
  last_timestamp: number;
  min_value: number | null;
  max_value: number | null;
  count: number;
}

export async function writeParams(
  tx: Kysely<Database>,
  runId: string,
  params: readonly KeyValue[],
): Promise<number> {
  if (params.length === 0) return 0;
  const wanted = new Map<string, string>();
  for (const p of params) {
    const prior = wanted.get(p.key);
    if (prior !== undefined && prior !== p.value) throw paramConflict(runId, p.key, prior, p.value);
    wanted.set(p.key, p.value);
  }
  const existing = new Map<string, string>();
  for (const keys of chunks([...wanted.keys()], ROWS_PER_INSERT)) {
    const rows = await tx
      .selectFrom("run_params")
      .select(["key", "value"])
      .where("run_id", "=", runId)
      .where("key", "in", keys)
      .execute();
    for (const r of rows) existing.set(r.key, r.value);
  }
  const fresh: Database["run_params"][] = [];
  for (const [key, value] of wanted) {
    const old = existing.get(key);
    if (old === undefined) fresh.push({ run_id: runId, key, value });
    else if (old !== value) throw paramConflict(runId, key, old, value);
  }
  for (const rows of chunks(fresh, ROWS_PER_INSERT)) await tx.insertInto("run_params").values(rows).execute();
  return fresh.length;
}

function paramConflict(runId: string, key: string, old: string, value: string): LoopmlError {
  return new LoopmlError(
    "CONFLICT",
    `Param "${key}" of run ${runId} is already "${old}" and cannot change to "${value}": params are immutable, log a new run or use a tag.`,
    { runId, key, old, value },
  );
}

export async function writeTags(
  tx: Kysely<Database>,
  runId: string,
  tags: readonly KeyValue[],
): Promise<void> {
  const last = new Map(tags.map((t) => [t.key, t.value]));
  const rows = [...last].map(([key, value]) => ({ run_id: runId, key, value }));
  for (const part of chunks(rows, ROWS_PER_INSERT)) {
    await tx
      .insertInto("run_tags")
      .values(part)
      .onConflict((oc) =>
        oc.columns(["run_id", "key"]).doUpdateSet((eb) => ({ value: eb.ref("excluded.value") })),
      )
      .execute();
  }
}

/** Appends the points and folds them into the per-key summaries, reading each touched summary once. */
export async function writeMetrics(
  tx: Kysely<Database>,
  dialect: Dialect,
  runId: string,
  metrics: readonly MetricInput[],
  now: number,
): Promise<void> {
  if (metrics.length === 0) return;
  const rows: Database["run_metrics"][] = new Array<Database["run_metrics"]>(metrics.length);
  const fold = new Map<string, Summary>();
  for (let i = 0; i < metrics.length; i++) {
    const m = metrics[i] as MetricInput;
    const isNan = Number.isNaN(m.value);
    const row = {
      run_id: runId,
      key: m.key,
      step: m.step ?? 0,
      timestamp: m.timestamp ?? now,
      value: isNan ? 0 : m.value,
      is_nan: isNan ? 1 : 0,
    };
    rows[i] = row;
    const s = fold.get(m.key);
    if (s) foldPoint(s, row);
    else fold.set(m.key, summaryOf(row));
  }
  await insertPoints(tx, dialect, runId, rows);

  const keys = [...fold.keys()];
  for (const part of chunks(keys, ROWS_PER_INSERT)) {
    const old = await tx
      .selectFrom("run_metric_summaries")
      .selectAll()
      .where("run_id", "=", runId)
      .where("key", "in", part)
      .execute();
    for (const o of old) {
      const s = fold.get(o.key) as Summary;
      fold.set(o.key, merge(normalise(o), s));
    }
  }
  const upserts = [...fold].map(([key, s]) => ({ run_id: runId, key, ...s }));
  for (const part of chunks(upserts, ROWS_PER_INSERT)) {
    await tx
      .insertInto("run_metric_summaries")
      .values(part)
      .onConflict((oc) =>
        oc.columns(["run_id", "key"]).doUpdateSet((eb) => ({
          last_value: eb.ref("excluded.last_value"),
          last_is_nan: eb.ref("excluded.last_is_nan"),
          last_step: eb.ref("excluded.last_step"),
          last_timestamp: eb.ref("excluded.last_timestamp"),
          min_value: eb.ref("excluded.min_value"),
          max_value: eb.ref("excluded.max_value"),
          count: eb.ref("excluded.count"),
        })),
      )
      .execute();
  }
}

const SQLITE_JSON_INSERT = `insert into run_metrics (run_id, key, step, timestamp, value, is_nan)
  select ?, json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]'), json_extract(j.value, '$[2]'),
    json_extract(j.value, '$[3]'), json_extract(j.value, '$[4]') from json_each(?) as j`;

/**
 * The series insert is the hot path (millions of points): one statement per batch with the points as
 * one parameter — JSON unpacked by SQLite's json_each, arrays by PostgreSQL's unnest. Measured on
 * SQLite (200k points, 5,000 per batch): 6.3 µs/point CPU this way, 7.8 µs with multi-row VALUES of
 * 250 rows (each statement is prepared anew through the query layer, and preparing 1,500 bound
 * values costs more than json_extract), 5.6 µs with one prepared single-row statement reused,
 * which the query layer cannot hold.
 */
async function insertPoints(
  tx: Kysely<Database>,
  dialect: Dialect,
  runId: string,
  rows: readonly Database["run_metrics"][],
): Promise<void> {
  if (dialect === "postgres") {
    await sql`insert into run_metrics (run_id, key, step, timestamp, value, is_nan)
      select ${runId}, k, s, t, v, n from unnest(${rows.map((r) => r.key)}::text[], ${rows.map((r) => r.step)}::float8[],
        ${rows.map((r) => r.timestamp)}::float8[], ${rows.map((r) => r.value)}::float8[], ${rows.map((r) => r.is_nan)}::int[]) as x(k, s, t, v, n)`.execute(
      tx,
    );
    return;
  }
  // The JSON text is built directly (each key quoted once), not as arrays then stringified.
  // JSON cannot carry ±Infinity: those rare points take the ordinary insert.
  const quoted = new Map<string, string>();
  const parts: string[] = [];
  const infinite: Database["run_metrics"][] = [];
  for (const r of rows) {
    if (!Number.isFinite(r.value)) {
      infinite.push(r);
      continue;
    }
    let q = quoted.get(r.key);
    if (q === undefined) {
      q = JSON.stringify(r.key);
      quoted.set(r.key, q);
    }
    parts.push(`[${q},${r.step},${r.timestamp},${r.value},${r.is_nan}]`);
  }
  if (parts.length > 0) {
    await tx.executeQuery(CompiledQuery.raw(SQLITE_JSON_INSERT, [runId, `[${parts.join(",")}]`]));
  }
  for (const part of chunks(infinite, ROWS_PER_INSERT))
    await tx.insertInto("run_metrics").values(part).execute();
}

function normalise(row: Database["run_metric_summaries"]): Summary {
  return {
    last_value: Number(row.last_value),
    last_is_nan: row.last_is_nan,
    last_step: Number(row.last_step),
    last_timestamp: Number(row.last_timestamp),
    min_value: row.min_value === null ? null : Number(row.min_value),
    max_value: row.max_value === null ? null : Number(row.max_value),
    count: Number(row.count),
  };
}

function summaryOf(r: Database["run_metrics"]): Summary {
  const v = r.is_nan === 1 ? null : r.value;
  return {
    last_value: r.value,
    last_is_nan: r.is_nan,
    last_step: r.step,
    last_timestamp: r.timestamp,
    min_value: v,
    max_value: v,
    count: 1,
  };
}

/** "Last" is the point with the highest step, then the latest timestamp (as MLflow's latest metrics); ties go to the newer write. */
function isLater(step: number, ts: number, s: Summary): boolean {
  return step > s.last_step || (step === s.last_step && ts >= s.last_timestamp);
}

function foldPoint(s: Summary, r: Database["run_metrics"]): void {
  if (isLater(r.step, r.timestamp, s)) {
    s.last_value = r.value;
    s.last_is_nan = r.is_nan;
    s.last_step = r.step;
    s.last_timestamp = r.timestamp;
  }
  if (r.is_nan === 0) {
    s.min_value = s.min_value === null ? r.value : Math.min(s.min_value, r.value);
    s.max_value = s.max_value === null ? r.value : Math.max(s.max_value, r.value);
  }
  s.count++;
}

function merge(old: Summary, add: Summary): Summary {
  const newer = isLater(add.last_step, add.last_timestamp, old);
  const pick = (a: number | null, b: number | null, f: (x: number, y: number) => number): number | null =>
    a === null ? b : b === null ? a : f(a, b);
  return {
    ...(newer ? add : old),
    min_value: pick(old.min_value, add.min_value, Math.min),
    max_value: pick(old.max_value, add.max_value, Math.max),
    count: old.count + add.count,
  };
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
