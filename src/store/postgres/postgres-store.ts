// The scale-out metadata store: PostgreSQL through `pg`, same Kysely schema and migrations as SQLite.
import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { LoopmlError } from "../../errors.ts";
import { migrateToLatest, schemaVersionOf } from "../migrate.ts";
import { redactUrl } from "../redact.ts";
import type { Database, MetadataStore, MetricPointColumns } from "../types.ts";
import { createTransactionRunner } from "../transaction.ts";

export interface PostgresStoreOptions {
  /** postgres://user:password@host:port/database */
  readonly url: string;
  readonly maxConnections?: number;
  readonly connectTimeoutMs?: number;
}

/**
 * @example
 * const store = await createPostgresStore({ url: "postgres://loopml@127.0.0.1:5432/loopml" });
 */
export async function createPostgresStore(options: PostgresStoreOptions): Promise<MetadataStore> {
  const location = redactUrl(options.url);
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
  });
  // An idle client losing its server (a restart) must not crash the process; the pool reconnects.
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  try {
    const client = await pool.connect();
    client.release();
  } catch (e) {
    await pool.end();
    throw new LoopmlError(
      "UNAVAILABLE",
      `Cannot reach PostgreSQL at ${location}: ${(e as Error).message}. Check that the server runs and the URL (LOOPML_STORE or --store) is right.`,
      undefined,
      { cause: e },
    );
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    await migrateToLatest(db, "postgres", location);
  } catch (e) {
    await db.destroy();
    throw e;
  }
  return {
    dialect: "postgres",
    location,
    db,
    transaction: createTransactionRunner(db, "begin isolation level serializable"),
    insertMetricPoints,
    schemaVersion: () => schemaVersionOf(db),
    close: () => db.destroy(),
  };
}

/**
 * The whole batch as one INSERT … SELECT FROM unnest(arrays): one round trip and one statement
 * whatever the batch size, where multi-row VALUES would need a bind variable per value (and
 * PostgreSQL allows 65,535 of them).
 */
async function insertMetricPoints(tx: Kysely<Database>, runId: string, p: MetricPointColumns): Promise<void> {
  const n = p.key.length;
  if (n === 0) return;
  const keys = new Array<string>(n);
  const values = new Array<number>(n);
  const isNan = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const v = p.value[i] as number;
    keys[i] = p.keys[p.key[i] as number] as string;
    values[i] = Number.isNaN(v) ? 0 : v;
    isNan[i] = Number.isNaN(v) ? 1 : 0;
  }
  await sql`insert into run_metrics (run_id, key, step, timestamp, value, is_nan)
    select ${runId}, k, s, t, v, n from unnest(${keys}::text[], ${Array.from(p.step)}::float8[],
      ${Array.from(p.timestamp)}::float8[], ${values}::float8[], ${isNan}::int[]) as x(k, s, t, v, n)`.execute(
    tx,
  );
}
