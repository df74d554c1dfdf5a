// Search at scale: 100k runs × 20 params × 10 metric summaries, a filtered sorted first page and a per-experiment count.
import { loadavg } from "node:os";
import { sql } from "kysely";
import { createTrackingService } from "../../src/tracking/service.ts";
import type { Workspace } from "../../src/workspace.ts";

export interface SearchTiming {
  readonly name: string;
  readonly filter?: string;
  readonly orderBy?: readonly string[];
  readonly medianMs: number;
  readonly minMs: number;
  /** CPU time of this process per query (the store's own work on PostgreSQL is not in it). */
  readonly cpuMs: number;
  readonly runsReturned: number;
}

export interface SearchResult {
  readonly dialect: string;
  readonly runs: number;
  readonly seedSeconds: number;
  /** This process's CPU seconds while seeding (on PostgreSQL the server's own work is not in it). */
  readonly seedCpuSeconds: number;
  readonly loadAverageAtQueries: number;
  readonly queries: readonly SearchTiming[];
}

/** A tiny seeded generator so every dialect gets the same data. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Rows go in through one statement per table chunk (JSON for SQLite, arrays for PostgreSQL):
 * the bench measures search, so seeding takes the shortest path. Only summaries are written,
 * never the series, because search never reads the series.
 */
export async function seed(ws: Workspace, runs: number, experimentId: string): Promise<void> {
  const next = rng(42);
  const CHUNK = 20_000;
  const pg = ws.store.dialect === "postgres";
  // Bulk-load practice: the secondary indexes are dropped, the rows loaded, and the very same
  // indexes (their stored definitions) built again in one pass each, instead of 1M summaries going
  // into value-ordered indexes in random order (minutes of page thrashing on either backend).
  const indexes = await secondaryIndexes(ws, ["runs", "run_params", "run_metric_summaries"]);
  for (const i of indexes) await sql`drop index ${sql.id(i.name)}`.execute(ws.store.db);
  for (let start = 0; start < runs; start += CHUNK) {
    const n = Math.min(CHUNK, runs - start);
    const ids: string[] = [];
    const runRows: (string | number)[][] = [];
    const params: string[][] = [];
    const metrics: (string | number)[][] = [];
    for (let i = 0; i < n; i++) {
      const id = (start + i).toString(16).padStart(32, "0");
      ids.push(id);
      const status = next() < 0.9 ? "FINISHED" : "FAILED";
      runRows.push([id, experimentId, `run-${start + i}`, status, 1_700_000_000_000 + (start + i) * 1000]);
      for (let p = 0; p < 20; p++) params.push([id, `p${p}`, `v${Math.floor(next() * 10)}`]);
      for (let m = 0; m < 10; m++) metrics.push([id, `m${m}`, next()]);
    }
    await ws.store.transaction(async (tx) => {
      if (pg) {
        const col = <T>(rows: T[][], j: number): T[] => rows.map((r) => r[j] as T);
        await sql`insert into runs (id, experiment_id, name, status, lifecycle_stage, start_time, end_time, user_id)
          select i, e, nm, st, 'active', t, t + 1000, 'bench' from unnest(${col(runRows, 0)}::text[], ${col(runRows, 1)}::text[], ${col(runRows, 2)}::text[], ${col(runRows, 3)}::text[], ${col(runRows, 4)}::float8[]) as x(i, e, nm, st, t)`.execute(
          tx,
        );
        await sql`insert into run_params (run_id, key, value) select * from unnest(${col(params, 0)}::text[], ${col(params, 1)}::text[], ${col(params, 2)}::text[])`.execute(
          tx,
        );
        await sql`insert into run_metric_summaries (run_id, key, last_value, last_is_nan, last_step, last_timestamp, min_value, max_value, count)
          select r, k, v, 0, 0, 0, v, v, 1 from unnest(${col(metrics, 0)}::text[], ${col(metrics, 1)}::text[], ${col(metrics, 2)}::float8[]) as x(r, k, v)`.execute(
          tx,
        );
      } else {
        const j = (k: number): ReturnType<typeof sql> => sql.raw(`json_extract(value, '$[${k}]')`);
        await sql`insert into runs (id, experiment_id, name, status, lifecycle_stage, start_time, end_time, user_id)
          select ${j(0)}, ${j(1)}, ${j(2)}, ${j(3)}, 'active', ${j(4)}, ${j(4)} + 1000, 'bench' from json_each(${JSON.stringify(runRows)})`.execute(
          tx,
        );
        await sql`insert into run_params (run_id, key, value) select ${j(0)}, ${j(1)}, ${j(2)} from json_each(${JSON.stringify(params)})`.execute(
          tx,
        );
        await sql`insert into run_metric_summaries (run_id, key, last_value, last_is_nan, last_step, last_timestamp, min_value, max_value, count)
          select ${j(0)}, ${j(1)}, ${j(2)}, 0, 0, 0, ${j(2)}, ${j(2)}, 1 from json_each(${JSON.stringify(metrics)})`.execute(
          tx,
        );
      }
    });
  }
  // Planner statistics and visibility maps, as a maintained store has them (autovacuum on PostgreSQL;
  // SQLite keeps no statistics until ANALYZE runs). Without the visibility map PostgreSQL's
  // index-only scans still visit the table.
  for (const i of indexes) await sql.raw(i.definition).execute(ws.store.db);
  await sql`${sql.raw(pg ? "vacuum analyze" : "analyze")}`.execute(ws.store.db);
}

/** The indexes on these tables other than primary keys, with the SQL that creates each. */
async function secondaryIndexes(
  ws: Workspace,
  tables: readonly string[],
): Promise<Array<{ name: string; definition: string }>> {
  const list = sql.join(tables.map((t) => sql`${t}`));
  const rows =
    ws.store.dialect === "postgres"
      ? await sql<{ name: string; definition: string }>`select i.indexname as name, i.indexdef as definition
          from pg_indexes i join pg_class c on c.relname = i.indexname join pg_index x on x.indexrelid = c.oid
          where i.tablename in (${list}) and not x.indisprimary`.execute(ws.store.db)
      : await sql<{ name: string; definition: string }>`select name, sql as definition from sqlite_master
          where type = 'index' and tbl_name in (${list}) and sql is not null`.execute(ws.store.db);
  return rows.rows;
}

async function time(
  fn: () => Promise<number>,
  repeats = 7,
): Promise<{ medianMs: number; minMs: number; cpuMs: number; returned: number }> {
  const times: number[] = [];
  let returned = 0;
  await fn(); // warm caches: what a server that has been up for a minute sees
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    returned = await fn();
    times.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(cpu0);
  times.sort((a, b) => a - b);
  return {
    medianMs: times[Math.floor(times.length / 2)] ?? 0,
    minMs: times[0] ?? 0,
    cpuMs: (cpu.user + cpu.system) / 1000 / repeats,
    returned,
  };
}

export async function benchSearch(ws: Workspace, runs: number): Promise<SearchResult> {
  const tracking = createTrackingService(ws);
  const experiment = await tracking.createExperiment("search-bench");
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await seed(ws, runs, experiment.id);
  const seedSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const loadAverageAtQueries = loadavg()[0] ?? Number.NaN;
  return {
    dialect: ws.store.dialect,
    runs,
    seedSeconds,
    seedCpuSeconds: (cpu.user + cpu.system) / 1e6,
    loadAverageAtQueries,
    queries: await timeQueries(ws, experiment.id),
  };
}

export async function timeQueries(ws: Workspace, experimentId: string): Promise<SearchTiming[]> {
  const tracking = createTrackingService(ws);
  const experiment = { id: experimentId };
  const cases: Array<{ name: string; filter?: string; orderBy?: string[] }> = [
    {
      name: "metric filter + param filter, sorted by that metric",
      filter: 'metrics.m0 > 0.9 and params.p0 = "v3"',
      orderBy: ["metrics.m0 DESC"],
    },
    {
      name: "param + status filter, sorted by another metric",
      filter: 'params.p1 = "v7" and status = "FINISHED"',
      orderBy: ["metrics.m1 DESC"],
    },
    {
      name: "two metric ranges, sorted by start time",
      filter: "metrics.m2 < 0.05 and metrics.m3 > 0.5",
      orderBy: ["attributes.start_time DESC"],
    },
    { name: "no filter, sorted by a metric", orderBy: ["metrics.m4 ASC"] },
  ];
  const queries: SearchTiming[] = [];
  for (const c of cases) {
    const r = await time(async () => {
      const page = await tracking.searchRuns({
        experiments: [experiment.id],
        ...(c.filter !== undefined && { filter: c.filter }),
        ...(c.orderBy !== undefined && { orderBy: c.orderBy }),
        maxResults: 100,
      });
      return page.runs.length;
    });
    queries.push({
      name: c.name,
      ...(c.filter !== undefined && { filter: c.filter }),
      ...(c.orderBy !== undefined && { orderBy: c.orderBy }),
      medianMs: r.medianMs,
      minMs: r.minMs,
      cpuMs: r.cpuMs,
      runsReturned: r.returned,
    });
  }
  const count = await time(async () => tracking.countRuns(experiment.id));
  queries.push({
    name: "count runs of the experiment",
    medianMs: count.medianMs,
    minMs: count.minMs,
    cpuMs: count.cpuMs,
    runsReturned: count.returned,
  });
  return queries;
}
