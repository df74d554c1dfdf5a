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
  const joins: RawBuilder<unknown>[] = [];
  const where: RawBuilder<unknown>[] = [];
  const metricAlias = new Map<string, string>();
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
    if (c.entity === "metric" && !metricAlias.has(c.key)) metricAlias.set(c.key, alias);
    // Inner joins on (run_id, key) — each unique — let the planner start from the most selective side.
    joins.push(
      sql`join ${sql.table(table)} as ${sql.id(alias)} on ${sql.ref(`${alias}.run_id`)} = r.id and ${sql.ref(`${alias}.key`)} = ${c.key}${nan} and ${comparison(dialect, col, c)}`,
    );
  });
  if (!plan.includeDeleted) where.push(sql`r.lifecycle_stage = 'active'`);
  if (plan.experimentIds !== undefined) {
    if (plan.experimentIds.length === 0) return { ids: [] };
    where.push(sql`r.experiment_id in (${sql.join(plan.experimentIds.map((e) => sql`${e}`))})`);
  }
  const orderSql = order.map((o, i) => orderTerm(o, i, metricAlias, joins));
  orderSql.push(sql`r.start_time desc`, sql`r.id asc`);
  const whereSql = where.length > 0 ? sql`where ${sql.join(where, sql` and `)}` : sql``;
  const query = sql<{
    id: string;
  }>`select r.id as id from runs as r ${sql.join(joins, sql` `)} ${whereSql} order by ${sql.join(orderSql)} limit ${limit + 1} offset ${offset}`;
  const rows = (await query.execute(db)).rows;
  const ids = rows.slice(0, limit).map((r) => r.id);
  return rows.length > limit ? { ids, nextOffset: offset + limit } : { ids };
}

function orderTerm(
  o: OrderTerm,
  i: number,
  metricAlias: Map<string, string>,
  joins: RawBuilder<unknown>[],
): RawBuilder<unknown> {
  const dir = sql.raw(o.descending ? "desc" : "asc");
  if (o.entity === "attribute") {
    const column = sql.ref(`r.${ATTRIBUTES[o.key]?.column ?? "start_time"}`);
    return sql`${column} ${dir} nulls last`;
  }
  if (o.entity === "metric") {
    const filtered = metricAlias.get(o.key);
    // Already inner-joined and NaN-free: ordering by the indexed column lets the store walk the index.
    if (filtered) return sql`${sql.ref(`${filtered}.last_value`)} ${dir}`;
    const alias = `o${i}`;
    joins.push(
      sql`left join run_metric_summaries as ${sql.id(alias)} on ${sql.ref(`${alias}.run_id`)} = r.id and ${sql.ref(`${alias}.key`)} = ${o.key}`,
    );
    return sql`case when ${sql.ref(`${alias}.last_is_nan`)} = 0 then ${sql.ref(`${alias}.last_value`)} end ${dir} nulls last`;
  }
  const alias = `o${i}`;
  const table = o.entity === "param" ? "run_params" : "run_tags";
  joins.push(
    sql`left join ${sql.table(table)} as ${sql.id(alias)} on ${sql.ref(`${alias}.run_id`)} = r.id and ${sql.ref(`${alias}.key`)} = ${o.key}`,
  );
  return sql`${sql.ref(`${alias}.value`)} ${dir} nulls last`;
}
