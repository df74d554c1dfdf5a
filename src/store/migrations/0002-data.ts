// Data versioning tables: datasets, their immutable versions, the stat cache and the chunk registry gc reads.
import type { Kysely } from "kysely";

// Sizes and times are "double precision": exact up to 2^53 and read back as numbers on both backends
// (PostgreSQL returns bigint as strings).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("datasets")
    .addColumn("name", "varchar(100)", (c) => c.primaryKey())
    .addColumn("path", "varchar(1000)", (c) => c.notNull())
    .addColumn("kind", "varchar(10)", (c) => c.notNull())
    .addColumn("latest_seq", "integer", (c) => c.notNull())
    .addColumn("created_at", "varchar(30)", (c) => c.notNull())
    .addColumn("created_by", "varchar(200)", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("dataset_versions")
    .addColumn("dataset", "varchar(100)", (c) => c.notNull())
    .addColumn("seq", "integer", (c) => c.notNull())
    .addColumn("id", "char(64)", (c) => c.notNull())
    .addColumn("size", "double precision", (c) => c.notNull())
    .addColumn("file_count", "integer", (c) => c.notNull())
    .addColumn("message", "text", (c) => c.notNull())
    .addColumn("profile_id", "char(64)")
    .addColumn("parent_seq", "integer")
    .addColumn("created_at", "varchar(30)", (c) => c.notNull())
    .addColumn("created_by", "varchar(200)", (c) => c.notNull())
    .addPrimaryKeyConstraint("dataset_versions_pk", ["dataset", "seq"])
    .execute();
  await db.schema.createIndex("dataset_versions_id").on("dataset_versions").column("id").execute();
  // Keyed by the file's path relative to the project: a hit needs size, mtime and inode all equal.
  await db.schema
    .createTable("data_stat_cache")
    .addColumn("path", "varchar(1000)", (c) => c.primaryKey())
    .addColumn("size", "double precision", (c) => c.notNull())
    .addColumn("mtime_ms", "double precision", (c) => c.notNull())
    .addColumn("inode", "varchar(40)", (c) => c.notNull())
    .addColumn("cached_at_ms", "double precision", (c) => c.notNull())
    .addColumn("digest", "char(64)", (c) => c.notNull())
    .addColumn("location", "text", (c) => c.notNull())
    .execute();
  // Every blob the data module wrote or reused, with when it last did: gc only ever deletes these.
  await db.schema
    .createTable("data_blobs")
    .addColumn("id", "char(64)", (c) => c.primaryKey())
    .addColumn("kind", "varchar(20)", (c) => c.notNull())
    .addColumn("size", "double precision", (c) => c.notNull())
    .addColumn("touched_at_ms", "double precision", (c) => c.notNull())
    .execute();
}
