// Idempotency keys of write requests: a retried POST with the same key gets the first answer instead of a second object.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  // One row per (caller, key). `applied` is set inside the request's own write transaction, so a crash can never
  // leave the object written and the key unmarked; `status`/`response` follow once the answer is built.
  await db.schema
    .createTable("idempotency_keys")
    .addColumn("actor", "varchar(200)", (c) => c.notNull())
    .addColumn("key", "varchar(255)", (c) => c.notNull())
    .addColumn("fingerprint", "varchar(64)", (c) => c.notNull())
    .addColumn("owner", "varchar(32)", (c) => c.notNull())
    .addColumn("started_at", "double precision", (c) => c.notNull())
    .addColumn("applied", "integer", (c) => c.notNull())
    .addColumn("status", "integer")
    .addColumn("response", "text")
    .addColumn("content_type", "varchar(200)")
    .addColumn("created_at", "double precision", (c) => c.notNull())
    .addPrimaryKeyConstraint("idempotency_keys_pk", ["actor", "key"])
    .execute();
  await db.schema
    .createIndex("idempotency_keys_created")
    .on("idempotency_keys")
    .column("created_at")
    .execute();
}
