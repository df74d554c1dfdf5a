// The SQL schema as TypeScript types, shared by every backend. Each module's tables arrive by migration.
import type { Generated } from "kysely";

export interface MetaTable {
  key: string;
  value: string;
}

export interface AuditEventsTable {
  seq: number;
  /** ISO 8601 UTC, millisecond precision. */
  ts: string;
  actor: string;
  action: string;
  target: string;
  /** Canonical JSON. */
  details: string;
  prev_hash: string;
  hash: string;
}

export interface AuditHeadTable {
  id: Generated<number>;
  seq: number;
  hash: string;
}

export interface DatasetsTable {
  name: string;
  /** Relative to the project folder, "/"-separated. */
  path: string;
  kind: "file" | "folder";
  latest_seq: number;
  created_at: string;
  created_by: string;
}

export interface DatasetVersionsTable {
  dataset: string;
  seq: number;
  /** The manifest blob's id. */
  id: string;
  size: number;
  file_count: number;
  message: string;
  profile_id: string | null;
  parent_seq: number | null;
  created_at: string;
  created_by: string;
}

export interface DataStatCacheTable {
  path: string;
  size: number;
  mtime_ms: number;
  inode: string;
  cached_at_ms: number;
  digest: string;
  /** JSON: where the bytes are (chunk ids, or a pack and an offset). */
  location: string;
}

export interface DataBlobsTable {
  id: string;
  kind: string;
  size: number;
  touched_at_ms: number;
}

export interface Database {
  meta: MetaTable;
  audit_events: AuditEventsTable;
  audit_head: AuditHeadTable;
  datasets: DatasetsTable;
  dataset_versions: DatasetVersionsTable;
  data_stat_cache: DataStatCacheTable;
  data_blobs: DataBlobsTable;
}
