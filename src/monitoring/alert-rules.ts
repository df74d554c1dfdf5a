// Alert rules: `drift_share >= 0.3 for 2 consecutive windows`, `rmse > 1.2 * validation.rmse`; parsing and state.
import { LoopmlError } from "../errors.ts";

export type Severity = "info" | "warning" | "critical";

export type AlertSink =
  | { readonly type: "log" }
  | {
      readonly type: "webhook";
      readonly url: string;
      /** Allow loopback and private-network targets (refused by default: a monitor must not probe the inside). */
      readonly allowPrivate?: boolean;
    };

export interface AlertRule {
  /** The condition, e.g. "drift_share >= 0.3 for 2 consecutive windows". */
  readonly when: string;
  readonly severity?: Severity;
  /** Where to send it besides the audit event "monitor.alert" (default: the log). */
  readonly sinks?: readonly AlertSink[];
}

export type Operator = ">" | ">=" | "<" | "<=" | "==" | "!=";

export interface ParsedRule {
  readonly metric: string;
  readonly op: Operator;
  /** threshold = factor × (reference value, or 1 when there is no reference). */
  readonly factor: number;
  /** e.g. "validation.rmse": the model version's validation metric. */
  readonly reference?: string;
  readonly windows: number;
}

/** What a rule can name on its left side. */
export const ALERT_METRICS = [
  "drift_share",
  "drifted_columns",
  "dataset_drift",
  "prediction_drift",
  "prediction_drifted",
  "missing_share",
  "new_category_share",
  "out_of_range_share",
  "schema_drift",
  "rows",
  "labelled",
  "unknown_labels",
  "accuracy",
  "auc",
  "rmse",
  "mae",
] as const;

const RULE =
  /^\s*([a-z_]+)\s*(>=|<=|==|!=|>|<)\s*(?:(-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*(?:\*\s*([a-z_]+\.[a-z_]+))?|([a-z_]+\.[a-z_]+))\s*(?:for\s+(\d+)\s+(?:consecutive\s+)?windows?)?\s*$/i;

/**
 * @example
 * parseRule("rmse > 1.2 * validation.rmse"); // { metric: "rmse", op: ">", factor: 1.2, reference: "validation.rmse", windows: 1 }
 */
export function parseRule(when: string): ParsedRule {
  const m = RULE.exec(when);
  if (!m) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Alert rule "${when}" is not METRIC OP VALUE [* validation.METRIC] [for N consecutive windows], ` +
        `e.g. "drift_share >= 0.3 for 2 consecutive windows" or "rmse > 1.2 * validation.rmse".`,
    );
  }
  const metric = m[1]!.toLowerCase();
  if (!(ALERT_METRICS as readonly string[]).includes(metric)) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Alert rule "${when}" names unknown metric "${metric}"; use one of ${ALERT_METRICS.join(", ")}.`,
    );
  }
  const reference = (m[4] ?? m[5])?.toLowerCase();
  if (reference !== undefined && !reference.startsWith("validation.")) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Alert rule "${when}": the right side can only name validation.METRIC (the model version's validation metric).`,
    );
  }
  const windows = m[6] === undefined ? 1 : Number(m[6]);
  if (!(windows >= 1 && windows <= 1000)) {
    throw new LoopmlError("INVALID_ARGUMENT", `Alert rule "${when}": the window count must be 1–1000.`);
  }
  return {
    metric,
    op: m[2] as Operator,
    factor: m[3] === undefined ? 1 : Number(m[3]),
    ...(reference !== undefined && { reference }),
    windows,
  };
}

/**
 * Whether the rule's condition holds: undefined when the window lacks the metric (no labels yet, not enough
 * data) or the model has no such validation metric, so an unknown never counts for or against a rule.
 */
export function evaluateRule(
  rule: ParsedRule,
  values: Readonly<Record<string, number | undefined>>,
  validation: (metric: string) => number | undefined,
): { holds: boolean; value: number; threshold: number } | undefined {
  const value = values[rule.metric];
  if (value === undefined || Number.isNaN(value)) return undefined;
  let threshold = rule.factor;
  if (rule.reference !== undefined) {
    const base = validation(rule.reference.slice("validation.".length));
    if (base === undefined) return undefined;
    threshold *= base;
  }
  const holds =
    rule.op === ">"
      ? value > threshold
      : rule.op === ">="
        ? value >= threshold
        : rule.op === "<"
          ? value < threshold
          : rule.op === "<="
            ? value <= threshold
            : rule.op === "=="
              ? value === threshold
              : value !== threshold;
  return { holds, value, threshold };
}

export interface AlertState {
  readonly state: "ok" | "firing";
  readonly consecutive: number;
}

export type Transition = "fire" | "resolve" | "none";

/**
 * Deduplication and resolution: a rule fires once when it has held for `windows` consecutive windows, stays
 * quiet while it keeps holding, and resolves (once) on the first window where it no longer holds.
 */
export function nextState(
  prev: AlertState,
  outcome: { holds: boolean } | undefined,
  windows: number,
): { next: AlertState; transition: Transition } {
  if (outcome === undefined) return { next: prev, transition: "none" };
  if (!outcome.holds) {
    return {
      next: { state: "ok", consecutive: 0 },
      transition: prev.state === "firing" ? "resolve" : "none",
    };
  }
  const consecutive = prev.consecutive + 1;
  if (prev.state !== "firing" && consecutive >= windows) {
    return { next: { state: "firing", consecutive }, transition: "fire" };
  }
  return { next: { state: prev.state, consecutive }, transition: "none" };
}

export function validateAlertRule(rule: AlertRule): AlertRule {
  parseRule(rule.when);
  if (rule.severity !== undefined && !["info", "warning", "critical"].includes(rule.severity)) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Alert severity must be info, warning or critical, got "${String(rule.severity)}".`,
    );
  }
  for (const s of rule.sinks ?? []) {
    if (s.type === "webhook") {
      let url: URL;
      try {
        url = new URL(s.url);
      } catch {
        throw new LoopmlError("INVALID_ARGUMENT", `Webhook URL "${s.url}" is not a valid URL.`);
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        throw new LoopmlError("INVALID_ARGUMENT", `Webhook URL "${s.url}" must be http:// or https://.`);
      }
    } else if (s.type !== "log") {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Unknown alert sink "${String((s as { type: unknown }).type)}"; use log or webhook.`,
      );
    }
  }
  return rule;
}
