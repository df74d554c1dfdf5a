// The monitoring module's tables (see migrations/0007-monitoring.ts). Times are milliseconds since the epoch.

export interface MonitorsTable {
  name: string;
  /** Canonical JSON of a MonitorSpec. */
  spec: string;
  created_at: number;
  updated_at: number;
  created_by: string;
}

/** One checked window of one monitor. */
export interface MonitorRunsTable {
  id: string;
  monitor: string;
  seq: number;
  /** "ok" | "drift" | "not_enough_data" | "schema_drift". */
  status: string;
  rows: number;
  window_start: number | null;
  window_end: number | null;
  drift_share: number | null;
  /** JSON of the MonitorResult (aggregates only). */
  result: string;
  created_at: number;
}

/** A reference profile (sketches and a bounded sample), precomputed once and stored as a blob. */
export interface MonitorReferencesTable {
  key: string;
  blob_id: string;
  rows: number;
  created_at: number;
}

/** Ground truth that arrived after the prediction, keyed by the prediction's request id. */
export interface MonitorFeedbackTable {
  request_id: string;
  model: string;
  label: string;
  received_at: number;
  known: number;
}

/** Per monitor and rule: whether the alert is firing, for deduplication and resolution. */
export interface MonitorAlertsTable {
  monitor: string;
  rule: string;
  severity: string;
  state: string;
  consecutive: number;
  last_value: number | null;
  last_seq: number;
  since: number | null;
  updated_at: number;
}

export interface MonitoringTables {
  monitors: MonitorsTable;
  monitor_runs: MonitorRunsTable;
  monitor_references: MonitorReferencesTable;
  monitor_feedback: MonitorFeedbackTable;
  monitor_alerts: MonitorAlertsTable;
}
