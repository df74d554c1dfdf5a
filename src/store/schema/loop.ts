// The loop module's tables (see migrations/0009-loop.ts). Times are milliseconds since the epoch.

export interface LoopResourcesTable {
  /** "dataset" | "model" | "deployment" | "monitor" | "retrain". */
  kind: string;
  name: string;
  /** Canonical JSON of the spec apply converged to. */
  spec: string;
  updated_at: number;
  updated_by: string;
}

export interface LoopRetrainsTable {
  id: string;
  model: string;
  /** running → promoted | canary | rejected | failed | skipped. */
  status: string;
  /** JSON: what started it (monitor alert, schedule, manual). */
  cause: string;
  started_at: number;
  finished_at: number | null;
  champion_version: number | null;
  candidate_version: number | null;
  /** JSON: metrics, gate report, reasons. */
  outcome: string | null;
}

export interface LoopTables {
  loop_resources: LoopResourcesTable;
  loop_retrains: LoopRetrainsTable;
}
