// Experiment tracking tables: experiments, runs, their tags/params/inputs/artifacts, metric series and per-key summaries.
import type { Kysely } from "kysely";

// Times are milliseconds since the epoch in "double precision": exact up to 2^53 and read back as
// numbers on both backends (PostgreSQL returns bigint as strings).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("experiments")
    .addColumn("id", "varchar(32)", (c) => c.primaryKey())
    .addColumn("name", "varchar(500)", (c) => c.notNull().unique())
    .addColumn("artifact_location", "varchar(1000)", (c) => c.notNull())
    .addColumn("lifecycle_stage", "varchar(20)", (c) => c.notNull())
    .addColumn("tags", "text", (c) => c.notNull())
    .addColumn("created_at", "double precision", (c) => c.notNull())
    .addColumn("updated_at", "double precision", (c) => c.notNull())
    .execute();
  // MLflow clients assume experiment "0" exists; it holds runs started without an experiment.
  await db
    .insertInto("experiments" as never)
    .values({
      id: "0",
      name: "Default",
      artifact_location: "loopml-artifacts:/0",
      lifecycle_stage: "active",
      tags: "{}",
      created_at: 0,
      updated_at: 0,
    })
    .execute();
  await db.schema
    .createTable("runs")
    .addColumn("id", "varchar(32)", (c) => c.primaryKey())
    .addColumn("experiment_id", "varchar(32)", (c) => c.notNull())
    .addColumn("name", "varchar(250)", (c) => c.notNull())
    .addColumn("status", "varchar(20)", (c) => c.notNull())
    .addColumn("lifecycle_stage", "varchar(20)", (c) => c.notNull())
    .addColumn("start_time", "double precision", (c) => c.notNull())
    .addColumn("end_time", "double precision")
    .addColumn("parent_run_id", "varchar(32)")
    .addColumn("git_commit", "varchar(64)")
    .addColumn("git_dirty", "integer")
    .addColumn("user_id", "varchar(200)", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("runs_experiment")
    .on("runs")
    .columns(["experiment_id", "start_time"])
    .execute();
  await db.schema.createIndex("runs_parent").on("runs").column("parent_run_id").execute();
  for (const table of ["run_tags", "run_params"]) {
    await db.schema
      .createTable(table)
      .addColumn("run_id", "varchar(32)", (c) => c.notNull())
      .addColumn("key", "varchar(250)", (c) => c.notNull())
      .addColumn("value", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint(`${table}_pk`, ["run_id", "key"])
      .execute();
  }
  // The series is append-only; NaN is stored as value 0 with is_nan = 1 because SQLite turns NaN into NULL.
  await db.schema
    .createTable("run_metrics")
    .addColumn("run_id", "varchar(32)", (c) => c.notNull())
    .addColumn("key", "varchar(250)", (c) => c.notNull())
    .addColumn("step", "double precision", (c) => c.notNull())
    .addColumn("timestamp", "double precision", (c) => c.notNull())
    .addColumn("value", "double precision", (c) => c.notNull())
    .addColumn("is_nan", "integer", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("run_metrics_series")
    .on("run_metrics")
    .columns(["run_id", "key", "step"])
    .execute();
  // One row per run and key, kept in step with every batch, so search and sort never read the series.
  await db.schema
    .createTable("run_metric_summaries")
    .addColumn("run_id", "varchar(32)", (c) => c.notNull())
    .addColumn("key", "varchar(250)", (c) => c.notNull())
    .addColumn("last_value", "double precision", (c) => c.notNull())
    .addColumn("last_is_nan", "integer", (c) => c.notNull())
    .addColumn("last_step", "double precision", (c) => c.notNull())
    .addColumn("last_timestamp", "double precision", (c) => c.notNull())
    .addColumn("min_value", "double precision")
    .addColumn("max_value", "double precision")
    .addColumn("count", "integer", (c) => c.notNull())
    .addPrimaryKeyConstraint("run_metric_summaries_pk", ["run_id", "key"])
    .execute();
  await db.schema
    .createIndex("run_metric_summaries_key_value")
    .on("run_metric_summaries")
    .columns(["key", "last_value", "run_id"])
    .execute();
  await db.schema
    .createTable("run_inputs")
    .addColumn("run_id", "varchar(32)", (c) => c.notNull())
    .addColumn("dataset", "varchar(200)", (c) => c.notNull())
    .addColumn("version", "varchar(100)", (c) => c.notNull())
    .addColumn("context", "varchar(100)", (c) => c.notNull())
    .addPrimaryKeyConstraint("run_inputs_pk", ["run_id", "dataset", "version", "context"])
    .execute();
  await db.schema
    .createTable("run_artifacts")
    .addColumn("run_id", "varchar(32)", (c) => c.notNull())
    .addColumn("path", "varchar(1000)", (c) => c.notNull())
    .addColumn("blob_id", "char(64)", (c) => c.notNull())
    .addColumn("size", "double precision", (c) => c.notNull())
    .addColumn("created_at", "double precision", (c) => c.notNull())
    .addPrimaryKeyConstraint("run_artifacts_pk", ["run_id", "path"])
    .execute();
}
