// Inference-log retention: deletes whole logged batches (index row and blob) beyond an age or row limit, never one a monitor's window still reads nor one still waiting for late labels.
import { LoopmlError } from "../errors.ts";
import { DEFAULT_LOOKBACK_MS } from "../monitoring/feedback.ts";
import { parseSpan } from "../monitoring/monitor-spec.ts";
import type { Workspace } from "../workspace.ts";

/** How much of a model's inference log to keep; absent limits keep everything. */
export interface LogRetention {
  /** Batches whose newest prediction is older than this many milliseconds are deleted. */
  readonly maxAgeMs?: number;
  /** Batches beyond the newest `maxRows` rows of the model are deleted (a batch is kept whole while any of its rows is within). */
  readonly maxRows?: number;
  /**
   * How long after a prediction its label may still arrive (POST /v1/feedback joins labels to logged
   * predictions by request id). While the model receives labels (one arrived within this window),
   * batches newer than this stay past the limits. Default: DEFAULT_LABEL_WINDOW_MS; 0 turns it off.
   */
  readonly labelWindowMs?: number;
}

/** The feedback lookback: how far back a label's request id is searched for, so as long as a label may still find it. */
export const DEFAULT_LABEL_WINDOW_MS = DEFAULT_LOOKBACK_MS;

/** A monitor's current window over a model's log: the newest `rows` rows and/or the rows of the last `spanMs`. */
export interface ProtectedWindow {
  readonly monitor: string;
  readonly rows?: number;
  readonly spanMs?: number;
}

export interface PruneReport {
  readonly model: string;
  readonly batches: number;
  readonly rows: number;
  /** Blobs deleted (a blob still named by a kept batch stays). */
  readonly blobs: number;
  /** Batches past the limits that stay because a monitor's window reads them. */
  readonly keptForMonitors: number;
  /** The monitors that kept them. */
  readonly keptBy: readonly string[];
  /** Batches past the limits that stay because their predictions may still get late labels. */
  readonly keptForLabels: number;
}

/** The retention option as written in loopml.yaml or a deployment: seconds as a number, or "90s", "30m", "24h", "7d", "2w". */
export function retentionAge(value: number | string): number {
  if (typeof value === "number") {
    if (!(Number.isFinite(value) && value > 0)) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `A retention age must be positive seconds or a span like "7d", got ${value}.`,
      );
    }
    return value * 1000;
  }
  try {
    return parseSpan(value);
  } catch {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `A retention age is seconds or a span like "36h", "7d" or "2w", not ${JSON.stringify(value)}.`,
    );
  }
}

/** Deletes at most this many batches per call, so one prune never holds the store long. */
const MAX_BATCHES_PER_PRUNE = 5000;
/** Ids per DELETE … IN (…): well under SQLite's 999 bound variables. */
const DELETE_CHUNK = 500;

/**
 * Deletes the model's logged batches that are past `retention` and outside every protected window:
 * first their index rows with one audit event ("inference-log.prune", target "model:NAME"), then the
 * blobs no remaining batch names. A crash in between leaves unreferenced blobs, never a row without its blob.
 *
 * @example
 * await pruneInferenceLog(ws, "churn", { maxAgeMs: 7 * 86_400_000 }, [{ monitor: "churn-drift", rows: 10_000 }]);
 */
export async function pruneInferenceLog(
  ws: Workspace,
  model: string,
  retention: LogRetention,
  windows: readonly ProtectedWindow[] = [],
  options: { actor?: string; now?: number } = {},
): Promise<PruneReport> {
  checkRetention(retention);
  const now = options.now ?? ws.clock.now();
  const batches = await ws.store.db
    .selectFrom("inference_log_batches")
    .select(["id", "rows", "ts_min", "ts_max", "blob_id"])
    .where("model", "=", model)
    .orderBy("ts_max", "desc")
    .orderBy("id", "desc")
    .execute();
  const cutoffs = windows.map((w) => ({ monitor: w.monitor, from: windowStart(w, batches, now) }));
  const labelsFrom = await labelWindowStart(
    ws,
    model,
    retention.labelWindowMs ?? DEFAULT_LABEL_WINDOW_MS,
    now,
  );
  const doomed: { id: string; rows: number; blob: string }[] = [];
  const keptBy = new Set<string>();
  let keptForMonitors = 0;
  let keptForLabels = 0;
  let newer = 0;
  for (const b of batches) {
    const rows = Number(b.rows);
    const tsMax = Number(b.ts_max);
    const expired =
      (retention.maxAgeMs !== undefined && tsMax < now - retention.maxAgeMs) ||
      (retention.maxRows !== undefined && newer >= retention.maxRows);
    if (expired) {
      const readers = cutoffs.filter((c) => tsMax >= c.from).map((c) => c.monitor);
      if (readers.length > 0) {
        keptForMonitors++;
        for (const m of readers) keptBy.add(m);
      } else if (tsMax >= labelsFrom) {
        keptForLabels++;
      } else if (doomed.length < MAX_BATCHES_PER_PRUNE) {
        doomed.push({ id: b.id, rows, blob: b.blob_id });
      }
    }
    newer += rows;
  }
  const report = {
    model,
    batches: doomed.length,
    rows: doomed.reduce((s, d) => s + d.rows, 0),
    keptForMonitors,
    keptBy: [...keptBy].sort(),
    keptForLabels,
  };
  if (doomed.length === 0) return { ...report, blobs: 0 };
  await ws.store.transaction(async (tx) => {
    for (let i = 0; i < doomed.length; i += DELETE_CHUNK) {
      const ids = doomed.slice(i, i + DELETE_CHUNK).map((d) => d.id);
      await tx.deleteFrom("inference_log_batches").where("id", "in", ids).execute();
    }
    await ws.audit.append(tx, {
      actor: options.actor ?? ws.config.actor,
      action: "inference-log.prune",
      target: `model:${model}`,
      details: {
        batches: report.batches,
        rows: report.rows,
        retention: { ...retention },
        ...(keptForMonitors > 0 && { keptForMonitors, keptBy: report.keptBy }),
        ...(keptForLabels > 0 && { keptForLabels }),
      },
    });
  });
  const blobs = [...new Set(doomed.map((d) => d.blob))];
  const stillNamed = new Set<string>();
  for (let i = 0; i < blobs.length; i += DELETE_CHUNK) {
    const rows = await ws.store.db
      .selectFrom("inference_log_batches")
      .select("blob_id")
      .where("blob_id", "in", blobs.slice(i, i + DELETE_CHUNK))
      .execute();
    for (const r of rows) stillNamed.add(r.blob_id);
  }
  let deleted = 0;
  for (const id of blobs) {
    if (stillNamed.has(id)) continue;
    await ws.blobs.delete(id);
    deleted++;
  }
  return { ...report, blobs: deleted };
}

/**
 * Batches whose newest prediction is at or after this time may still get labels: now − window while the
 * model receives labels (one arrived within the window), else +Infinity (nothing waits).
 */
async function labelWindowStart(
  ws: Workspace,
  model: string,
  windowMs: number,
  now: number,
): Promise<number> {
  if (windowMs === 0) return Infinity;
  const from = now - windowMs;
  const recent = await ws.store.db
    .selectFrom("monitor_feedback")
    .select("request_id")
    .where("model", "=", model)
    .where("received_at", ">=", from)
    .limit(1)
    .executeTakeFirst();
  return recent ? from : Infinity;
}

/**
 * The oldest time a window may read: batches whose newest row is at or after it are kept. For "the
 * newest N rows": the batches that hold them (newest first) all start at or after T, so N rows lie at
 * or after T and every row the window reads does too; T is then the oldest start among those batches.
 */
function windowStart(
  w: ProtectedWindow,
  batches: readonly { rows: number; ts_min: number }[],
  now: number,
): number {
  const bySpan = w.spanMs === undefined ? -Infinity : now - w.spanMs;
  if (w.rows === undefined) return bySpan;
  let rows = 0;
  let oldest = Infinity;
  for (const b of batches) {
    rows += Number(b.rows);
    oldest = Math.min(oldest, Number(b.ts_min));
    if (rows >= w.rows) return Math.max(bySpan, oldest);
  }
  // Fewer rows than the window holds: it reads all of them (within its span).
  return bySpan;
}

function checkRetention(r: LogRetention): void {
  if (r.maxAgeMs !== undefined && !(Number.isFinite(r.maxAgeMs) && r.maxAgeMs > 0)) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `The retention age must be a positive duration, got ${r.maxAgeMs} ms.`,
    );
  }
  if (r.maxRows !== undefined && !(Number.isInteger(r.maxRows) && r.maxRows >= 1)) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `The retention row limit must be a whole number of rows, at least 1, got ${r.maxRows}.`,
    );
  }
  if (r.labelWindowMs !== undefined && !(Number.isFinite(r.labelWindowMs) && r.labelWindowMs >= 0)) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `The late-label window must be a duration of 0 ms or more, got ${r.labelWindowMs} ms.`,
    );
  }
  if (r.maxAgeMs === undefined && r.maxRows === undefined) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      "A retention needs maxAge and/or maxRows; without either nothing would ever be deleted.",
    );
  }
}
