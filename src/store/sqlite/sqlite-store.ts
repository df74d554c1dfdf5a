// The embedded metadata store: one SQLite file in WAL mode through better-sqlite3 12.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import { LoopmlError } from "../../errors.ts";
import { migrateToLatest, schemaVersionOf } from "../migrate.ts";
import type { Database, MetadataStore } from "../types.ts";
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
  return {
    dialect: "sqlite",
    location,
    db,
    transaction: createTransactionRunner(db, "begin immediate"),
    schemaVersion: () => schemaVersionOf(db),
    close: () => db.destroy(),
  };
}
