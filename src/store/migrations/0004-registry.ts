// Model registry tables (models, versions, aliases with history, pending promotions) and the control plane's API tokens.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("registered_models")
    .addColumn("name", "varchar(200)", (c) => c.primaryKey())
    .addColumn("description", "text", (c) => c.notNull())
    .addColumn("tags", "text", (c) => c.notNull())
    // JSON: the promotion gate and the protected aliases (environments).
    .addColumn("policy", "text", (c) => c.notNull())
    .addColumn("latest_version", "integer", (c) => c.notNull())
    .addColumn("created_at", "double precision", (c) => c.notNull())
    .addColumn("updated_at", "double precision", (c) => c.notNull())
    .addColumn("created_by", "varchar(200)", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("model_versions")
    .addColumn("model", "varchar(200)", (c) => c.notNull())
    .addColumn("version", "integer", (c) => c.notNull())
    .addColumn("blob_id", "char(64)")
    .addColumn("source", "varchar(1000)", (c) => c.notNull())
    .addColumn("flavor", "varchar(30)")
    .addColumn("signature", "text")
    .addColumn("metrics", "text", (c) => c.notNull())
    .addColumn("run_id", "varchar(32)")
    .addColumn("datasets", "text", (c) => c.notNull())
    .addColumn("pipeline_run", "varchar(100)")
    .addColumn("code_version", "varchar(100)")
    .addColumn("description", "text", (c) => c.notNull())
    .addColumn("tags", "text", (c) => c.notNull())
    .addColumn("created_at", "double precision", (c) => c.notNull())
    .addColumn("updated_at", "double precision", (c) => c.notNull())
    .addColumn("created_by", "varchar(200)", (c) => c.notNull())
    .addPrimaryKeyConstraint("model_versions_pk", ["model", "version"])
    .execute();
  await db.schema.createIndex("model_versions_run").on("model_versions").column("run_id").execute();
  await db.schema
    .createTable("model_aliases")
    .addColumn("model", "varchar(200)", (c) => c.notNull())
    .addColumn("alias", "varchar(100)", (c) => c.notNull())
    .addColumn("version", "integer", (c) => c.notNull())
    .addColumn("updated_at", "double precision", (c) => c.notNull())
    .addColumn("updated_by", "varchar(200)", (c) => c.notNull())
    .addPrimaryKeyConstraint("model_aliases_pk", ["model", "alias"])
    .execute();
  await db.schema
    .createTable("model_alias_history")
    .addColumn("id", "varchar(32)", (c) => c.primaryKey())
    .addColumn("model", "varchar(200)", (c) => c.notNull())
    .addColumn("alias", "varchar(100)", (c) => c.notNull())
    .addColumn("from_version", "integer")
    .addColumn("to_version", "integer")
    .addColumn("at", "double precision", (c) => c.notNull())
    .addColumn("actor", "varchar(200)", (c) => c.notNull())
    .addColumn("forced", "integer", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("model_alias_history_alias")
    .on("model_alias_history")
    .columns(["model", "alias", "at"])
    .execute();
  await db.schema
    .createTable("model_promotions")
    .addColumn("id", "varchar(32)", (c) => c.primaryKey())
    .addColumn("model", "varchar(200)", (c) => c.notNull())
    .addColumn("version", "integer", (c) => c.notNull())
    .addColumn("alias", "varchar(100)", (c) => c.notNull())
    .addColumn("status", "varchar(20)", (c) => c.notNull())
    .addColumn("report", "text", (c) => c.notNull())
    .addColumn("requested_by", "varchar(200)", (c) => c.notNull())
    .addColumn("requested_at", "double precision", (c) => c.notNull())
    .addColumn("decided_by", "varchar(200)")
    .addColumn("decided_at", "double precision")
    .addColumn("reason", "text")
    .execute();
  await db.schema
    .createIndex("model_promotions_model")
    .on("model_promotions")
    .columns(["model", "status"])
    .execute();
  // Only the sha256 of a token is kept: the token itself is shown once, when it is created.
  await db.schema
    .createTable("api_tokens")
    .addColumn("id", "varchar(32)", (c) => c.primaryKey())
    .addColumn("name", "varchar(200)", (c) => c.notNull().unique())
    .addColumn("role", "varchar(20)", (c) => c.notNull())
    .addColumn("hash", "char(64)", (c) => c.notNull().unique())
    .addColumn("created_at", "double precision", (c) => c.notNull())
    .addColumn("created_by", "varchar(200)", (c) => c.notNull())
    .addColumn("revoked_at", "double precision")
    .execute();
}
