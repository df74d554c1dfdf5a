// What a monitor is (contract 4 with the plan/apply and dashboard modules) and how a spec is validated.
import { LoopmlError } from "../errors.ts";
import { parseCron } from "../pipeline/cron.ts";
import { validateAlertRule, type AlertRule } from "./alert-rules.ts";
import type { DriftTestName } from "./stats/types.ts";

export type { AlertRule };

/**
 * A monitor binds a deployment or model (its inference log) or a dataset (its newest version) to a reference,
 * a window, tests, thresholds and a schedule.
 *
 * @example
 * const spec: MonitorSpec = {
 *   name: "churn-drift", model: "churn", reference: "dataset:churn@3", target: "churned",
 *   window: { rows: 10_000 }, alerts: [{ when: "drift_share >= 0.3 for 2 consecutive windows", severity: "warning" }],
 * };
 */
export interface MonitorSpec {
  readonly name: string;
  readonly deployment?: string;
  readonly model?: string;
  readonly dataset?: string;
  /** "dataset:NAME@VERSION" | "run:RUN_ID" (the run's training dataset). */
  readonly reference: string;
  /** The newest N rows and/or the rows of the last span ("30m", "24h", "7d"). */
  readonly window: { readonly rows?: number; readonly span?: string };
  /** Column → drift test ("*" for every column; "prediction" for the predictions). */
  readonly tests?: Readonly<Record<string, string>>;
  /** Share of drifted columns that makes a window drifted (default 0.5, as Evidently). */
  readonly driftShare?: number;
  /** Cron expression (UTC) for `loopml monitor run --due` and the scheduler. */
  readonly schedule?: string;
  readonly alerts?: readonly AlertRule[];
  /** The reference column holding the label: predictions are compared with it (prediction drift). */
  readonly target?: string;
  /** Only these columns (default: every reference column but the target). */
  readonly columns?: readonly string[];
  /** Column → threshold ("*" for every column). */
  readonly thresholds?: Readonly<Record<string, number>>;
  /** Fewer rows than this is "not enough data" (default 30). */
  readonly minRows?: number;
  /** Default: classification when the predictions are class indices of a categorical target. */
  readonly task?: "classification" | "regression";
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const TESTS: readonly DriftTestName[] = [
  "ks",
  "chisquare",
  "z",
  "wasserstein",
  "jensenshannon",
  "psi",
  "kl_div",
  "hellinger",
  "anderson",
  "cramer_von_mises",
  "mannw",
  "fisher_exact",
  "mmd",
];

function bad(message: string): LoopmlError {
  return new LoopmlError("INVALID_ARGUMENT", message);
}

/** "90s", "30m", "24h", "7d" → milliseconds. */
export function parseSpan(span: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/.exec(span.trim());
  if (!m)
    throw bad(`Window span "${span}" must be a number and a unit: s, m, h, d or w (e.g. 30m, 24h, 7d).`);
  const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3 }[m[2] as "s" | "m" | "h" | "d" | "w"];
  const ms = Number(m[1]) * unit;
  if (!(ms > 0)) throw bad(`Window span "${span}" must be positive.`);
  return ms;
}

/** Checks a spec and returns it with only known keys, so stored specs stay canonical. */
export function validateMonitorSpec(input: unknown): MonitorSpec {
  if (input === null || typeof input !== "object" || Array.isArray(input))
    throw bad("A monitor spec must be an object.");
  const s = input as Record<string, unknown>;
  const str = (k: string): string | undefined => {
    const v = s[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string" || v.trim() === "")
      throw bad(`Monitor field "${k}" must be a non-empty string.`);
    return v;
  };
  const name = str("name");
  if (name === undefined || !NAME.test(name)) {
    throw bad(
      `Monitor name "${String(s["name"])}" must be 1–200 letters, digits, ".", "_" or "-", starting with a letter or digit.`,
    );
  }
  const deployment = str("deployment");
  const model = str("model");
  const dataset = str("dataset");
  if ([deployment, model, dataset].filter((x) => x !== undefined).length !== 1) {
    throw bad(`Monitor "${name}" must watch exactly one of: deployment, model or dataset.`);
  }
  const reference = str("reference");
  if (reference === undefined || !/^(dataset:[^@\s]+(@\S+)?|run:\S+)$/.test(reference)) {
    throw bad(
      `Monitor "${name}": reference must be "dataset:NAME@VERSION" or "run:RUN_ID", got "${String(s["reference"])}".`,
    );
  }
  const w = s["window"];
  if (w === null || typeof w !== "object" || Array.isArray(w)) {
    throw bad(`Monitor "${name}" needs a window: { rows: N } and/or { span: "24h" }.`);
  }
  const win = w as Record<string, unknown>;
  const rows = win["rows"];
  const span = win["span"];
  if (
    rows !== undefined &&
    !(Number.isInteger(rows) && (rows as number) > 0 && (rows as number) <= 50_000_000)
  ) {
    throw bad(`Monitor "${name}": window.rows must be a positive integer.`);
  }
  if (span !== undefined && typeof span !== "string")
    throw bad(`Monitor "${name}": window.span must be a string like "24h".`);
  if (span !== undefined) parseSpan(span);
  if (rows === undefined && span === undefined)
    throw bad(`Monitor "${name}": the window needs rows or span.`);
  if (dataset !== undefined && span !== undefined) {
    throw bad(
      `Monitor "${name}" watches a dataset: its window is the newest version's last N rows (window.rows), not a span.`,
    );
  }
  const tests = record(s["tests"], "tests", name, (v, k) => {
    if (typeof v !== "string" || !(TESTS as readonly string[]).includes(v)) {
      throw bad(`Monitor "${name}": test "${String(v)}" for "${k}" is not one of ${TESTS.join(", ")}.`);
    }
    return v;
  });
  const thresholds = record(s["thresholds"], "thresholds", name, (v, k) => {
    if (typeof v !== "number" || !(v > 0))
      throw bad(`Monitor "${name}": threshold for "${k}" must be a positive number.`);
    return v;
  });
  const driftShare = s["driftShare"];
  if (driftShare !== undefined && !(typeof driftShare === "number" && driftShare > 0 && driftShare <= 1)) {
    throw bad(`Monitor "${name}": driftShare must be in (0, 1].`);
  }
  const schedule = str("schedule");
  if (schedule !== undefined) parseCron(schedule);
  const alerts = s["alerts"];
  if (alerts !== undefined && !Array.isArray(alerts))
    throw bad(`Monitor "${name}": alerts must be a list of rules.`);
  const columns = s["columns"];
  if (columns !== undefined && !(Array.isArray(columns) && columns.every((c) => typeof c === "string"))) {
    throw bad(`Monitor "${name}": columns must be a list of column names.`);
  }
  const minRows = s["minRows"];
  if (minRows !== undefined && !(Number.isInteger(minRows) && (minRows as number) >= 1)) {
    throw bad(`Monitor "${name}": minRows must be a positive integer.`);
  }
  const task = s["task"];
  if (task !== undefined && task !== "classification" && task !== "regression") {
    throw bad(`Monitor "${name}": task must be classification or regression.`);
  }
  const target = str("target");
  return {
    name,
    ...(deployment !== undefined && { deployment }),
    ...(model !== undefined && { model }),
    ...(dataset !== undefined && { dataset }),
    reference,
    window: { ...(rows !== undefined && { rows: rows as number }), ...(span !== undefined && { span }) },
    ...(tests !== undefined && { tests }),
    ...(driftShare !== undefined && { driftShare }),
    ...(schedule !== undefined && { schedule }),
    ...(alerts !== undefined && { alerts: (alerts as AlertRule[]).map(validateAlertRule) }),
    ...(target !== undefined && { target }),
    ...(columns !== undefined && { columns: columns }),
    ...(thresholds !== undefined && { thresholds }),
    ...(minRows !== undefined && { minRows: minRows as number }),
    ...(task !== undefined && { task }),
  };
}

function record<T>(
  v: unknown,
  field: string,
  name: string,
  check: (value: unknown, key: string) => T,
): Record<string, T> | undefined {
  if (v === undefined) return undefined;
  if (v === null || typeof v !== "object" || Array.isArray(v))
    throw bad(`Monitor "${name}": ${field} must be an object.`);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, check(x, k)]));
}
