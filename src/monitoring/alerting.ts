// Applies a monitor's alert rules to one window inside its transaction, then delivers what fired or resolved.
import type { Kysely } from "kysely";
import type { Database } from "../store/types.ts";
import type { Workspace } from "../workspace.ts";
import { evaluateRule, nextState, parseRule, type AlertRule, type Severity } from "./alert-rules.ts";
import { postWebhook } from "./webhook.ts";

export interface AlertEvent {
  readonly rule: string;
  readonly severity: Severity;
  readonly transition: "fire" | "resolve";
  readonly value: number;
  readonly threshold: number;
  /** The monitor run (window) it happened on. */
  readonly window: number;
  readonly since: number;
}

export interface SinkOutcome {
  readonly rule: string;
  readonly sink: string;
  readonly ok: boolean;
  readonly detail?: string;
}

/**
 * Updates each rule's state for window `seq` and writes one audit event per transition: "monitor.alert"
 * (target "monitor:NAME", details { rule, severity, window, value }) when a rule starts firing — the event the
 * pipeline scheduler's `monitor:` triggers follow — and "monitor.alert.resolved" when it clears.
 */
export async function applyAlertRules(
  tx: Kysely<Database>,
  ws: Workspace,
  monitor: string,
  rules: readonly AlertRule[],
  seq: number,
  values: Readonly<Record<string, number | undefined>>,
  validation: (metric: string) => number | undefined,
  actor: string,
): Promise<AlertEvent[]> {
  const now = ws.clock.now();
  const events: AlertEvent[] = [];
  for (const rule of rules) {
    const parsed = parseRule(rule.when);
    const severity = rule.severity ?? "warning";
    const row = await tx
      .selectFrom("monitor_alerts")
      .selectAll()
      .where("monitor", "=", monitor)
      .where("rule", "=", rule.when)
      .executeTakeFirst();
    const prev = {
      state: row?.state === "firing" ? ("firing" as const) : ("ok" as const),
      consecutive: row?.consecutive ?? 0,
    };
    const outcome = evaluateRule(parsed, values, validation);
    const { next, transition } = nextState(prev, outcome, parsed.windows);
    const since = transition === "fire" ? now : (row?.since ?? now);
    const values_ = {
      severity,
      state: next.state,
      consecutive: next.consecutive,
      last_value: outcome?.value ?? row?.last_value ?? null,
      last_seq: seq,
      since: next.state === "firing" ? since : null,
      updated_at: now,
    };
    if (row) {
      await tx
        .updateTable("monitor_alerts")
        .set(values_)
        .where("monitor", "=", monitor)
        .where("rule", "=", rule.when)
        .execute();
    } else {
      await tx
        .insertInto("monitor_alerts")
        .values({ monitor, rule: rule.when, ...values_ })
        .execute();
    }
    if (transition === "none" || outcome === undefined) continue;
    const event: AlertEvent = {
      rule: rule.when,
      severity,
      transition,
      value: outcome.value,
      threshold: outcome.threshold,
      window: seq,
      since,
    };
    events.push(event);
    await ws.audit.append(tx, {
      actor,
      action: transition === "fire" ? "monitor.alert" : "monitor.alert.resolved",
      target: `monitor:${monitor}`,
      details: { rule: rule.when, severity, window: seq, value: outcome.value, threshold: outcome.threshold },
    });
  }
  return events;
}

/** Sends each fired or resolved alert to its rule's sinks (the log when none is set). Never throws. */
export async function deliverAlerts(
  ws: Workspace,
  monitor: string,
  rules: readonly AlertRule[],
  events: readonly AlertEvent[],
): Promise<SinkOutcome[]> {
  const outcomes: SinkOutcome[] = [];
  for (const event of events) {
    const rule = rules.find((r) => r.when === event.rule);
    const payload = { monitor, ...event, status: event.transition === "fire" ? "firing" : "resolved" };
    for (const sink of rule?.sinks ?? [{ type: "log" as const }]) {
      if (sink.type === "log") {
        const log = event.severity === "critical" ? ws.logger.error : ws.logger.warn;
        log.call(ws.logger, payload, `monitor ${monitor}: alert ${payload.status}: ${event.rule}`);
        outcomes.push({ rule: event.rule, sink: "log", ok: true });
        continue;
      }
      try {
        const r = await postWebhook(sink.url, payload, { allowPrivate: sink.allowPrivate === true });
        outcomes.push({
          rule: event.rule,
          sink: `webhook ${new URL(sink.url).origin}`,
          ok: r.ok,
          detail: r.ok
            ? `${r.status} after ${r.attempts} attempt(s)`
            : `failed after ${r.attempts} attempt(s): ${r.error ?? r.status}`,
        });
      } catch (e) {
        outcomes.push({
          rule: event.rule,
          sink: `webhook ${new URL(sink.url).origin}`,
          ok: false,
          detail: (e as Error).message,
        });
      }
      const last = outcomes[outcomes.length - 1]!;
      if (!last.ok)
        ws.logger.error({ monitor, rule: event.rule, detail: last.detail }, "alert webhook failed");
    }
  }
  return outcomes;
}
