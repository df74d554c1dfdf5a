// Queue tables: which worker claimed which step attempt (a redelivery after a lost lease adds a claim), and the
// one result per (pipeline run, step, attempt) that makes completing a step idempotent.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("queue_step_claims")
    .addColumn("run_id", "varchar(32)", (c) => c.notNull())
    .addColumn("step", "varchar(200)", (c) => c.notNull())
    .addColumn("attempt", "integer", (c) => c.notNull())
    .addColumn("worker", "varchar(200)", (c) => c.notNull())
    .addColumn("claimed_at", "double precision", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("queue_step_claims_step")
    .on("queue_step_claims")
    .columns(["run_id", "step", "attempt"])
    .execute();
  await db.schema
    .createTable("queue_step_results")
    .addColumn("run_id", "varchar(32)", (c) => c.notNull())
    .addColumn("step", "varchar(200)", (c) => c.notNull())
    .addColumn("attempt", "integer", (c) => c.notNull())
    .addColumn("status", "varchar(20)", (c) => c.notNull())
    .addColumn("retryable", "integer", (c) => c.notNull())
    .addColumn("outputs", "text", (c) => c.notNull())
    .addColumn("metrics", "text", (c) => c.notNull())
    .addColumn("log_blob", "char(64)")
    .addColumn("error", "text")
    .addColumn("worker", "varchar(200)", (c) => c.notNull())
    .addColumn("started_at", "double precision", (c) => c.notNull())
    .addColumn("ended_at", "double precision", (c) => c.notNull())
    .addPrimaryKeyConstraint("queue_step_results_pk", ["run_id", "step", "attempt"])
    .execute();
}
