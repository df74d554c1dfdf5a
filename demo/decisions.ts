// What the retrain loop did about one monitor alert, read back from the audit trail it writes.
import type { AuditEvent } from "../src/audit/types.ts";
import type { Workspace } from "../src/workspace.ts";

export interface Decision {
  /** "waiting": the loop has not picked the alert up yet; "running": a retrain is in flight. */
  readonly state: "waiting" | "running" | "done";
  readonly text: string;
  /** The version the policy promoted, if it did. */
  readonly promoted?: number;
}

const TERMINAL = ["retrain.promote", "retrain.reject", "retrain.fail", "retrain.await-approval"];

/**
 * @example
 * const d = await decisionFor(ws, "flights-delay", alert.seq); // { state: "done", text: "v2 roc_auc 0.71 …" }
 */
export async function decisionFor(ws: Workspace, model: string, alertSeq: number): Promise<Decision> {
  const events = (
    await ws.audit.list({ afterSeq: alertSeq, targetPrefix: `model:${model}`, limit: 10_000 })
  ).filter((e) => e.action.startsWith("retrain."));
  const first = events.find(
    (e) => (e.action === "retrain.start" || e.action === "retrain.skip") && e.details["event"] === alertSeq,
  );
  if (!first) return { state: "waiting", text: "alert not picked up yet" };
  if (first.action === "retrain.skip")
    return { state: "done", text: `retrain skipped: ${str(first, "reason")}` };
  const id = first.details["retrain"];
  const mine = events.filter((e) => e.details["retrain"] === id);
  const evaluated = mine.find((e) => e.action === "retrain.evaluate");
  const end = mine.find((e) => TERMINAL.includes(e.action));
  if (!end) return { state: "running", text: "retraining" };
  const scores = evaluated
    ? `v${num(evaluated, "candidate")} ${str(evaluated, "metric")} ${fmt(evaluated.details["candidateScore"])} vs v${num(evaluated, "champion")} ${fmt(evaluated.details["championScore"])}`
    : "";
  switch (end.action) {
    case "retrain.promote":
      return { state: "done", text: `retrained: ${scores} → promoted`, promoted: num(end, "to") };
    case "retrain.reject":
      return { state: "done", text: `retrained: ${scores} → gate kept the champion` };
    case "retrain.await-approval":
      return { state: "done", text: `retrained: ${scores} → waits for approval` };
    default:
      return { state: "done", text: `retrain failed: ${str(end, "error")}` };
  }
}

function str(e: AuditEvent, key: string): string {
  const v = e.details[key];
  return typeof v === "string" ? v : JSON.stringify(v ?? null);
}

function num(e: AuditEvent, key: string): number {
  return Number(e.details[key]);
}

function fmt(v: unknown): string {
  return typeof v === "number" ? v.toFixed(3) : "n/a";
}
