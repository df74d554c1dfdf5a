// Loop tables: what `loopml apply` manages (with the spec it applied) and every retrain the loop ran.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  // One row per resource loopml.yaml declared and apply converged: only these may be removed by a later apply.
  await db.schema
    .createTable("loop_resources")
    .addColumn("kind", "varchar(30)", (c) => c.notNull())
    .addColumn("name", "varchar(200)", (c) => c.notNull())
    .addColumn("spec", "text", (c) => c.notNull())
    .addColumn("updated_at", "double precision", (c) => c.notNull())
    .addColumn("updated_by", "varchar(200)", (c) => c.notNull())
    .addPrimaryKeyConstraint("loop_resources_pk", ["kind", "name"])
    .execute();
  // One row per retrain; a "running" row is the in-flight lock (at most one per model).
  await db.schema
    .createTable("loop_retrains")
    .addColumn("id", "varchar(32)", (c) => c.primaryKey())
    .addColumn("model", "varchar(200)", (c) => c.notNull())
    .addColumn("status", "varchar(20)", (c) => c.notNull())
    .addColumn("cause", "text", (c) => c.notNull())
    .addColumn("started_at", "double precision", (c) => c.notNull())
    .addColumn("finished_at", "double precision")
    .addColumn("champion_version", "integer")
    .addColumn("candidate_version", "integer")
    .addColumn("outcome", "text")
    .execute();
  await db.schema
    .createIndex("loop_retrains_model")
    .on("loop_retrains")
    .columns(["model", "started_at"])
    .execute();
}
