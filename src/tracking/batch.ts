// Writes one log batch (metrics, params, tags) in the caller's transaction: bulk point insert, multi-row inserts, summary upserts.
import type { Kysely } from "kysely";
import { LoopmlError } from "../errors.ts";
import type { Database, MetadataStore, MetricPointColumns } from "../store/types.ts";
import type { KeyValue } from "./types.ts";

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

/**
 * Appends the points through the store's bulk path and folds them into the per-key summaries:
 * one pass over the columns, then each touched summary read once and upserted once per batch.
 */
export async function writeMetrics(
  tx: Kysely<Database>,
  store: Pick<MetadataStore, "insertMetricPoints">,
  runId: string,
  points: MetricPointColumns,
): Promise<string[]> {
  const n = points.key.length;
  if (n === 0) return [];
  await store.insertMetricPoints(tx, runId, points);
  const fold = foldColumns(points);
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
  return keys;
}

/** The batch's own summary of each key it touches, in order of first appearance. */
function foldColumns(p: MetricPointColumns): Map<string, Summary> {
  const byIndex = new Array<Summary | undefined>(p.keys.length);
  const order: number[] = [];
  for (let i = 0; i < p.key.length; i++) {
    const k = p.key[i] as number;
    const v = p.value[i] as number;
    const isNan = Number.isNaN(v) ? 1 : 0;
    const value = isNan === 1 ? 0 : v;
    const step = p.step[i] as number;
    const ts = p.timestamp[i] as number;
    const s = byIndex[k];
    if (s === undefined) {
      byIndex[k] = summaryOf(value, isNan, step, ts);
      order.push(k);
    } else foldPoint(s, value, isNan, step, ts);
  }
  return new Map(order.map((k) => [p.keys[k] as string, byIndex[k] as Summary]));
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

function summaryOf(value: number, isNan: number, step: number, ts: number): Summary {
  const v = isNan === 1 ? null : value;
  return {
    last_value: value,
    last_is_nan: isNan,
    last_step: step,
    last_timestamp: ts,
    min_value: v,
    max_value: v,
    count: 1,
  };
}

/** "Last" is the point with the highest step, then the latest timestamp (as MLflow's latest metrics); ties go to the newer write. */
function isLater(step: number, ts: number, s: Summary): boolean {
  return step > s.last_step || (step === s.last_step && ts >= s.last_timestamp);
}

function foldPoint(s: Summary, value: number, isNan: number, step: number, ts: number): void {
  if (isLater(step, ts, s)) {
    s.last_value = value;
    s.last_is_nan = isNan;
    s.last_step = step;
    s.last_timestamp = ts;
  }
  if (isNan === 0) {
    s.min_value = s.min_value === null ? value : Math.min(s.min_value, value);
    s.max_value = s.max_value === null ? value : Math.max(s.max_value, value);
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
