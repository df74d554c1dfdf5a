// A time-ordered slice of the demo's flights data (vega-datasets' flights-3m.parquet) as a small CSV for scenario tests.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { openDuck, quoteString } from "../../src/data/duck.ts";

const FLIGHTS = join(
  dirname(createRequire(import.meta.url).resolve("vega-datasets")),
  "..",
  "data",
  "flights-3m.parquet",
);

/** Writes every `every`-th flight of January..`throughMonth` 2001 (features and the late label) to `csv`; returns the row count. */
export async function writeFlightsSlice(csv: string, throughMonth: number, every: number): Promise<number> {
  const duck = await openDuck();
  try {
    await duck.conn.run(`COPY (
      SELECT hour(date) AS hour, dayofweek(date) AS weekday, distance, origin, destination,
             CAST(delay > 15 AS INTEGER) AS late
      FROM (SELECT *, row_number() OVER () AS rn FROM read_parquet(${quoteString(FLIGHTS)}))
      WHERE rn % ${every} = 0 AND month(date) <= ${throughMonth}
      ORDER BY date, rn
    ) TO ${quoteString(csv)} (HEADER, DELIMITER ',')`);
    const r = await duck.conn.runAndReadAll(`SELECT count(*) FROM read_csv(${quoteString(csv)})`);
    return Number(r.getColumns()[0]?.[0]);
  } finally {
    await duck.close();
  }
}
