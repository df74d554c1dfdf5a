// Tracking data as plain readonly values: experiments, runs, metric points and summaries, search pages.
import type { MetricPointColumns } from "../store/types.ts";

export type { MetricPointColumns };

export type RunStatus = "RUNNING" | "SCHEDULED" | "FINISHED" | "FAILED" | "KILLED";
export const RUN_STATUSES: readonly RunStatus[] = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"];

export type LifecycleStage = "active" | "deleted";

export interface Experiment {
  readonly id: string;
  readonly name: string;
  readonly artifactLocation: string;
  readonly lifecycleStage: LifecycleStage;
  readonly tags: Readonly<Record<string, string>>;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface RunInfo {
  readonly id: string;
  readonly experimentId: string;
  readonly name: string;
  readonly status: RunStatus;
  readonly lifecycleStage: LifecycleStage;
  readonly startTime: number;
  readonly endTime: number | null;
  readonly parentRunId: string | null;
  /** The git commit of the project when the run started, and whether the work tree had changes. */
  readonly gitCommit: string | null;
  readonly gitDirty: boolean | null;
  readonly userId: string;
}

export interface MetricPoint {
  readonly key: string;
  /** NaN and ±Infinity are kept as such. */
  readonly value: number;
  readonly step: number;
  /** Milliseconds since the epoch. */
  readonly timestamp: number;
}

/** What search and comparisons read instead of the series. */
export interface MetricSummary {
  readonly key: string;
  readonly last: number;
  readonly lastStep: number;
  readonly lastTimestamp: number;
  /** Over the non-NaN values; null when every value was NaN. */
  readonly min: number | null;
  readonly max: number | null;
  readonly count: number;
}

export interface DatasetInput {
  readonly dataset: string;
  readonly version: string;
  /** e.g. "training", "evaluation". */
  readonly context: string;
}

export interface ArtifactEntry {
  readonly path: string;
  readonly blobId: string;
  readonly size: number;
}

export interface Run {
  readonly info: RunInfo;
  readonly params: Readonly<Record<string, string>>;
  readonly tags: Readonly<Record<string, string>>;
  readonly metrics: Readonly<Record<string, MetricSummary>>;
  readonly inputs: readonly DatasetInput[];
}

export interface MetricInput {
  readonly key: string;
  readonly value: number;
  readonly step?: number;
  readonly timestamp?: number;
}

export interface KeyValue {
  readonly key: string;
  readonly value: string;
}

/** One transaction and one audit event, however many entries it holds. */
export interface LogBatch {
  readonly metrics?: readonly MetricInput[];
  /** Points in columns (what the batching client sends): the fast path for bulk ingestion. */
  readonly points?: MetricPointColumns;
  readonly params?: readonly KeyValue[];
  readonly tags?: readonly KeyValue[];
}

export interface SearchRunsQuery {
  /** Experiment ids or names; all experiments when absent. */
  readonly experiments?: readonly string[];
  /** e.g. `metrics.auc > 0.9 and params.model = "gbdt" and status = "FINISHED"`. */
  readonly filter?: string;
  /** e.g. ["metrics.auc DESC", "start_time"]. */
  readonly orderBy?: readonly string[];
  readonly maxResults?: number;
  readonly pageToken?: string;
  readonly includeDeleted?: boolean;
}

export interface RunsPage {
  readonly runs: readonly Run[];
  /** Absent on the last page. */
  readonly nextPageToken?: string;
}

export interface RunComparison {
  readonly runs: readonly RunInfo[];
  /** Every param key of any run, with each run's value (null when the run lacks it). */
  readonly params: ReadonlyArray<{ key: string; values: (string | null)[]; differs: boolean }>;
  readonly metrics: ReadonlyArray<{
    key: string;
    last: (number | null)[];
    min: (number | null)[];
    max: (number | null)[];
  }>;
}
