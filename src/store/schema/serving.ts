// The serving module's tables (see migrations/0006-serving.ts). Times are milliseconds since the epoch.

/** One columnar batch of logged predictions; the rows themselves are in the blob `blob_id`. */
export interface InferenceLogBatchesTable {
  id: string;
  model: string;
  version: number;
  rows: number;
  ts_min: number;
  ts_max: number;
  blob_id: string;
  created_at: number;
}

export interface DeploymentsTable {
  name: string;
  /** Canonical JSON of a DeploymentSpec. */
  spec: string;
  created_at: number;
  updated_at: number;
  created_by: string;
  updated_by: string;
}

export interface ServingTables {
  inference_log_batches: InferenceLogBatchesTable;
  deployments: DeploymentsTable;
}
