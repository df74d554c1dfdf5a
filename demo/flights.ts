// The demo's data: US DOT flights of Jan–Jun 2001 from the npm package vega-datasets, sampled, in time order.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { openDuck, quoteString } from "../src/data/duck.ts";

// vega-datasets exports only its build/index.js: its data folder sits beside build/.
const PARQUET = join(
  dirname(createRequire(import.meta.url).resolve("vega-datasets")),
  "..",
  "data",
  "flights-3m.parquet",
);

export const MONTHS = ["January", "February", "March", "April", "May", "June"] as const;

/** The label is what the model predicts; `date` orders the rows and is never a feature. */
const COLUMNS = `date, hour(date) AS hour, dayofweek(date) AS weekday, distance, origin, destination,
  CAST(delay > 15 AS INTEGER) AS late`;

function sampled(every: number, where: string): string {
  return `SELECT ${COLUMNS}
    FROM (SELECT *, row_number() OVER () AS rn FROM read_parquet(${quoteString(PARQUET)}))
    WHERE rn % ${every} = 0 AND ${where}
    ORDER BY date, rn`;
}

/** Writes January..month `m` (1-based) of every `every`-th flight to `csv`: the data lake as of that month's end. */
export async function writeMonths(csv: string, m: number, every: number): Promise<void> {
  const duck = await openDuck();
  try {
    await duck.conn.run(
      `COPY (${sampled(every, `month(date) <= ${m}`)}) TO ${quoteString(csv)} (HEADER, DELIMITER ',')`,
    );
  } finally {
    await duck.close();
  }
}

/** One month of flights as columns: what the replay sends (features) and what arrives late (labels). */
export interface MonthOfFlights {
  readonly rows: number;
  /** Departure times, ms since the epoch (the flights' local times, read as UTC). */
  readonly time: Float64Array;
  readonly numbers: Readonly<Record<"hour" | "weekday" | "distance", Float64Array>>;
  readonly strings: Readonly<Record<"origin" | "destination", string[]>>;
  readonly late: Int8Array;
}

export async function readMonth(m: number, every: number): Promise<MonthOfFlights> {
  const duck = await openDuck();
  try {
    const r = await duck.conn.runAndReadAll(
      `SELECT epoch_ms(date) AS t, hour, weekday, distance, origin, destination, late
       FROM (${sampled(every, `month(date) = ${m}`)})`,
    );
    const [t, hour, weekday, distance, origin, destination, late] = r.getColumns();
    const num = (c: readonly unknown[] | undefined): Float64Array => Float64Array.from(c ?? [], Number);
    return {
      rows: t?.length ?? 0,
      time: num(t),
      numbers: { hour: num(hour), weekday: num(weekday), distance: num(distance) },
      strings: { origin: (origin ?? []).map(String), destination: (destination ?? []).map(String) },
      late: Int8Array.from(late ?? [], Number),
    };
  } finally {
    await duck.close();
  }
}
