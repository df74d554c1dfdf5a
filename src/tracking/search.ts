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

/**
 * Where the previous page stopped. Keyset cursors carry the last row's sort value and run id, so the
 * next page starts from the index instead of skipping rows (OFFSET); orderings with several terms
 * (or on columns with ties and nulls) page by offset.
 */
export type Cursor =
  | { readonly kind: "offset"; readonly offset: number }
  | { readonly kind: "after"; readonly phase: Phase; readonly v?: number; readonly id?: string };

/** "value": runs with a numeric value of the sort metric; "missing": the runs after them; "start": by start time. */
type Phase = "value" | "missing" | "start";
const PHASES: readonly string[] = ["value", "missing", "start"];

export function decodePageToken(token: string | undefined): Cursor {
  if (token === undefined || token === "") return { kind: "offset", offset: 0 };
  try {
    const v = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as Record<string, unknown>;
    const { offset, p, v: value, id } = v;
    if (typeof offset === "number" && Number.isSafeInteger(offset) && offset >= 0)
      return { kind: "offset", offset };
    if (typeof p === "string" && PHASES.includes(p)) {
      if (value === undefined && id === undefined) return { kind: "after", phase: p as Phase };
      if (typeof value === "number" && typeof id === "string")
        return { kind: "after", phase: p as Phase, v: value, id };
    }
  } catch {
    // reported below
  }
  throw badToken(token);
}

function badToken(token: string | undefined): LoopmlError {
  return new LoopmlError(
    "INVALID_ARGUMENT",
    `Page token "${token ?? ""}" is not one this server issued for this search; start again without it.`,
  );
}

export function encodePageToken(cursor: Cursor): string {
  const body =
    cursor.kind === "offset"
      ? { offset: cursor.offset }
      : { p: cursor.phase, ...(cursor.id !== undefined && { v: cursor.v, id: cursor.id }) };
  return Buffer.from(JSON.stringify(body), "utf8").toString("base64url");
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

export interface IdPage {
  readonly ids: string[];
  readonly next?: Cursor;
}

/**
 * Runs a search's queries in one read transaction that, on PostgreSQL, keeps them in one process:
 * a search stops after a page of 100 runs, and starting parallel workers cost more than the walk
 * (EXPLAIN ANALYZE on 100k runs: a Gather Merge took 30–80 ms to start for 1–10 ms of work).
 */
export async function searchReads<T>(
  db: Kysely<Database>,
  dialect: Dialect,
  fn: (db: Kysely<Database>) => Promise<T>,
): Promise<T> {
  if (dialect !== "postgres") return fn(db);
  return db.transaction().execute(async (trx) => {
    await sql`set local max_parallel_workers_per_gather = 0`.execute(trx);
    return fn(trx);
  });
}

/** The ids of one page of matching runs, in order, plus where the next page starts. */
export async function searchRunIds(
  db: Kysely<Database>,
  dialect: Dialect,
  plan: SearchPlan,
): Promise<IdPage> {
  const conditions = parseFilter(plan.filter);
  const order = parseOrderBy(plan.orderBy);
  const limit = plan.maxResults ?? DEFAULT_RESULTS;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_RESULTS) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `max_results must be between 1 and ${MAX_RESULTS}, not ${limit}.`,
    );
  }
  const cursor = decodePageToken(plan.pageToken);
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
    // "=" for one experiment lets the store range-scan the (experiment, stage, start time) index.
    const [only] = plan.experimentIds;
    where.push(
      plan.experimentIds.length === 1
        ? sql`r.experiment_id = ${only}`
        : sql`r.experiment_id in (${sql.join(plan.experimentIds.map((e) => sql`${e}`))})`,
    );
  }
  const [primary, ...rest] = order;
  const keyset =
    rest.length === 0 && (primary === undefined || primary.entity === "metric" || isStartTime(primary));
  if (!keyset) {
    if (cursor.kind !== "offset") throw badToken(plan.pageToken);
    return offsetPaged(db, filters, where, order, limit, cursor.offset);
  }
  if (cursor.kind === "offset" && cursor.offset > 0) throw badToken(plan.pageToken);
  const after = cursor.kind === "after" ? cursor : undefined;
  if (primary?.entity !== "metric") {
    if (after !== undefined && after.phase !== "start") throw badToken(plan.pageToken);
    const desc = primary?.descending ?? true;
    return byStartTime(db, dialect, filters, where, desc, limit, after, "start");
  }
  // Sorted by a metric: the store walks that key's summaries index in order and stops after a page,
  // instead of joining every run of the experiment and sorting them all.
  const filtered = filters.find((f) => f.metricKey === primary.key);
  const driver: Filter = filtered ?? {
    alias: "d",
    table: "run_metric_summaries",
    metricKey: primary.key,
    cond: sql`d.key = ${primary.key} and d.last_is_nan = 0`,
  };
  const otherFilters = filters.filter((f) => f !== driver);
  const others = otherFilters.map((f) => joinOf(f));
  let ids: string[] = [];
  if (after?.phase !== "missing") {
    if (after !== undefined && after.phase !== "value") throw badToken(plan.pageToken);
    const value = sql.ref(`${driver.alias}.last_value`);
    const runId = sql.ref(`${driver.alias}.run_id`);
    const driverWhere = [sql`r.id = ${runId}`, driver.cond, ...where];
    if (after?.id !== undefined)
      driverWhere.push(afterRow(value, primary.descending, after.v, runId, primary.descending, after.id));
    const dir = sql.raw(primary.descending ? "desc" : "asc");
    const rows = await page(
      db,
      sql`${sql.table(driver.table)} as ${sql.id(driver.alias)} cross join runs as r`,
      others,
      driverWhere,
      [sql`${value} ${dir}`, sql`${runId} ${dir}`],
      limit + 1,
      0,
      value,
    );
    if (rows.length > limit) return keysetPage(rows, limit, "value");
    // A metric filter on the sort key excludes runs without a value: the walk is complete.
    if (filtered) return { ids: rows.map((r) => r.id) };
    ids = rows.map((r) => r.id);
  }
  // Runs without a numeric value for the sort key come after every run that has one, newest first.
  const missing = sql`not exists (select 1 from run_metric_summaries as x where x.run_id = r.id and x.key = ${primary.key} and x.last_is_nan = 0)`;
  const tail = await byStartTime(
    db,
    dialect,
    otherFilters,
    [...where, missing],
    true,
    limit - ids.length,
    after?.phase === "missing" ? after : undefined,
    "missing",
  );
  return { ids: [...ids, ...tail.ids], ...(tail.next !== undefined && { next: tail.next }) };
}

function isStartTime(o: OrderTerm): boolean {
  return o.entity === "attribute" && o.key === "start_time";
}

/**
 * Rows after (value, id) in the order `col dir, idCol idDir`, written so that the first comparison
 * is a plain range the store can seek to in an index (row values are not used: the directions may differ).
 */
function afterRow(
  col: RawBuilder<unknown>,
  desc: boolean,
  value: number | undefined,
  idCol: RawBuilder<unknown>,
  idDesc: boolean,
  id: string,
): RawBuilder<unknown> {
  const strict = sql.raw(desc ? "<" : ">");
  const loose = sql.raw(desc ? "<=" : ">=");
  const idOp = sql.raw(idDesc ? "<" : ">");
  return sql`${col} ${loose} ${value} and (${col} ${strict} ${value} or ${idCol} ${idOp} ${id})`;
}

/** Below this many matches a filter drives the search (its runs are sorted); above, runs are walked in order. */
const DRIVE_BELOW = 2000;

/**
 * Newest (or oldest) first, tie broken by id; `limit` may be 0 to learn only whether more follow.
 * With filters, two plans compete: walk the runs in start-time order and probe each filter until a
 * page is full (cheap when many runs match), or start from the most selective filter and sort its
 * matches (cheap when few do). PostgreSQL's planner weighs this itself from its statistics; SQLite's
 * does not account for the LIMIT, so a bounded count of each filter's matches decides, and CROSS JOIN
 * (which SQLite never reorders) fixes the plan.
 */
async function byStartTime(
  db: Kysely<Database>,
  dialect: Dialect,
  filters: readonly Filter[],
  where: readonly RawBuilder<unknown>[],
  desc: boolean,
  limit: number,
  after: Extract<Cursor, { kind: "after" }> | undefined,
  phase: Phase,
): Promise<IdPage> {
  const w = [...where];
  const start = sql`r.start_time`;
  if (after?.id !== undefined) w.push(afterRow(start, desc, after.v, sql`r.id`, false, after.id));
  let from = sql`runs as r`;
  let joins = filters.map((f) => joinOf(f));
  if (dialect === "sqlite" && filters.length > 0) {
    const driver = await mostSelective(db, filters);
    if (driver !== undefined) {
      from = sql`${sql.table(driver.table)} as ${sql.id(driver.alias)} cross join runs as r`;
      w.unshift(sql`r.id = ${sql.ref(`${driver.alias}.run_id`)}`, driver.cond);
      joins = filters.filter((f) => f !== driver).map((f) => joinOf(f));
    } else {
      joins = filters.map((f) => joinOf(f, "cross join"));
    }
  }
  const rows = await page(
    db,
    from,
    joins,
    w,
    [sql`r.start_time ${sql.raw(desc ? "desc" : "asc")}`, sql`r.id asc`],
    limit + 1,
    0,
    start,
  );
  if (limit === 0) return rows.length > 0 ? { ids: [], next: { kind: "after", phase } } : { ids: [] };
  return keysetPage(rows, limit, phase);
}

/** The metric or param filter with the fewest matches, when it has fewer than DRIVE_BELOW (tags have no value index). */
async function mostSelective(db: Kysely<Database>, filters: readonly Filter[]): Promise<Filter | undefined> {
  let best: Filter | undefined;
  let fewest = DRIVE_BELOW;
  for (const f of filters) {
    if (f.table === "run_tags") continue;
    const counted = await sql<{
      n: number;
    }>`select count(*) as n from (select 1 from ${sql.table(f.table)} as ${sql.id(
      f.alias,
    )} where ${f.cond} limit ${DRIVE_BELOW}) as c`.execute(db);
    const n = Number(counted.rows[0]?.n ?? DRIVE_BELOW);
    if (n < fewest) {
      fewest = n;
      best = f;
    }
  }
  return best;
}

function keysetPage(rows: readonly KeyedRow[], limit: number, phase: Phase): IdPage {
  const ids = rows.slice(0, limit).map((r) => r.id);
  if (rows.length <= limit) return { ids };
  const last = rows[limit - 1] as KeyedRow;
  return { ids, next: { kind: "after", phase, v: Number(last.k), id: last.id } };
}

/** Orderings with several terms: sorted joins, paged by offset. */
async function offsetPaged(
  db: Kysely<Database>,
  filters: readonly Filter[],
  where: readonly RawBuilder<unknown>[],
  order: readonly OrderTerm[],
  limit: number,
  offset: number,
): Promise<IdPage> {
  const joins = filters.map((f) => joinOf(f));
  const orderSql = order.map((o, i) => orderTerm(o, i, joins));
  orderSql.push(sql`r.start_time desc`, sql`r.id asc`);
  const rows = await page(db, sql`runs as r`, joins, where, orderSql, limit + 1, offset);
  const ids = rows.slice(0, limit).map((r) => r.id);
  return rows.length > limit ? { ids, next: { kind: "offset", offset: offset + limit } } : { ids };
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
function joinOf(f: Filter, kind: "join" | "cross join" = "join"): Join {
  return {
    sql: sql`${sql.raw(kind)} ${sql.table(f.table)} as ${sql.id(f.alias)} on ${sql.ref(`${f.alias}.run_id`)} = r.id and ${f.cond}`,
  };
}

interface KeyedRow {
  readonly id: string;
  /** The sort value of the row, for the next page's cursor. */
  readonly k: number | string | null;
}

async function page(
  db: Kysely<Database>,
  from: RawBuilder<unknown>,
  joins: readonly Join[],
  where: readonly RawBuilder<unknown>[],
  order: readonly RawBuilder<unknown>[],
  limit: number,
  offset: number,
  key?: RawBuilder<unknown>,
): Promise<KeyedRow[]> {
  const whereSql = where.length > 0 ? sql`where ${sql.join([...where], sql` and `)}` : sql``;
  const q = sql<KeyedRow>`select r.id as id, ${key ?? sql`null`} as k from ${from} ${sql.join(
    joins.map((j) => j.sql),
    sql` `,
  )} ${whereSql} order by ${sql.join([...order])} limit ${limit}${offset > 0 ? sql` offset ${offset}` : sql``}`;
  return (await q.execute(db)).rows;
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
