// Brings a metadata store's schema up to date, refusing stores written by a newer loopml.
import { sql, type Kysely } from "kysely";
import { Migrator } from "kysely/migration";
import { LoopmlError } from "../errors.ts";
import { MIGRATION_NAMES, migrationProvider } from "./migrations/index.ts";
import type { Database } from "./schema.ts";

const MIGRATION_TABLE = "loopml_migration";
const MIGRATION_LOCK_TABLE = "loopml_migration_lock";

/** Applies every pending migration; each runs in its own transaction, so a crash leaves a consistent schema. */
export async function migrateToLatest(db: Kysely<Database>, location: string): Promise<void> {
  await refuseNewerSchema(db, location);
  const migrator = new Migrator({
    db,
    provider: migrationProvider,
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    throw new LoopmlError(
      "INTERNAL",
      `Migrating the store at ${location} failed in ${failed}: ${error instanceof Error ? error.message : JSON.stringify(error)}`,
      undefined,
      {
        cause: error,
      },
    );
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
