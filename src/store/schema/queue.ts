// The queue module's tables (see migrations/0008-queue.ts). Times are ms since the epoch; JSON columns canonical.
export interface QueueStepClaimsTable {
  run_id: string;
  step: string;
  attempt: number;
  worker: string;
  claimed_at: number;
}

export interface QueueStepResultsTable {
  run_id: string;
  step: string;
  attempt: number;
  status: "succeeded" | "failed";
  retryable: number;
  /** OutputRef[] */
  outputs: string;
  metrics: string;
  log_blob: string | null;
  error: string | null;
  worker: string;
  started_at: number;
  ended_at: number;
}

export interface QueueTables {
  queue_step_claims: QueueStepClaimsTable;
  queue_step_results: QueueStepResultsTable;
}
