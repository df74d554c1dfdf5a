// A workspace: the opened stores of one project plus the clock, ids, logger and audit service every domain service uses.
import type { Clock, IdGenerator } from "./_internal/clock.ts";
import { randomIds, systemClock } from "./_internal/clock.ts";
import { createLogger, type Logger } from "./_internal/logger.ts";
import { createAuditService, type AuditService } from "./audit/service.ts";
import { loadConfig, type ConfigOverrides, type LoopmlConfig } from "./config.ts";
import { openBlobs, openStore } from "./store/open.ts";
import type { BlobStore, MetadataStore } from "./store/types.ts";

export interface Workspace {
  readonly config: LoopmlConfig;
  readonly store: MetadataStore;
  readonly blobs: BlobStore;
  readonly audit: AuditService;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly logger: Logger;
  close(): Promise<void>;
}

export interface OpenWorkspaceOptions extends ConfigOverrides {
  /** The project folder; defaults to the current directory. */
  readonly dir?: string;
  readonly clock?: Clock;
  readonly ids?: IdGenerator;
  readonly logger?: Logger;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * @example
 * const ws = await openWorkspace({ dir: "." });
 * console.log((await ws.audit.verify()).ok);
 * await ws.close();
 */
export async function openWorkspace(options: OpenWorkspaceOptions = {}): Promise<Workspace> {
  const config = loadConfig(options.dir ?? process.cwd(), options, options.env);
  const store = await openStore(config.store, { baseDir: config.projectDir });
  let blobs: BlobStore;
  try {
    blobs = await openBlobs(config.artifacts, { baseDir: config.projectDir });
  } catch (e) {
    await store.close();
    throw e;
  }
  const clock = options.clock ?? systemClock;
  return {
    config,
    store,
    blobs,
    audit: createAuditService(store, clock),
    clock,
    ids: options.ids ?? randomIds,
    logger: options.logger ?? createLogger({ level: config.logLevel }),
    close: async () => {
      await Promise.all([store.close(), blobs.close()]);
    },
  };
}
