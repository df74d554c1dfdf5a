// The embedded metadata store: one SQLite file in WAL mode through better-sqlite3 12.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import { LoopmlError } from "../../errors.ts";
import { migrateToLatest, schemaVersionOf } from "../migrate.ts";
import type { Database, MetadataStore, MetricPointColumns } from "../types.ts";
import { createTransactionRunner } from "../transaction.ts";

export interface SqliteStoreOptions {
  /** A file path, or ":memory:". */
  readonly path: string;
  readonly readonly?: boolean;
}

/**
 * @example
 * const store = await createSqliteStore({ path: ".loopml/loopml.db" });
 */
export async function createSqliteStore(options: SqliteStoreOptions): Promise<MetadataStore> {
  const location = `sqlite:${options.path}`;
  let handle: BetterSqlite3.Database;
  try {
    if (options.path !== ":memory:") mkdirSync(dirname(options.path), { recursive: true });
    handle = new BetterSqlite3(options.path, { readonly: options.readonly ?? false });
    handle.pragma("journal_mode = WAL");
    handle.pragma("synchronous = NORMAL");
    handle.pragma("busy_timeout = 10000");
    handle.pragma("foreign_keys = ON");
  } catch (e) {
    throw new LoopmlError(
      "UNAVAILABLE",
      `Cannot open the SQLite store at ${options.path}: ${(e as Error).message}. Check that the folder exists and is writable, and that the disk is not full.`,
      undefined,
      { cause: e },
    );
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: handle }) });
  try {
    await migrateToLatest(db, "sqlite", location);
  } catch (e) {
    await db.destroy();
    throw e;
  }
  let insertPoint: BetterSqlite3.Statement | undefined;
  return {
    dialect: "sqlite",
    location,
    db,
    transaction: createTransactionRunner(db, "begin immediate"),
    insertMetricPoints: (_tx, runId, points) => {
      if (!handle.inTransaction) throw new Error("insertMetricPoints must run inside store.transaction");
      insertPoint ??= handle.prepare(INSERT_POINT);
      insertPoints(insertPoint, runId, points);
      return Promise.resolve();
    },
    schemaVersion: () => schemaVersionOf(db),
    close: () => db.destroy(),
  };
}

const INSERT_POINT = `insert into run_metrics (run_id, key, step, timestamp, value, is_nan) values (?, ?, ?, ?, ?, ?)`;

/**
 * One prepared single-row INSERT, reused for every point, straight on the better-sqlite3 handle
 * (Kysely's connection is that same handle, so this runs inside the caller's open transaction).
 * Measured on 1M points in batches of 5,000: 4.3 s CPU this way, 5.0 s with a reused 100-row
 * statement (binding 600 values per call costs more than it saves), 7.2 s with the points as one
 * JSON parameter unpacked by json_each (the previous path).
 */
function insertPoints(stmt: BetterSqlite3.Statement, runId: string, p: MetricPointColumns): void {
  const { keys, key, value, step, timestamp } = p;
  for (let i = 0; i < key.length; i++) {
    const v = value[i] as number;
    // SQLite turns NaN into NULL: NaN is stored as 0 flagged is_nan.
    if (Number.isNaN(v)) stmt.run(runId, keys[key[i] as number], step[i], timestamp[i], 0, 1);
    else stmt.run(runId, keys[key[i] as number], step[i], timestamp[i], v, 0);
  }
}
