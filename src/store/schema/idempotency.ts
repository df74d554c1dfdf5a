// The idempotency table (see migrations/0012-idempotency.ts). Times are milliseconds since the epoch.

export interface IdempotencyKeysTable {
  /** The caller the key belongs to: keys of different callers never meet. */
  actor: string;
  key: string;
  /** sha256 of method, path and body: the same key with another request is refused. */
  fingerprint: string;
  /** The attempt executing the request; a takeover after a crash changes it, fencing the old one out. */
  owner: string;
  started_at: number;
  /** 1 once a write transaction of the request committed. */
  applied: number;
  status: number | null;
  response: string | null;
  content_type: string | null;
  created_at: number;
}

export interface IdempotencyTables {
  idempotency_keys: IdempotencyKeysTable;
}
