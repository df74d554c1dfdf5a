// Pipeline tables: runs of a pipeline, the runs of its steps, and the step cache (cache key → stored outputs).
import type { Kysely } from "kysely";

// Times are milliseconds since the epoch in "double precision", as in the tracking tables, so that
// both backends read them back as numbers.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("pipeline_runs")
    .addColumn("id", "varchar(32)", (c) => c.primaryKey())
    .addColumn("pipeline", "varchar(200)", (c) => c.notNull())
    .addColumn("version", "char(64)", (c) => c.notNull())
    .addColumn("status", "varchar(20)", (c) => c.notNull())
    .addColumn("definition", "text", (c) => c.notNull())
    .addColumn("params", "text", (c) => c.notNull())
    .addColumn("options", "text", (c) => c.notNull())
    .addColumn("actor", "varchar(200)", (c) => c.notNull())
    .addColumn("started_at", "double precision", (c) => c.notNull())
    .addColumn("ended_at", "double precision")
    .addColumn("error", "text")
    .execute();
  await db.schema
    .createIndex("pipeline_runs_pipeline")
    .on("pipeline_runs")
    .columns(["pipeline", "started_at"])
    .execute();
  await db.schema
    .createTable("step_runs")
    .addColumn("id", "varchar(32)", (c) => c.primaryKey())
    .addColumn("run_id", "varchar(32)", (c) => c.notNull())
    .addColumn("step", "varchar(200)", (c) => c.notNull())
    .addColumn("status", "varchar(20)", (c) => c.notNull())
    .addColumn("cache_key", "char(64)")
    .addColumn("cache_hit", "integer", (c) => c.notNull())
    .addColumn("attempts", "integer", (c) => c.notNull())
    .addColumn("inputs", "text", (c) => c.notNull())
    .addColumn("outputs", "text", (c) => c.notNull())
    .addColumn("metrics", "text", (c) => c.notNull())
    .addColumn("log_blob", "char(64)")
    .addColumn("error", "text")
    .addColumn("started_at", "double precision")
    .addColumn("ended_at", "double precision")
    .addColumn("duration_ms", "double precision", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("step_runs_run").on("step_runs").columns(["run_id", "step"]).execute();
  await db.schema
    .createTable("step_cache")
    .addColumn("cache_key", "char(64)", (c) => c.primaryKey())
    .addColumn("outputs", "text", (c) => c.notNull())
    .addColumn("metrics", "text", (c) => c.notNull())
    .addColumn("step_run_id", "varchar(32)", (c) => c.notNull())
    .addColumn("created_at", "double precision", (c) => c.notNull())
    .execute();
}
