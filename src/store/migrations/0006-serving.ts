// Serving tables: the inference log (one row per columnar batch, its payload in a blob) and deployments.
import type { Kysely } from "kysely";

// Times are milliseconds since the epoch in "double precision", as in the tracking tables.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("inference_log_batches")
    .addColumn("id", "varchar(32)", (c) => c.primaryKey())
    .addColumn("model", "varchar(200)", (c) => c.notNull())
    .addColumn("version", "integer", (c) => c.notNull())
    .addColumn("rows", "integer", (c) => c.notNull())
    // The oldest and newest prediction in the batch: a time-window read touches only overlapping batches.
    .addColumn("ts_min", "double precision", (c) => c.notNull())
    .addColumn("ts_max", "double precision", (c) => c.notNull())
    .addColumn("blob_id", "char(64)", (c) => c.notNull())
    .addColumn("created_at", "double precision", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("inference_log_batches_model_ts")
    .on("inference_log_batches")
    .columns(["model", "ts_max"])
    .execute();
  await db.schema
    .createTable("deployments")
    .addColumn("name", "varchar(200)", (c) => c.primaryKey())
    // Canonical JSON of the DeploymentSpec.
    .addColumn("spec", "text", (c) => c.notNull())
    .addColumn("created_at", "double precision", (c) => c.notNull())
    .addColumn("updated_at", "double precision", (c) => c.notNull())
    .addColumn("created_by", "varchar(200)", (c) => c.notNull())
    .addColumn("updated_by", "varchar(200)", (c) => c.notNull())
    .execute();
}
