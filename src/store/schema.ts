// The SQL schema as TypeScript types, shared by every backend. Each module's tables arrive by migration.
import type { Generated } from "kysely";
import type { IdempotencyTables } from "./schema/idempotency.ts";
import type { LoopTables } from "./schema/loop.ts";
import type { MonitoringTables } from "./schema/monitoring.ts";
import type { QueueTables } from "./schema/queue.ts";
import type { ServingTables } from "./schema/serving.ts";

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

/** Times in tracking and registry tables are milliseconds since the epoch. JSON columns hold canonical JSON. */
export interface ExperimentsTable {
  id: string;
  name: string;
  artifact_location: string;
  lifecycle_stage: "active" | "deleted";
  tags: string;
  created_at: number;
  updated_at: number;
}

/** Kept by triggers on runs (migration 0011): the number of active runs of each experiment. */
export interface ExperimentRunCountsTable {
  experiment_id: string;
  active_runs: number;
}

export interface RunsTable {
  id: string;
  experiment_id: string;
  name: string;
  status: "RUNNING" | "SCHEDULED" | "FINISHED" | "FAILED" | "KILLED";
  lifecycle_stage: "active" | "deleted";
  start_time: number;
  end_time: number | null;
  parent_run_id: string | null;
  git_commit: string | null;
  git_dirty: number | null;
  user_id: string;
}

export interface RunKeyValueTable {
  run_id: string;
  key: string;
  value: string;
}

export interface RunMetricsTable {
  run_id: string;
  key: string;
  step: number;
  timestamp: number;
  value: number;
  is_nan: number;
}

export interface RunMetricSummariesTable {
  run_id: string;
  key: string;
  last_value: number;
  last_is_nan: number;
  last_step: number;
  last_timestamp: number;
  min_value: number | null;
  max_value: number | null;
  count: number;
}

export interface RunInputsTable {
  run_id: string;
  dataset: string;
  version: string;
  context: string;
}

export interface RunArtifactsTable {
  run_id: string;
  path: string;
  blob_id: string;
  size: number;
  created_at: number;
}

export interface RegisteredModelsTable {
  name: string;
  description: string;
  tags: string;
  policy: string;
  latest_version: number;
  created_at: number;
  updated_at: number;
  created_by: string;
}

export interface ModelVersionsTable {
  model: string;
  version: number;
  blob_id: string | null;
  source: string;
  flavor: string | null;
  signature: string | null;
  metrics: string;
  run_id: string | null;
  datasets: string;
  pipeline_run: string | null;
  code_version: string | null;
  description: string;
  tags: string;
  created_at: number;
  updated_at: number;
  created_by: string;
}

export interface ModelAliasesTable {
  model: string;
  alias: string;
  version: number;
  updated_at: number;
  updated_by: string;
}

export interface ModelAliasHistoryTable {
  id: string;
  model: string;
  alias: string;
  from_version: number | null;
  to_version: number | null;
  at: number;
  actor: string;
  forced: number;
}

export interface ModelPromotionsTable {
  id: string;
  model: string;
  version: number;
  alias: string;
  status: "pending" | "approved" | "rejected";
  report: string;
  requested_by: string;
  requested_at: number;
  decided_by: string | null;
  decided_at: number | null;
  reason: string | null;
}

export interface ApiTokensTable {
  id: string;
  name: string;
  role: "viewer" | "editor" | "approver" | "admin";
  hash: string;
  created_at: number;
  created_by: string;
  revoked_at: number | null;
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

/** Pipeline tables: times are milliseconds since the epoch; JSON columns hold canonical JSON. */
export interface PipelineRunsTable {
  id: string;
  pipeline: string;
  version: string;
  status: "running" | "succeeded" | "failed";
  definition: string;
  params: string;
  options: string;
  actor: string;
  started_at: number;
  ended_at: number | null;
  error: string | null;
}

export interface StepRunsTable {
  id: string;
  run_id: string;
  step: string;
  status: "succeeded" | "cached" | "failed" | "skipped";
  cache_key: string | null;
  cache_hit: number;
  attempts: number;
  inputs: string;
  outputs: string;
  metrics: string;
  log_blob: string | null;
  error: string | null;
  started_at: number | null;
  ended_at: number | null;
  duration_ms: number;
}

export interface StepCacheTable {
  cache_key: string;
  outputs: string;
  metrics: string;
  step_run_id: string;
  created_at: number;
}

/** Later modules declare their tables in ./schema/<module>.ts, so that parallel work does not edit one file. */
export interface Database
  extends ServingTables, MonitoringTables, QueueTables, LoopTables, IdempotencyTables {
  meta: MetaTable;
  audit_events: AuditEventsTable;
  audit_head: AuditHeadTable;
  experiments: ExperimentsTable;
  runs: RunsTable;
  experiment_run_counts: ExperimentRunCountsTable;
  run_tags: RunKeyValueTable;
  run_params: RunKeyValueTable;
  run_metrics: RunMetricsTable;
  run_metric_summaries: RunMetricSummariesTable;
  run_inputs: RunInputsTable;
  run_artifacts: RunArtifactsTable;
  registered_models: RegisteredModelsTable;
  model_versions: ModelVersionsTable;
  model_aliases: ModelAliasesTable;
  model_alias_history: ModelAliasHistoryTable;
  model_promotions: ModelPromotionsTable;
  api_tokens: ApiTokensTable;
  datasets: DatasetsTable;
  dataset_versions: DatasetVersionsTable;
  data_stat_cache: DataStatCacheTable;
  data_blobs: DataBlobsTable;
  pipeline_runs: PipelineRunsTable;
  step_runs: StepRunsTable;
  step_cache: StepCacheTable;
}
