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
