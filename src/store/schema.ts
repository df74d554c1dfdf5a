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

export interface Database {
  meta: MetaTable;
  audit_events: AuditEventsTable;
  audit_head: AuditHeadTable;
}
