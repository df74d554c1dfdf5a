// Monitoring tables: monitors, their runs (one result per window), precomputed references, late labels, alert state.
import type { Kysely } from "kysely";

// Times are milliseconds since the epoch in "double precision", as in the tracking tables.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("monitors")
    .addColumn("name", "varchar(200)", (c) => c.primaryKey())
    // Canonical JSON of the MonitorSpec.
    .addColumn("spec", "text", (c) => c.notNull())
    .addColumn("created_at", "double precision", (c) => c.notNull())
    .addColumn("updated_at", "double precision", (c) => c.notNull())
    .addColumn("created_by", "varchar(200)", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("monitor_runs")
    .addColumn("id", "varchar(32)", (c) => c.primaryKey())
    .addColumn("monitor", "varchar(200)", (c) => c.notNull())
    // 1, 2, 3… per monitor: alert rules count consecutive windows by it.
    .addColumn("seq", "integer", (c) => c.notNull())
    .addColumn("status", "varchar(30)", (c) => c.notNull())
    .addColumn("rows", "integer", (c) => c.notNull())
    .addColumn("window_start", "double precision")
    .addColumn("window_end", "double precision")
    .addColumn("drift_share", "double precision")
    // JSON of the MonitorResult: aggregates only (per-column statistics and histograms), never rows.
    .addColumn("result", "text", (c) => c.notNull())
    .addColumn("created_at", "double precision", (c) => c.notNull())
    .addUniqueConstraint("monitor_runs_seq", ["monitor", "seq"])
    .execute();
  await db.schema
    .createTable("monitor_references")
    // "dataset:NAME@SEQ" or "run:RUN_ID" resolved to a dataset version id, so equal data is profiled once.
    .addColumn("key", "varchar(300)", (c) => c.primaryKey())
    .addColumn("blob_id", "char(64)", (c) => c.notNull())
    .addColumn("rows", "integer", (c) => c.notNull())
    .addColumn("created_at", "double precision", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("monitor_feedback")
    .addColumn("request_id", "varchar(200)", (c) => c.notNull())
    .addColumn("model", "varchar(200)", (c) => c.notNull())
    // The ground truth: a number (class index or value) or a class label, as text.
    .addColumn("label", "varchar(200)", (c) => c.notNull())
    .addColumn("received_at", "double precision", (c) => c.notNull())
    // 1 when the request id was found in the model's inference log when the label arrived.
    .addColumn("known", "integer", (c) => c.notNull())
    .addPrimaryKeyConstraint("monitor_feedback_pk", ["model", "request_id"])
    .execute();
  await db.schema
    .createIndex("monitor_feedback_received")
    .on("monitor_feedback")
    .columns(["model", "received_at"])
    .execute();
  await db.schema
    .createTable("monitor_alerts")
    .addColumn("monitor", "varchar(200)", (c) => c.notNull())
    .addColumn("rule", "varchar(500)", (c) => c.notNull())
    .addColumn("severity", "varchar(20)", (c) => c.notNull())
    // "ok" or "firing"; a firing alert does not fire again until it has resolved.
    .addColumn("state", "varchar(20)", (c) => c.notNull())
    .addColumn("consecutive", "integer", (c) => c.notNull())
    .addColumn("last_value", "double precision")
    .addColumn("last_seq", "integer", (c) => c.notNull())
    .addColumn("since", "double precision")
    .addColumn("updated_at", "double precision", (c) => c.notNull())
    .addPrimaryKeyConstraint("monitor_alerts_pk", ["monitor", "rule"])
    .execute();
}
