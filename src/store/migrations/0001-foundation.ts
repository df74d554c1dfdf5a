// Foundation tables: key/value metadata and the hash-chained audit log.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("meta")
    .addColumn("key", "varchar(200)", (c) => c.primaryKey())
    .addColumn("value", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("audit_events")
    .addColumn("seq", "integer", (c) => c.primaryKey())
    .addColumn("ts", "varchar(30)", (c) => c.notNull())
    .addColumn("actor", "varchar(200)", (c) => c.notNull())
    .addColumn("action", "varchar(200)", (c) => c.notNull())
    .addColumn("target", "varchar(500)", (c) => c.notNull())
    .addColumn("details", "text", (c) => c.notNull())
    .addColumn("prev_hash", "char(64)", (c) => c.notNull())
    .addColumn("hash", "char(64)", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("audit_events_target").on("audit_events").columns(["target", "seq"]).execute();
  // One row holding the chain's head, so that deleting the newest event is detectable too.
  await db.schema
    .createTable("audit_head")
    .addColumn("id", "integer", (c) => c.primaryKey())
    .addColumn("seq", "integer", (c) => c.notNull())
    .addColumn("hash", "char(64)", (c) => c.notNull())
    .execute();
  await db
    .insertInto("audit_head" as never)
    .values({ id: 1, seq: 0, hash: "0".repeat(64) })
    .execute();
}
