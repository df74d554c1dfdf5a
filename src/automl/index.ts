// Public surface of AutoML: the library call, problem setup, searchers, trial runners, the servable model and the leaderboard.
export { automl, MIN_BUDGET_SECONDS, type AutomlOptions, type AutomlResult } from "./automl.ts";
export { setupProblem, makeSplits } from "./setup.ts";
export { AutomlModel, loadAutomlModel, type AutomlModelJson, type AutomlMember } from "./model.ts";
export { formatLeaderboard, formatProblem } from "./leaderboard.ts";
export { METRIC_NAMES, defaultMetric } from "./metric.ts";
export { LEARNERS, spaceFor } from "./space.ts";
export { createTpeSearcher, type TpeOptions } from "./tpe.ts";
export type { Proposal, Searcher } from "./searcher.ts";
export { createQueueRunner, startTrialWorker, type TrialWorker } from "./queue-runner.ts";
export type { TrialJob, TrialRunner } from "./trial.ts";
export type {
  DroppedColumn,
  LeaderboardEntry,
  LearnerName,
  LearnerParams,
  MetricName,
  Problem,
  ProblemOptions,
  ProgressState,
  SearcherName,
  Task,
  TrialRecord,
  ValidationPlan,
} from "./types.ts";
