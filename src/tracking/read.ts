// Reading runs back with their params, tags, metric summaries and inputs: one query per page of runs.
import { sql, type Kysely, type RawBuilder } from "kysely";
import { LoopmlError } from "../errors.ts";
import type { Database, Dialect } from "../store/types.ts";
import { chunks } from "./batch.ts";
import { runInfoFromRow, summaryFromRow } from "./rows.ts";
import type { DatasetInput, MetricSummary, Run } from "./types.ts";

export async function requireRun(db: Kysely<Database>, id: string): Promise<Database["runs"]> {
  const row = await db.selectFrom("runs").selectAll().where("id", "=", id).executeTakeFirst();
  if (!row) {
    throw new LoopmlError(
      "NOT_FOUND",
      `Run "${id}" does not exist. Find runs with loopml runs list or loopml runs search.`,
      {
        runId: id,
      },
    );
  }
  return row;
}

type Cell = string | number | null;

/** The child rows of each run as one JSON array per table, so a page of runs is one round trip. */
function childArrays(dialect: Dialect): RawBuilder<unknown> {
  const agg = (cols: string, table: string): RawBuilder<unknown> =>
    dialect === "postgres"
      ? sql.raw(
          `(select coalesce(json_agg(json_build_array(${cols})), '[]') from ${table} as c where c.run_id = r.id)`,
        )
      : sql.raw(`(select json_group_array(json_array(${cols})) from ${table} as c where c.run_id = r.id)`);
  return sql`${agg("key, value", "run_params")} as params, ${agg("key, value", "run_tags")} as tags,
    ${agg("key, last_value, last_is_nan, last_step, last_timestamp, min_value, max_value, count", "run_metric_summaries")} as metrics,
    ${agg("dataset, version, context", "run_inputs")} as inputs`;
}

/** SQLite returns the aggregate as text, PostgreSQL's driver as parsed JSON; ±Infinity arrive as 9e999 or "Infinity". */
function rowsOf(v: unknown): Cell[][] {
  return (typeof v === "string" ? JSON.parse(v) : v) as Cell[][];
}

const num = (c: Cell): number => Number(c);

/** The runs with these ids, in the order given (missing ids are skipped): one query per 500 runs. */
export async function loadRuns(
  db: Kysely<Database>,
  ids: readonly string[],
  dialect: Dialect,
): Promise<Run[]> {
  if (ids.length === 0) return [];
  const byId = new Map<string, Run>();
  for (const part of chunks(ids, 500)) {
    const rows = await sql<
      Database["runs"] & { params: unknown; tags: unknown; metrics: unknown; inputs: unknown }
    >`
      select r.*, ${childArrays(dialect)} from runs as r where r.id in (${sql.join(part.map((id) => sql`${id}`))})`.execute(
      db,
    );
    for (const row of rows.rows) {
      const metrics: Record<string, MetricSummary> = {};
      for (const [key, last, isNan, step, ts, min, max, count] of rowsOf(row.metrics)) {
        metrics[String(key)] = summaryFromRow({
          run_id: row.id,
          key: String(key),
          last_value: num(last ?? 0),
          last_is_nan: num(isNan ?? 0),
          last_step: num(step ?? 0),
          last_timestamp: num(ts ?? 0),
          min_value: min === null || min === undefined ? null : num(min),
          max_value: max === null || max === undefined ? null : num(max),
          count: num(count ?? 0),
        });
      }
      const pairs = (v: unknown): Record<string, string> =>
        Object.fromEntries(rowsOf(v).map(([k, val]) => [String(k), String(val)]));
      byId.set(row.id, {
        info: runInfoFromRow({
          ...row,
          start_time: Number(row.start_time),
          end_time: row.end_time === null ? null : Number(row.end_time),
        }),
        params: pairs(row.params),
        tags: pairs(row.tags),
        metrics,
        inputs: rowsOf(row.inputs).map(([dataset, version, context]): DatasetInput => ({
          dataset: String(dataset),
          version: String(version),
          context: String(context),
        })),
      });
    }
  }
  const out: Run[] = [];
  for (const id of ids) {
    const run = byId.get(id);
    if (run) out.push(run);
  }
  return out;
}
