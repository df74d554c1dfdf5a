// A model's audit trail told as a story: one sentence per event, for `loopml audit log --model NAME`.
import type { AuditEvent } from "../audit/types.ts";
import type { AuditService } from "../audit/service.ts";

/** Events whose target is the model, one of its versions or aliases (model:NAME, model:NAME@…). */
export async function modelEvents(audit: AuditService, model: string, limit = 10_000): Promise<AuditEvent[]> {
  const events = await audit.list({ targetPrefix: `model:${model}`, limit });
  return events.filter((e) => e.target === `model:${model}` || e.target.startsWith(`model:${model}@`));
}

export function describeEvent(e: AuditEvent): string {
  const d = e.details as Record<string, unknown>;
  const s = (k: string): string => {
    const v = d[k];
    return typeof v === "number"
      ? Number.isInteger(v)
        ? String(v)
        : v.toFixed(4)
      : JSON.stringify(v ?? null);
  };
  const t = (k: string): string => {
    const v = d[k];
    return typeof v === "string" ? v : v === undefined || v === null ? "" : JSON.stringify(v);
  };
  const target = e.target.replace(/^model:/, "");
  const reasons = Array.isArray(d["reasons"]) ? (d["reasons"] as unknown[]).map(String).join("; ") : "";
  switch (e.action) {
    case "model.create":
      return `${e.actor} registered the model ${target}`;
    case "model.version.create":
      return `${e.actor} registered version ${target.split("@")[1] ?? "?"}`;
    case "model.alias.move":
    case "model.promote":
      return `${e.actor} moved @${target.split("@")[1] ?? "?"} to v${s("to") === "null" ? s("version") : s("to")}`;
    case "model.policy.set":
      return `${e.actor} changed the promotion gate`;
    case "retrain.start":
      return `retrain started (${t("cause")}${d["monitor"] !== undefined ? `: monitor ${t("monitor")} ${d["stillFiring"] === true ? "still alerting after the last retrain" : "alerted"}, ${t("rule")} value ${s("value")}` : ""}${d["schedule"] !== undefined ? `: schedule ${t("schedule")}` : ""})`;
    case "retrain.skip":
      return `retrain skipped: ${t("reason")}`;
    case "retrain.evaluate":
      return `candidate v${s("candidate")} scored ${t("metric")} ${s("candidateScore")} vs champion ${d["champion"] === null ? "(none)" : `v${s("champion")} ${s("championScore")}`} on the same holdout (${t("holdout")})`;
    case "retrain.promote":
      return `promoted v${s("to")} to @${t("alias")} (was ${d["from"] === null ? "nobody" : `v${s("from")}`})${d["after"] !== undefined ? ` after a ${t("after")}` : ""}`;
    case "retrain.canary":
      return `started a canary of v${s("candidate")} on ${t("deployment")} at ${s("weight")} of traffic until ${t("bakeUntil")}`;
    case "retrain.reject":
      return `kept champion v${s("champion")}, rejected v${s("candidate")}: ${reasons}`;
    case "retrain.alert":
      return `ALERT (${t("severity")}): ${reasons}`;
    case "retrain.fail":
      return `retrain failed: ${t("error")}`;
    case "retrain.await-approval":
      return `v${s("to")} won and waits for an approver to move @${t("alias")}`;
    default:
      return `${e.actor} ${e.action} ${e.target}`;
  }
}

export function formatStory(events: readonly AuditEvent[]): string {
  return events
    .map((e) => `${e.ts.slice(0, 19).replace("T", " ")}  #${e.seq}  ${describeEvent(e)}`)
    .join("\n");
}
