// Row ↔ value conversions for the tracking tables.
import type { Database } from "../store/types.ts";
import type { Experiment, MetricPoint, MetricSummary, RunInfo } from "./types.ts";

export function experimentFromRow(row: Database["experiments"]): Experiment {
  return {
    id: row.id,
    name: row.name,
    artifactLocation: row.artifact_location,
    lifecycleStage: row.lifecycle_stage,
    tags: JSON.parse(row.tags) as Record<string, string>,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function runInfoFromRow(row: Database["runs"]): RunInfo {
  return {
    id: row.id,
    experimentId: row.experiment_id,
    name: row.name,
    status: row.status,
    lifecycleStage: row.lifecycle_stage,
    startTime: row.start_time,
    endTime: row.end_time,
    parentRunId: row.parent_run_id,
    gitCommit: row.git_commit,
    gitDirty: row.git_dirty === null ? null : row.git_dirty === 1,
    userId: row.user_id,
  };
}

export function summaryFromRow(row: Database["run_metric_summaries"]): MetricSummary {
  return {
    key: row.key,
    last: row.last_is_nan === 1 ? Number.NaN : Number(row.last_value),
    lastStep: row.last_step,
    lastTimestamp: row.last_timestamp,
    min: row.min_value === null ? null : Number(row.min_value),
    max: row.max_value === null ? null : Number(row.max_value),
    count: row.count,
  };
}

export function pointFromRow(row: Database["run_metrics"]): MetricPoint {
  return {
    key: row.key,
    value: row.is_nan === 1 ? Number.NaN : Number(row.value),
    step: row.step,
    timestamp: row.timestamp,
  };
}
