// The public library API of loopml: re-exports only.
export { LoopmlError, isLoopmlError, HTTP_STATUS, type ErrorCode } from "./errors.ts";
export { loadConfig, type LoopmlConfig, type ConfigOverrides } from "./config.ts";
export { openWorkspace, type Workspace, type OpenWorkspaceOptions } from "./workspace.ts";
export { openStore, openBlobs } from "./store/open.ts";
export type { MetadataStore, BlobStore, BlobInfo, Dialect } from "./store/types.ts";
export type { AuditService, AuditQuery } from "./audit/service.ts";
export type { AuditEvent, AuditEventInput, AuditVerification } from "./audit/types.ts";
export { createManualClock, createSequentialIds, type Clock, type IdGenerator } from "./_internal/clock.ts";
export { initProject } from "./deploy/init-project.ts";
export { createDataService, type DataService } from "./data/service.ts";
export type * from "./data/types.ts";
export {
  builtins,
  definePipeline,
  step,
  type BuiltinOptions,
  type StepOptions,
  type StepDefinition,
} from "./pipeline/define.ts";
export { parsePipelinesYaml } from "./pipeline/parse.ts";
export {
  buildDag,
  planRun,
  stepCacheKey,
  pipelineVersion,
  type Dag,
  type PlannedStep,
} from "./pipeline/plan.ts";
export {
  runPipeline,
  planPipeline,
  type PipelineRunResult,
  type StepResult,
  type RunOptions,
  type RunEvent,
} from "./pipeline/executor.ts";
export { loadPipeline, loadPipelines, pipelineDeps, withPipelineDeps } from "./pipeline/service.ts";
export { startStepWorker, type StepWorker, type WorkerOptions } from "./pipeline/queue-worker.ts";
export { openRemoteCache, type RemoteCache } from "./pipeline/remote-cache.ts";
export { runLineage, traceOutput, type RunLineage, type OutputTrace } from "./pipeline/lineage.ts";
export type * from "./pipeline/types.ts";
export { createTrackingService, type TrackingService, type CreateRunOptions } from "./tracking/service.ts";
export type { RunHandle, RunSink } from "./tracking/run-handle.ts";
export type * from "./tracking/types.ts";
export { createRegistryService, type RegistryService, type CreateVersionInput } from "./registry/service.ts";
export { createRegistryEvents, type RegistryEvents, type RegistryEventMap } from "./registry/events.ts";
export type * from "./registry/types.ts";
export { createApp, type CreateAppOptions, type AuthOptions } from "./server/app.ts";
export { startServer } from "./server/listen.ts";
export { createTokenService, type TokenService, type Principal } from "./server/auth.ts";
export {
  automl,
  setupProblem,
  AutomlModel,
  loadAutomlModel,
  formatLeaderboard,
  formatProblem,
  type AutomlOptions,
  type AutomlResult,
  type AutomlModelJson,
  type LeaderboardEntry,
  type TrialRecord as AutomlTrial,
  type ProgressState as AutomlProgress,
  type Task as AutomlTask,
  type MetricName as AutomlMetric,
  type LearnerName as AutomlLearner,
  type SearcherName as AutomlSearcher,
  createQueueRunner as createAutomlQueueRunner,
  startTrialWorker as startAutomlTrialWorker,
} from "./automl/index.ts";
export { parseCron, nextFireTime, dueFiring, type CronSchedule } from "./pipeline/cron.ts";
export {
  parseAutomationYaml,
  type Automation,
  type ScheduleSpec,
  type TriggerSpec,
} from "./pipeline/schedules.ts";
export { createScheduler, type Scheduler, type Firing } from "./pipeline/scheduler.ts";
export { registerServingRoutes, type ServingOptions, type ServingHandle } from "./serving/server.ts";
export { loadRuntime, loadRuntimeFromFile } from "./serving/runtimes/load.ts";
export { createXgboostJsonRuntime } from "./serving/runtimes/xgboost-json/runtime.ts";
export { createNativeRuntime } from "./serving/runtimes/native.ts";
export { decodeRows, decodeColumns, decodeSplit, type DecodeLimits } from "./serving/decode.ts";
export { createBatcher, type BatchingOptions } from "./serving/batcher.ts";
export { scoreCsvFile, type ScoreFileOptions } from "./serving/batch-predict.ts";
export type { ServedModelSpec } from "./serving/models.ts";
export { createLambdaHandler, type ApiGatewayEvent, type ApiGatewayResult } from "./serving/lambda.ts";
export {
  createDeploymentService,
  type DeploymentSpec,
  type DeploymentService,
} from "./serving/deployments.ts";
export {
  appendInferenceLog,
  readInferenceLog,
  type InferenceRecords,
  type InferenceLogFrame,
} from "./serving/inference-log.ts";
export type {
  ModelRuntime,
  ModelSignature,
  ColumnSpec as ServingColumnSpec,
  Batch as ServingBatch,
  PredictResult,
} from "./serving/types.ts";
export { createMonitorService } from "./monitoring/monitors.ts";
export type { MonitorService, MonitorSpec, MonitorResult, AlertRule } from "./monitoring/monitors.ts";
export { recordFeedback } from "./monitoring/feedback.ts";
export { buildDriftReport } from "./monitoring/drift-report.ts";
export { numericDriftColumns } from "./monitoring/stats/parallel.ts";
