// SQL access of the data module: datasets, versions, the stat cache and the blob registry.
import { sql, type Kysely } from "kysely";
import { LoopmlError } from "../errors.ts";
import type { Database } from "../store/types.ts";
import type { StatCacheEntry } from "./ingest.ts";
import type { Dataset, DatasetVersion, FileLocation } from "./types.ts";

const BATCH = 500;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export function assertDatasetName(name: string): void {
  if (!NAME.test(name) || name.endsWith(".loopml")) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `"${name.slice(0, 120)}" is not a dataset name: use 1-100 letters, digits, ".", "_" or "-", starting with a letter or digit.`,
    );
  }
}

export function toDataset(row: Database["datasets"]): Dataset {
  return {
    name: row.name,
    path: row.path,
    kind: row.kind,
    latestSeq: row.latest_seq,
    createdAt: row.created_at,
    createdBy: row.created_by,
  };
}

export function toVersion(row: Database["dataset_versions"]): DatasetVersion {
  return {
    dataset: row.dataset,
    seq: row.seq,
    id: row.id.trim(),
    size: Number(row.size),
    fileCount: row.file_count,
    message: row.message,
    profileId: row.profile_id === null ? null : row.profile_id.trim(),
    parentSeq: row.parent_seq,
    createdAt: row.created_at,
    createdBy: row.created_by,
  };
}

export async function findDataset(db: Kysely<Database>, name: string): Promise<Dataset | undefined> {
  const row = await db.selectFrom("datasets").selectAll().where("name", "=", name).executeTakeFirst();
  return row && toDataset(row);
}

export async function listDatasets(db: Kysely<Database>): Promise<Dataset[]> {
  const rows = await db.selectFrom("datasets").selectAll().orderBy("name").execute();
  return rows.map(toDataset);
}

export async function requireDataset(db: Kysely<Database>, name: string): Promise<Dataset> {
  const ds = await findDataset(db, name);
  if (ds) return ds;
  const names = (await listDatasets(db)).map((d) => d.name);
  throw new LoopmlError(
    "NOT_FOUND",
    names.length === 0
      ? `There is no dataset "${name}": no dataset exists yet. Create one with loopml data add PATH --name ${name}`
      : `There is no dataset "${name}". Datasets: ${names.slice(0, 20).join(", ")}${names.length > 20 ? ", …" : ""}.`,
    { dataset: name, datasets: names },
  );
}

export async function listVersions(db: Kysely<Database>, name: string): Promise<DatasetVersion[]> {
  const rows = await db
    .selectFrom("dataset_versions")
    .selectAll()
    .where("dataset", "=", name)
    .orderBy("seq")
    .execute();
  return rows.map(toVersion);
}

export interface VersionRef {
  readonly name: string;
  /** A sequence number, "latest", or a prefix (≥ 6 hex characters) of the version id. */
  readonly version?: string;
}

export function parseRef(ref: string): VersionRef {
  const at = ref.lastIndexOf("@");
  if (at < 0) return { name: ref };
  const name = ref.slice(0, at);
  const version = ref.slice(at + 1);
  if (name === "" || version === "") {
    throw new LoopmlError("INVALID_ARGUMENT", `"${ref}" is not NAME or NAME@VERSION (e.g. flights@3).`);
  }
  return { name, version };
}

export async function resolveVersion(db: Kysely<Database>, ref: VersionRef): Promise<DatasetVersion> {
  const ds = await requireDataset(db, ref.name);
  const v = ref.version ?? "latest";
  let row: Database["dataset_versions"] | undefined;
  if (v === "latest") {
    row = await db
      .selectFrom("dataset_versions")
      .selectAll()
      .where("dataset", "=", ds.name)
      .where("seq", "=", ds.latestSeq)
      .executeTakeFirst();
  } else if (/^\d+$/.test(v) && v.length < 10) {
    row = await db
      .selectFrom("dataset_versions")
      .selectAll()
      .where("dataset", "=", ds.name)
      .where("seq", "=", Number(v))
      .executeTakeFirst();
  } else if (/^[0-9a-f]{6,64}$/.test(v)) {
    const rows = await db
      .selectFrom("dataset_versions")
      .selectAll()
      .where("dataset", "=", ds.name)
      .where(sql<string>`substr(id, 1, ${v.length})`, "=", v)
      .orderBy("seq", "desc")
      .execute();
    row = rows[0];
  } else {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `"${v}" is not a version: use a number (${ds.name}@3), "latest" or an id prefix of at least 6 hex characters.`,
    );
  }
  if (row) return toVersion(row);
  throw new LoopmlError(
    "NOT_FOUND",
    `Dataset "${ds.name}" has no version ${v} (latest is ${ds.latestSeq}). List them with loopml data versions ${ds.name}`,
    { dataset: ds.name, version: v, latest: ds.latestSeq },
  );
}

interface CacheRow {
  path: string;
  size: number;
  mtime_ms: number;
  inode: string;
  cached_at_ms: number;
  digest: string;
  location: string;
}

/** A cache row whose location JSON is parsed only when read: an unchanged re-add never reads it. */
class CacheEntry implements StatCacheEntry {
  readonly size: number;
  readonly mtimeMs: number;
  readonly inode: string;
  readonly cachedAtMs: number;
  readonly digest: string;
  #json: string;
  #location: FileLocation | undefined;
  constructor(r: CacheRow) {
    this.size = Number(r.size);
    this.mtimeMs = Number(r.mtime_ms);
    this.inode = r.inode;
    this.cachedAtMs = Number(r.cached_at_ms);
    this.digest = r.digest.trim();
    this.#json = r.location;
  }
  get location(): FileLocation {
    return (this.#location ??= JSON.parse(this.#json) as FileLocation);
  }
}

function toCacheEntry(r: CacheRow): StatCacheEntry {
  return new CacheEntry(r);
}

/** Cache rows for one file (`exact`) or every file below a folder prefix ("data/imgs/"). */
export async function loadStatCache(
  db: Kysely<Database>,
  where: { exact: string } | { prefix: string },
): Promise<Map<string, StatCacheEntry>> {
  let q = db.selectFrom("data_stat_cache").selectAll();
  q =
    "exact" in where
      ? q.where("path", "=", where.exact)
      : q.where(sql<string>`substr(path, 1, ${where.prefix.length})`, "=", where.prefix);
  const out = new Map<string, StatCacheEntry>();
  for (const r of await q.execute()) out.set(r.path, toCacheEntry(r));
  return out;
}

export type StatStamp = Omit<StatCacheEntry, "location">;

/**
 * The stat cache without locations, for the "did anything change?" check of a re-add: 100k rows
 * without their location JSON load several times faster.
 */
export async function loadStatStamps(
  db: Kysely<Database>,
  where: { exact: string } | { prefix: string },
): Promise<Map<string, StatStamp>> {
  let q = db
    .selectFrom("data_stat_cache")
    .select(["path", "size", "mtime_ms", "inode", "cached_at_ms", "digest"]);
  q =
    "exact" in where
      ? q.where("path", "=", where.exact)
      : q.where(sql<string>`substr(path, 1, ${where.prefix.length})`, "=", where.prefix);
  const out = new Map<string, StatStamp>();
  for (const r of await q.execute()) {
    out.set(r.path, {
      size: Number(r.size),
      mtimeMs: Number(r.mtime_ms),
      inode: r.inode,
      cachedAtMs: Number(r.cached_at_ms),
      digest: r.digest.trim(),
    });
  }
  return out;
}

export async function writeStatCache(
  tx: Kysely<Database>,
  rows: ReadonlyMap<string, StatCacheEntry>,
): Promise<void> {
  const all = [...rows].map(([path, e]) => ({
    path,
    size: e.size,
    mtime_ms: e.mtimeMs,
    inode: e.inode,
    cached_at_ms: e.cachedAtMs,
    digest: e.digest,
    location: JSON.stringify(e.location),
  }));
  for (let i = 0; i < all.length; i += BATCH) {
    await tx
      .insertInto("data_stat_cache")
      .values(all.slice(i, i + BATCH))
      .onConflict((oc) =>
        oc.column("path").doUpdateSet((eb) => ({
          size: eb.ref("excluded.size"),
          mtime_ms: eb.ref("excluded.mtime_ms"),
          inode: eb.ref("excluded.inode"),
          cached_at_ms: eb.ref("excluded.cached_at_ms"),
          digest: eb.ref("excluded.digest"),
          location: eb.ref("excluded.location"),
        })),
      )
      .execute();
  }
}

/** Registers blobs as data's (gc may only ever delete these) and marks them used now. */
export async function touchBlobs(
  tx: Kysely<Database>,
  blobs: ReadonlyMap<string, { kind: string; size: number }>,
  nowMs: number,
): Promise<void> {
  const all = [...blobs].map(([id, b]) => ({
    id,
    kind: b.kind,
    size: Math.max(0, b.size),
    touched_at_ms: nowMs,
  }));
  for (let i = 0; i < all.length; i += BATCH) {
    await tx
      .insertInto("data_blobs")
      .values(all.slice(i, i + BATCH))
      .onConflict((oc) => oc.column("id").doUpdateSet({ touched_at_ms: nowMs }))
      .execute();
  }
}

export const GC_RUNNING_KEY = "data.gc.running";
export const GC_FINISHED_KEY = "data.gc.last_finished_ms";

export async function readMeta(db: Kysely<Database>, key: string): Promise<string | undefined> {
  const row = await db.selectFrom("meta").select("value").where("key", "=", key).executeTakeFirst();
  return row?.value;
}

export async function writeMeta(tx: Kysely<Database>, key: string, value: string | undefined): Promise<void> {
  if (value === undefined) {
    await tx.deleteFrom("meta").where("key", "=", key).execute();
    return;
  }
  await tx
    .insertInto("meta")
    .values({ key, value })
    .onConflict((oc) => oc.column("key").doUpdateSet({ value }))
    .execute();
}
