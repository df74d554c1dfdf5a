// Run search: a parsed filter and ordering turned into one SQL query over runs and the metric summaries, never the series.
import { sql, type Kysely, type RawBuilder } from "kysely";
import { LoopmlError } from "../errors.ts";
import type { Database, Dialect } from "../store/types.ts";
import { ATTRIBUTES, parseFilter, parseOrderBy, type Condition, type OrderTerm } from "./filter.ts";

export const MAX_RESULTS = 50_000;
export const DEFAULT_RESULTS = 100;

export interface SearchPlan {
  readonly experimentIds?: readonly string[];
  readonly filter?: string;
  readonly orderBy?: readonly string[];
  readonly maxResults?: number;
  readonly pageToken?: string;
  readonly includeDeleted?: boolean;
}

export function decodePageToken(token: string | undefined): number {
  if (token === undefined || token === "") return 0;
  try {
    const v = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { offset?: unknown };
    if (typeof v.offset === "number" && Number.isSafeInteger(v.offset) && v.offset >= 0) return v.offset;
  } catch {
    // reported below
  }
  throw new LoopmlError(
    "INVALID_ARGUMENT",
    `Page token "${token}" is not one this server issued; start again without it.`,
  );
}

export function encodePageToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset }), "utf8").toString("base64url");
}

const SQL_OPS: Readonly<Record<string, string>> = {
  "=": "=",
  "!=": "<>",
  "<": "<",
  "<=": "<=",
  ">": ">",
  ">=": ">=",
  LIKE: "like",
};

function comparison(dialect: Dialect, column: RawBuilder<unknown>, c: Condition): RawBuilder<unknown> {
  if (c.op === "IN" || c.op === "NOT IN") {
    const list = c.value as readonly string[];
    return sql`${column} ${sql.raw(c.op === "IN" ? "in" : "not in")} (${sql.join(list.map((v) => sql`${v}`))})`;
  }
  if (c.op === "ILIKE") {
    return dialect === "postgres"
      ? sql`${column} ilike ${c.value}`
      : sql`lower(${column}) like lower(${c.value})`;
  }
  return sql`${column} ${sql.raw(SQL_OPS[c.op] ?? "=")} ${c.value}`;
}

/** The ids of one page of matching runs, in order, plus whether more follow. */
export async function searchRunIds(
  db: Kysely<Database>,
  dialect: Dialect,
  plan: SearchPlan,
): Promise<{ ids: string[]; nextOffset?: number }> {
  const conditions = parseFilter(plan.filter);
  const order = parseOrderBy(plan.orderBy);
  const limit = plan.maxResults ?? DEFAULT_RESULTS;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_RESULTS) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `max_results must be between 1 and ${MAX_RESULTS}, not ${limit}.`,
    );
  }
  const offset = decodePageToken(plan.pageToken);
  const filters: Filter[] = [];
  const where: RawBuilder<unknown>[] = [];
  conditions.forEach((c, i) => {
    if (c.entity === "attribute") {
      where.push(comparison(dialect, sql.ref(`r.${ATTRIBUTES[c.key]?.column ?? "id"}`), c));
      return;
    }
    const alias = `f${i}`;
    const table =
      c.entity === "metric" ? "run_metric_summaries" : c.entity === "param" ? "run_params" : "run_tags";
    const col = sql.ref(`${alias}.${c.entity === "metric" ? "last_value" : "value"}`);
    const nan = c.entity === "metric" ? sql` and ${sql.ref(`${alias}.last_is_nan`)} = 0` : sql``;
    filters.push({
      alias,
      table,
      metricKey: c.entity === "metric" ? c.key : undefined,
      cond: sql`${sql.ref(`${alias}.key`)} = ${c.key}${nan} and ${comparison(dialect, col, c)}`,
    });
  });
  if (!plan.includeDeleted) where.push(sql`r.lifecycle_stage = 'active'`);
  if (plan.experimentIds !== undefined) {
    if (plan.experimentIds.length === 0) return { ids: [] };
    where.push(sql`r.experiment_id in (${sql.join(plan.experimentIds.map((e) => sql`${e}`))})`);
  }
  const [primary, ...rest] = order;
  if (primary?.entity !== "metric") {
    const joins = filters.map(joinOf);
    const orderSql = order.map((o, i) => orderTerm(o, i, joins));
    orderSql.push(sql`r.start_time desc`, sql`r.id asc`);
    const rows = await page(db, sql`runs as r`, joins, where, orderSql, limit + 1, offset);
    return paged(rows, limit, offset);
  }
  // Sorted by a metric: the store walks the summaries index of that key in order and stops after a
  // page, instead of joining every run of the experiment and sorting them all.
  const dir = sql.raw(primary.descending ? "desc" : "asc");
  const filtered = filters.find((f) => f.metricKey === primary.key);
  const driver: Filter = filtered ?? {
    alias: "d",
    table: "run_metric_summaries",
    metricKey: primary.key,
    cond: sql`d.key = ${primary.key} and d.last_is_nan = 0`,
  };
  const others = filters.filter((f) => f !== driver).map(joinOf);
  const restSql = rest.map((o, i) => orderTerm(o, i + 1, others));
  const from = sql`${sql.table(driver.table)} as ${sql.id(driver.alias)} cross join runs as r`;
  const driverWhere = [sql`r.id = ${sql.ref(`${driver.alias}.run_id`)}`, driver.cond, ...where];
  const orderA = [
    sql`${sql.ref(`${driver.alias}.last_value`)} ${dir}`,
    ...restSql,
    sql`${sql.ref(`${driver.alias}.run_id`)} ${dir}`,
  ];
  const rowsA = await page(db, from, others, driverWhere, orderA, limit + 1, offset);
  if (filtered || rowsA.length > limit) return paged(rowsA, limit, offset);
  // Runs without a numeric value for the sort key come after every run that has one.
  let offsetB = 0;
  if (offset > 0) {
    const counted = await sql<{ n: number | string }>`select count(*) as n from ${from} ${sql.join(
      others.map((j) => j.sql),
      sql` `,
    )} where ${sql.join(driverWhere, sql` and `)}`.execute(db);
    offsetB = Math.max(0, offset - Number(counted.rows[0]?.n ?? 0));
  }
  const missing = sql`not exists (select 1 from run_metric_summaries as x where x.run_id = r.id and x.key = ${primary.key} and x.last_is_nan = 0)`;
  const rowsB = await page(
    db,
    sql`runs as r`,
    others,
    [...where, missing],
    [...restSql, sql`r.start_time desc`, sql`r.id asc`],
    limit + 1 - rowsA.length,
    offsetB,
  );
  return paged([...rowsA, ...rowsB], limit, offset);
}

interface Filter {
  readonly alias: string;
  readonly table: string;
  readonly metricKey: string | undefined;
  /** The key and comparison, without the join to the run. */
  readonly cond: RawBuilder<unknown>;
}

interface Join {
  readonly sql: RawBuilder<unknown>;
}

/** Inner joins on (run_id, key) — each unique — so the planner may start from the most selective side. */
function joinOf(f: Filter): Join {
  return {
    sql: sql`join ${sql.table(f.table)} as ${sql.id(f.alias)} on ${sql.ref(`${f.alias}.run_id`)} = r.id and ${f.cond}`,
  };
}

async function page(
  db: Kysely<Database>,
  from: RawBuilder<unknown>,
  joins: readonly Join[],
  where: readonly RawBuilder<unknown>[],
  order: readonly RawBuilder<unknown>[],
  limit: number,
  offset: number,
): Promise<string[]> {
  const whereSql = where.length > 0 ? sql`where ${sql.join([...where], sql` and `)}` : sql``;
  const q = sql<{ id: string }>`select r.id as id from ${from} ${sql.join(
    joins.map((j) => j.sql),
    sql` `,
  )} ${whereSql} order by ${sql.join([...order])} limit ${limit} offset ${offset}`;
  return (await q.execute(db)).rows.map((r) => r.id);
}

function paged(rows: string[], limit: number, offset: number): { ids: string[]; nextOffset?: number } {
  const ids = rows.slice(0, limit);
  return rows.length > limit ? { ids, nextOffset: offset + limit } : { ids };
}

/** Columns that are never null need no NULLS LAST, which would keep the store from reading their index in order. */
const NOT_NULL = new Set(["status", "start_time", "name", "id", "user_id"]);

function orderTerm(o: OrderTerm, i: number, joins: Join[]): RawBuilder<unknown> {
  const dir = sql.raw(o.descending ? "desc" : "asc");
  if (o.entity === "attribute") {
    const name = ATTRIBUTES[o.key]?.column ?? "start_time";
    return NOT_NULL.has(name)
      ? sql`${sql.ref(`r.${name}`)} ${dir}`
      : sql`${sql.ref(`r.${name}`)} ${dir} nulls last`;
  }
  const alias = `o${i}`;
  if (o.entity === "metric") {
    joins.push({
      sql: sql`left join run_metric_summaries as ${sql.id(alias)} on ${sql.ref(`${alias}.run_id`)} = r.id and ${sql.ref(`${alias}.key`)} = ${o.key}`,
    });
    return sql`case when ${sql.ref(`${alias}.last_is_nan`)} = 0 then ${sql.ref(`${alias}.last_value`)} end ${dir} nulls last`;
  }
  const table = o.entity === "param" ? "run_params" : "run_tags";
  joins.push({
    sql: sql`left join ${sql.table(table)} as ${sql.id(alias)} on ${sql.ref(`${alias}.run_id`)} = r.id and ${sql.ref(`${alias}.key`)} = ${o.key}`,
  });
  return sql`${sql.ref(`${alias}.value`)} ${dir} nulls last`;
}
