// Brings a metadata store's schema up to date, refusing stores written by a newer loopml.
import { sql, type Kysely } from "kysely";
import { LoopmlError } from "../errors.ts";
import { MIGRATIONS, MIGRATION_NAMES } from "./migrations/index.ts";
import type { Database } from "./schema.ts";
import type { Dialect } from "./types.ts";
import { createTransactionRunner } from "./transaction.ts";

const MIGRATION_TABLE = "loopml_migration";
/** Serialises migrating processes on PostgreSQL; an arbitrary constant naming the lock. */
const MIGRATION_LOCK = 0x6c6d6967;

/**
 * Applies every pending migration, each in one transaction together with its bookkeeping row, so
 * that a crash (kill -9) mid-migration leaves either the old schema or the new one, never half of
 * it. (Kysely's own Migrator does not wrap SQLite migrations in transactions.) Concurrent openers
 * are serialised and each re-checks what is applied inside its transaction.
 */
export async function migrateToLatest(
  db: Kysely<Database>,
  dialect: Dialect,
  location: string,
): Promise<void> {
  const transaction = createTransactionRunner(
    db,
    dialect === "sqlite" ? "begin immediate" : "begin isolation level serializable",
  );
  const lock = async (tx: Kysely<Database>): Promise<void> => {
    if (dialect === "postgres") await sql`select pg_advisory_xact_lock(${MIGRATION_LOCK})`.execute(tx);
  };
  await transaction(async (tx) => {
    await lock(tx);
    await tx.schema
      .createTable(MIGRATION_TABLE)
      .ifNotExists()
      .addColumn("name", "varchar(255)", (c) => c.primaryKey())
      .addColumn("timestamp", "varchar(255)", (c) => c.notNull())
      .execute();
  });
  await refuseNewerSchema(db, location);
  const applied = new Set(await appliedMigrations(db));
  for (const [name, up] of MIGRATIONS) {
    if (applied.has(name)) continue;
    try {
      await transaction(async (tx) => {
        await lock(tx);
        const done = await sql<{
          name: string;
        }>`select name from ${sql.table(MIGRATION_TABLE)} where name = ${name}`.execute(tx);
        if (done.rows.length > 0) return; // another process applied it meanwhile
        await up(tx as unknown as Kysely<unknown>);
        await sql`insert into ${sql.table(MIGRATION_TABLE)} (name, timestamp) values (${name}, ${new Date().toISOString()})`.execute(
          tx,
        );
      });
    } catch (e) {
      throw new LoopmlError(
        "INTERNAL",
        `Migrating the store at ${location} failed in ${name}: ${(e as Error).message}`,
        undefined,
        {
          cause: e,
        },
      );
    }
  }
}

export async function appliedMigrations(db: Kysely<Database>): Promise<string[]> {
  try {
    const rows = await sql<{
      name: string;
    }>`select name from ${sql.table(MIGRATION_TABLE)} order by name`.execute(db);
    return rows.rows.map((r) => r.name);
  } catch {
    return []; // a brand-new store has no migration table yet
  }
}

async function refuseNewerSchema(db: Kysely<Database>, location: string): Promise<void> {
  const known = new Set(MIGRATION_NAMES);
  const unknown = (await appliedMigrations(db)).filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new LoopmlError(
      "FAILED_PRECONDITION",
      `The store at ${location} was written by a newer loopml (it has migration ${unknown.join(", ")}, which this version does not know). Upgrade loopml to open it.`,
      { unknownMigrations: unknown },
    );
  }
}

export async function schemaVersionOf(db: Kysely<Database>): Promise<number> {
  return (await appliedMigrations(db)).length;
}
