// The monitor service (contract 4): monitors as stored specs, one run per checked window, history, alerts.
import { canonicalJson } from "../_internal/hash.ts";
import { LoopmlError } from "../errors.ts";
import { parseCron, dueFiring } from "../pipeline/cron.ts";
import { createRegistryEvents } from "../registry/events.ts";
import { createRegistryService } from "../registry/service.ts";
import type { Workspace } from "../workspace.ts";
import { applyAlertRules, deliverAlerts, type AlertEvent, type SinkOutcome } from "./alerting.ts";
import { checkWindow, type WindowCheck, type WindowStatus } from "./check.ts";
import { labelsFor, unknownLabelCount } from "./feedback.ts";
import { validateMonitorSpec, type MonitorSpec } from "./monitor-spec.ts";
import { joinLabels } from "./performance-window.ts";
import { validationMetric, type PerformanceReport } from "./performance.ts";
import { loadReference } from "./reference-store.ts";
import type { DriftTestName } from "./stats/types.ts";
import { loadWindow } from "./window-source.ts";

export type { MonitorSpec };
export type { AlertRule } from "./alert-rules.ts";

export interface Monitor {
  readonly spec: MonitorSpec;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly createdBy: string;
}

/** One checked window: aggregates only (statistics, shares, histograms), never the rows. */
export interface MonitorResult {
  readonly monitor: string;
  readonly runId: string;
  /** 1, 2, 3… per monitor. */
  readonly seq: number;
  readonly at: number;
  readonly status: WindowStatus;
  readonly window: {
    readonly source: string;
    readonly rows: number;
    readonly start: number | null;
    readonly end: number | null;
    /** Model versions that answered the window's requests. */
    readonly modelVersions: readonly number[];
  };
  readonly reference: { readonly source: string; readonly rows: number; readonly sampleSize: number };
  readonly check: WindowCheck;
  /** null until labels arrive for predictions in the window (or for dataset monitors). */
  readonly performance: PerformanceReport | null;
  readonly labels: {
    readonly labelled: number;
    readonly unlabelled: number;
    readonly unknown: number;
  } | null;
  /** What alert rules can name, e.g. drift_share, rmse. */
  readonly values: Readonly<Record<string, number>>;
  readonly alerts: readonly AlertEvent[];
  readonly deliveries: readonly SinkOutcome[];
}

export interface MonitorRunSummary {
  readonly seq: number;
  readonly runId: string;
  readonly at: number;
  readonly status: WindowStatus;
  readonly rows: number;
  readonly driftShare: number | null;
  readonly windowStart: number | null;
  readonly windowEnd: number | null;
}

export interface AlertStatus {
  readonly rule: string;
  readonly severity: string;
  readonly state: "ok" | "firing";
  readonly consecutive: number;
  readonly lastValue: number | null;
  readonly since: number | null;
}

/**
 * @example
 * const monitors = createMonitorService(ws);
 * await monitors.upsert({ name: "churn", model: "churn", reference: "dataset:churn@1", window: { rows: 5000 } });
 * const result = await monitors.run("churn");
 * console.log(result.status, result.check.dataset?.share);
 */
export interface MonitorService {
  list(): Promise<Monitor[]>;
  get(name: string): Promise<Monitor>;
  upsert(spec: MonitorSpec): Promise<Monitor>;
  remove(name: string): Promise<void>;
  /** Checks the current window now, stores the result and applies the alert rules. */
  run(name: string): Promise<MonitorResult>;
  /** Newest first. */
  history(name: string, options?: { limit?: number }): Promise<MonitorRunSummary[]>;
  /** One stored result: the newest when `seq` is absent. */
  result(name: string, seq?: number): Promise<MonitorResult>;
  alerts(name: string): Promise<AlertStatus[]>;
  /** Runs every monitor whose schedule is due; returns what ran. */
  runDue(): Promise<MonitorResult[]>;
}

export function createMonitorService(ws: Workspace, options: { actor?: string } = {}): MonitorService {
  const actor = options.actor ?? ws.config.actor;
  const db = ws.store.db;

  async function get(name: string): Promise<Monitor> {
    const row = await db.selectFrom("monitors").selectAll().where("name", "=", name).executeTakeFirst();
    if (!row) {
      throw new LoopmlError(
        "NOT_FOUND",
        `Monitor "${name}" does not exist. List them with loopml monitor list.`,
        {
          monitor: name,
        },
      );
    }
    return toMonitor(row);
  }

  async function upsert(input: MonitorSpec): Promise<Monitor> {
    const spec = validateMonitorSpec(input);
    const now = ws.clock.now();
    const json = canonicalJson(spec);
    await ws.store.transaction(async (tx) => {
      const existing = await tx
        .selectFrom("monitors")
        .select("spec")
        .where("name", "=", spec.name)
        .executeTakeFirst();
      if (existing?.spec === json) return;
      if (existing) {
        await tx
          .updateTable("monitors")
          .set({ spec: json, updated_at: now })
          .where("name", "=", spec.name)
          .execute();
      } else {
        await tx
          .insertInto("monitors")
          .values({ name: spec.name, spec: json, created_at: now, updated_at: now, created_by: actor })
          .execute();
      }
      await ws.audit.append(tx, {
        actor,
        action: existing ? "monitor.update" : "monitor.create",
        target: `monitor:${spec.name}`,
        details: { spec },
      });
    });
    return get(spec.name);
  }

  async function remove(name: string): Promise<void> {
    await get(name);
    await ws.store.transaction(async (tx) => {
      await tx.deleteFrom("monitors").where("name", "=", name).execute();
      await tx.deleteFrom("monitor_alerts").where("monitor", "=", name).execute();
      await ws.audit.append(tx, { actor, action: "monitor.delete", target: `monitor:${name}`, details: {} });
    });
  }

  async function run(name: string): Promise<MonitorResult> {
    const { spec } = await get(name);
    const reference = await loadReference(ws, spec.reference);
    const window = await loadWindow(ws, spec);
    const check = checkWindow(reference.profile, window.data, {
      ...(spec.columns && { columns: spec.columns }),
      ...(spec.target !== undefined && { target: spec.target }),
      ...(spec.tests && { tests: spec.tests as Record<string, DriftTestName> }),
      ...(spec.thresholds && { thresholds: spec.thresholds }),
      ...(spec.driftShare !== undefined && { driftShare: spec.driftShare }),
      ...(spec.minRows !== undefined && { minRows: spec.minRows }),
    });
    const modelVersions = [...new Set(window.versions ?? [])].sort((a, b) => a - b);
    let performance: PerformanceReport | null = null;
    let labels: MonitorResult["labels"] = null;
    let versionMetrics: Readonly<Record<string, number>> = {};
    if (window.model !== undefined && window.requestIds) {
      const stored = await labelsFor(ws, window.model, window.requestIds, window.start ?? 0);
      const joined = joinLabels(spec, reference.profile, window, stored);
      versionMetrics = await validationMetricsOf(ws, window.model, window.versions);
      performance = joined.performance(versionMetrics);
      const unknown = await unknownLabelCount(ws, window.model, window.start ?? 0, ws.clock.now() + 1);
      labels = { labelled: joined.labelled, unlabelled: window.data.rows - joined.labelled, unknown };
    }
    const values = ruleValues(check, performance, labels);
    const validation = (metric: string): number | undefined => validationMetric(metric, versionMetrics);
    const at = ws.clock.now();
    const runId = ws.ids.next();
    const rules = spec.alerts ?? [];
    const { seq, alerts } = await ws.store.transaction(async (tx) => {
      const last = await tx
        .selectFrom("monitor_runs")
        .select((eb) => eb.fn.max("seq").as("seq"))
        .where("monitor", "=", name)
        .executeTakeFirst();
      const seq = Number(last?.seq ?? 0) + 1;
      const alerts = await applyAlertRules(tx, ws, name, rules, seq, values, validation, actor);
      const result = resultOf(seq, alerts, []);
      await tx
        .insertInto("monitor_runs")
        .values({
          id: runId,
          monitor: name,
          seq,
          status: check.status,
          rows: window.data.rows,
          window_start: window.start,
          window_end: window.end,
          drift_share: check.dataset?.share ?? null,
          result: JSON.stringify(result),
          created_at: at,
        })
        .execute();
      await ws.audit.append(tx, {
        actor,
        action: "monitor.run",
        target: `monitor:${name}`,
        details: {
          seq,
          status: check.status,
          rows: window.data.rows,
          driftShare: check.dataset?.share ?? null,
        },
      });
      return { seq, alerts };
    });
    // Deliveries happen after the commit: a retried transaction must not send a webhook twice.
    const deliveries = await deliverAlerts(ws, name, rules, alerts);
    return resultOf(seq, alerts, deliveries);

    function resultOf(seq: number, alerts: AlertEvent[], deliveries: SinkOutcome[]): MonitorResult {
      return {
        monitor: name,
        runId,
        seq,
        at,
        status: check.status,
        window: {
          source: window.source,
          rows: window.data.rows,
          start: window.start,
          end: window.end,
          modelVersions,
        },
        reference: {
          source: reference.profile.source,
          rows: reference.profile.rows,
          sampleSize: reference.profile.sampleSize,
        },
        check,
        performance,
        labels,
        values,
        alerts,
        deliveries,
      };
    }
  }

  async function history(name: string, opts: { limit?: number } = {}): Promise<MonitorRunSummary[]> {
    await get(name);
    const rows = await db
      .selectFrom("monitor_runs")
      .select(["seq", "id", "created_at", "status", "rows", "drift_share", "window_start", "window_end"])
      .where("monitor", "=", name)
      .orderBy("seq", "desc")
      .limit(opts.limit ?? 100)
      .execute();
    return rows.map((r) => ({
      seq: Number(r.seq),
      runId: r.id,
      at: Number(r.created_at),
      status: r.status as WindowStatus,
      rows: Number(r.rows),
      driftShare: r.drift_share === null ? null : Number(r.drift_share),
      windowStart: r.window_start === null ? null : Number(r.window_start),
      windowEnd: r.window_end === null ? null : Number(r.window_end),
    }));
  }

  async function result(name: string, seq?: number): Promise<MonitorResult> {
    await get(name);
    let q = db.selectFrom("monitor_runs").select("result").where("monitor", "=", name);
    q = seq === undefined ? q.orderBy("seq", "desc").limit(1) : q.where("seq", "=", seq);
    const row = await q.executeTakeFirst();
    if (!row) {
      throw new LoopmlError(
        "NOT_FOUND",
        seq === undefined
          ? `Monitor "${name}" has not run yet. Run it with loopml monitor run ${name}.`
          : `Monitor "${name}" has no run ${seq}. See loopml monitor history ${name}.`,
      );
    }
    return JSON.parse(row.result) as MonitorResult;
  }

  async function alerts(name: string): Promise<AlertStatus[]> {
    await get(name);
    const rows = await db
      .selectFrom("monitor_alerts")
      .selectAll()
      .where("monitor", "=", name)
      .orderBy("rule")
      .execute();
    return rows.map((r) => ({
      rule: r.rule,
      severity: r.severity,
      state: r.state === "firing" ? "firing" : "ok",
      consecutive: Number(r.consecutive),
      lastValue: r.last_value === null ? null : Number(r.last_value),
      since: r.since === null ? null : Number(r.since),
    }));
  }

  async function list(): Promise<Monitor[]> {
    const rows = await db.selectFrom("monitors").selectAll().orderBy("name").execute();
    return rows.map(toMonitor);
  }

  async function runDue(): Promise<MonitorResult[]> {
    const out: MonitorResult[] = [];
    const now = ws.clock.now();
    for (const m of await list()) {
      if (m.spec.schedule === undefined) continue;
      const last = await db
        .selectFrom("monitor_runs")
        .select((eb) => eb.fn.max("created_at").as("at"))
        .where("monitor", "=", m.spec.name)
        .executeTakeFirst();
      const lastAt = last?.at === null || last?.at === undefined ? undefined : Number(last.at);
      // A monitor that never ran is due now; afterwards, whenever a scheduled time passed since its last run.
      const due =
        lastAt === undefined || dueFiring(parseCron(m.spec.schedule), lastAt, now).fireAt !== undefined;
      if (due) out.push(await run(m.spec.name));
    }
    return out;
  }

  return { list, get, upsert, remove, run, history, result, alerts, runDue };
}

function toMonitor(row: {
  spec: string;
  created_at: number;
  updated_at: number;
  created_by: string;
}): Monitor {
  return {
    spec: JSON.parse(row.spec) as MonitorSpec,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    createdBy: row.created_by,
  };
}

/** The registry's metrics of the version that answered most of the window (validation values to compare with). */
async function validationMetricsOf(
  ws: Workspace,
  model: string,
  versions: Int32Array | undefined,
): Promise<Readonly<Record<string, number>>> {
  if (!versions || versions.length === 0) return {};
  const counts = new Map<number, number>();
  for (const v of versions) counts.set(v, (counts.get(v) ?? 0) + 1);
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
  try {
    const registry = createRegistryService({ ...ws, events: createRegistryEvents() });
    return (await registry.getVersion(model, top)).metrics;
  } catch (e) {
    // A model served from a file rather than the registry has no validation metrics: no decay to report.
    if (e instanceof LoopmlError && e.code === "NOT_FOUND") return {};
    throw e;
  }
}

function ruleValues(
  check: WindowCheck,
  performance: PerformanceReport | null,
  labels: MonitorResult["labels"],
): Record<string, number> {
  const v: Record<string, number> = { rows: check.rows };
  if (check.dataset) {
    v.drift_share = check.dataset.share;
    v.drifted_columns = check.dataset.driftedColumns;
    v.dataset_drift = check.dataset.drifted ? 1 : 0;
  }
  if (check.prediction?.result) {
    v.prediction_drift = check.prediction.result.statistic;
    v.prediction_drifted = check.prediction.result.drifted ? 1 : 0;
  }
  if (check.rows > 0) {
    v.missing_share = check.quality.maxMissingShare;
    v.new_category_share = check.quality.newCategoryShare;
    v.out_of_range_share = check.quality.outOfRangeShare;
    v.schema_drift = check.schema.missingColumns.length + check.schema.typeChanges.length;
  }
  if (labels) {
    v.labelled = labels.labelled;
    v.unknown_labels = labels.unknown;
  }
  for (const [k, m] of Object.entries(performance?.metrics ?? {})) v[k] = m.value;
  return v;
}
