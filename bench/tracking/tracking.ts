// Tracking benchmarks: 1M metric points over HTTP into SQLite, and search over 100k runs on SQLite and PostgreSQL.
import { loadavg } from "node:os";
import { join } from "node:path";
import { startPostgres } from "../../test/setup/postgres.ts";
import { makeTempDir } from "../../test/setup/tmp.ts";
import { openWorkspace } from "../../src/workspace.ts";
import { writeResults } from "../common.ts";
import { benchIngest } from "./ingest.ts";
import { benchSearch, type SearchResult } from "./search.ts";

const POINTS = Number(process.env["BENCH_POINTS"] ?? 1_000_000);
const RUNS = Number(process.env["BENCH_RUNS"] ?? 100_000);
const WITH_POSTGRES = process.env["BENCH_POSTGRES"] !== "0";

const tmp = makeTempDir("loopml-bench-tracking-");
try {
  const load = loadavg()[0];
  // The server runs in its own process; the result carries both processes' CPU seconds while logging.
  const ingestRun = await benchIngest(tmp.path, POINTS);
  const ingest = { ...ingestRun, loadAverageAtStart: load, loadAverageAtEnd: loadavg()[0] };
  console.log(JSON.stringify({ name: "ingest-http", ...ingest }));

  const search: SearchResult[] = [];
  const sqliteWs = await openWorkspace({
    dir: tmp.path,
    store: `sqlite:${join(tmp.path, "search.db")}`,
    artifacts: `file:${join(tmp.path, "objects")}`,
  });
  try {
    search.push(await benchSearch(sqliteWs, RUNS));
  } finally {
    await sqliteWs.close();
  }
  console.log(JSON.stringify({ name: "search-sqlite", ...search[0] }));
  if (WITH_POSTGRES) {
    const pg = await startPostgres();
    try {
      pg.createDatabase("search_bench");
      const pgWs = await openWorkspace({
        dir: tmp.path,
        store: pg.url("search_bench"),
        artifacts: `file:${join(tmp.path, "objects")}`,
      });
      try {
        search.push(await benchSearch(pgWs, RUNS));
      } finally {
        await pgWs.close();
      }
      console.log(JSON.stringify({ name: "search-postgres", ...search[1] }));
    } finally {
      pg.stop();
    }
  }
  await writeResults("tracking", {
    loadAverageAtStart: load,
    loadAverageAtEnd: loadavg()[0],
    note: "Measured on a shared 2-core machine; the load averages show how many other processes competed for it. Wall-clock figures scale with that load; CPU seconds do not: ingest records the client's and the server process's CPU seconds, search the CPU milliseconds of this process per query (on SQLite that includes the store's own work, on PostgreSQL it does not).",
    ingest: { ...ingest, target: "≥ 100,000 points/s" },
    search: search.map((s) => ({ ...s, target: "first page of 100 runs ≤ 100 ms; count ≤ 50 ms" })),
  });
} finally {
  tmp.remove();
}
