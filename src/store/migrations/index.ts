// The ordered list of schema migrations, shared by every SQL backend. Append only: never edit a released one.
import type { Kysely } from "kysely";
import * as foundation from "./0001-foundation.ts";
import * as data from "./0002-data.ts";
import * as tracking from "./0003-tracking.ts";
import * as registry from "./0004-registry.ts";
import * as pipelines from "./0005-pipelines.ts";
import * as serving from "./0006-serving.ts";
import * as monitoring from "./0007-monitoring.ts";
import * as queue from "./0008-queue.ts";
import * as loop from "./0009-loop.ts";
import * as trackingIndexes from "./0010-tracking-indexes.ts";
import * as experimentRunCounts from "./0011-experiment-run-counts.ts";
import * as idempotency from "./0012-idempotency.ts";

export type Up = (db: Kysely<unknown>) => Promise<void>;

export const MIGRATIONS: ReadonlyArray<readonly [name: string, up: Up]> = [
  ["0001-foundation", foundation.up],
  ["0002-data", data.up],
  ["0003-tracking", tracking.up],
  ["0004-registry", registry.up],
  ["0005-pipelines", pipelines.up],
  ["0006-serving", serving.up],
  ["0007-monitoring", monitoring.up],
  ["0008-queue", queue.up],
  ["0009-loop", loop.up],
  ["0010-tracking-indexes", trackingIndexes.up],
  ["0011-experiment-run-counts", experimentRunCounts.up],
  ["0012-idempotency", idempotency.up],
];

export const MIGRATION_NAMES: readonly string[] = MIGRATIONS.map(([name]) => name);
