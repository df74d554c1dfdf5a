// loopml serve's inference-log pruning: on start and then periodically, each logged model's batches past its retention go, except those a monitor reads.
import { createMonitorService } from "../../../monitoring/monitors.ts";
import { parseSpan } from "../../../monitoring/monitor-spec.ts";
import { modelOf } from "../../../monitoring/window-source.ts";
import {
  pruneInferenceLog,
  type LogRetention,
  type ProtectedWindow,
  type PruneReport,
} from "../../../serving/log-retention.ts";
import type { Workspace } from "../../../workspace.ts";

export interface LogPruning {
  /** One pass over every logged model; resolves with what was deleted. */
  runOnce(): Promise<PruneReport[]>;
  stop(): void;
}

export interface LogPruningOptions {
  /** The registered models this server logs, asked on every pass (swaps may change them). */
  readonly models: () => readonly string[];
  /** A model's retention, or undefined to keep its log whole. */
  readonly retention: (model: string) => LogRetention | undefined;
  readonly intervalMs: number;
  readonly onPruned?: (report: PruneReport) => void;
  readonly onError?: (error: unknown) => void;
}

/** The current window of every monitor that reads `model`'s inference log. */
export async function monitorWindows(ws: Workspace, model: string): Promise<ProtectedWindow[]> {
  const windows: ProtectedWindow[] = [];
  for (const m of await createMonitorService(ws).list()) {
    if (m.spec.dataset !== undefined) continue;
    // A monitor whose deployment is gone cannot read anything: it protects nothing.
    const watched = await modelOf(ws, m.spec).catch(() => undefined);
    if (watched !== model) continue;
    windows.push({
      monitor: m.spec.name,
      ...(m.spec.window.rows !== undefined && { rows: m.spec.window.rows }),
      ...(m.spec.window.span !== undefined && { spanMs: parseSpan(m.spec.window.span) }),
    });
  }
  return windows;
}

/**
 * @example
 * const pruning = startLogPruning(ws, { models: () => ["churn"], retention: () => ({ maxAgeMs: 7 * 86_400_000 }), intervalMs: 600_000 });
 * pruning.stop();
 */
export function startLogPruning(ws: Workspace, options: LogPruningOptions): LogPruning {
  let running: Promise<PruneReport[]> | null = null;
  const pass = async (): Promise<PruneReport[]> => {
    const reports: PruneReport[] = [];
    for (const model of new Set(options.models())) {
      const retention = options.retention(model);
      if (!retention) continue;
      const report = await pruneInferenceLog(ws, model, retention, await monitorWindows(ws, model));
      if (report.batches > 0) options.onPruned?.(report);
      reports.push(report);
    }
    return reports;
  };
  // Passes never overlap: a slow store makes the next tick wait for the current pass.
  const runOnce = (): Promise<PruneReport[]> =>
    (running ??= pass().finally(() => {
      running = null;
    }));
  const tick = (): void => {
    runOnce().catch((e: unknown) => options.onError?.(e));
  };
  const timer = setInterval(tick, options.intervalMs);
  timer.unref();
  const first = setImmediate(tick);
  return {
    runOnce,
    stop: () => {
      clearImmediate(first);
      clearInterval(timer);
    },
  };
}
