/// <reference lib="dom" />
// Audit page: the event log with filters, and the hash chain's verification status.
import { api } from "./api.ts";
import { errorBox, h } from "./dom.ts";

interface AuditEvent {
  seq: number;
  ts: string;
  actor: string;
  action: string;
  target: string;
  details: Record<string, unknown>;
}
type Verification =
  | { ok: true; events: number; headHash: string }
  | { ok: false; events: number; brokenAt: number; reason: string };

export async function auditPage(root: HTMLElement): Promise<void> {
  const inputs = {
    action: h("input", { type: "text", id: "audit-action", placeholder: "model.alias.move" }),
    actor: h("input", { type: "text", id: "audit-actor" }),
    target: h("input", { type: "text", id: "audit-target", placeholder: "model:churn" }),
  };
  const verify = h("p", { id: "audit-verify", role: "status" }, "Verifying the chain…");
  const list = h("div");
  async function load(): Promise<void> {
    const q = new URLSearchParams();
    for (const [k, el] of Object.entries(inputs)) if (el.value.trim()) q.set(k, el.value.trim());
    q.set("limit", "500");
    try {
      const { events } = await api<{ events: AuditEvent[] }>("GET", `/api/v1/ui/audit?${q.toString()}`);
      list.replaceChildren(
        h(
          "table",
          { class: "grid", id: "audit-events" },
          h("caption", {}, `${events.length} events (newest first)`),
          h(
            "tr",
            {},
            ...["seq", "time", "actor", "action", "target", "details"].map((t) =>
              h("th", { scope: "col" }, t),
            ),
          ),
          ...events.map((e) =>
            h(
              "tr",
              {},
              h("td", {}, e.seq),
              h("td", {}, e.ts.replace("T", " ").slice(0, 19)),
              h("td", {}, e.actor),
              h("td", {}, e.action),
              h("td", {}, e.target),
              h("td", {}, h("code", {}, JSON.stringify(e.details).slice(0, 300))),
            ),
          ),
        ),
      );
    } catch (e) {
      list.replaceChildren(errorBox(e));
    }
  }
  root.replaceChildren(
    h("h1", {}, "Audit log"),
    verify,
    h(
      "form",
      {
        class: "toolbar",
        role: "search",
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          void load();
        },
      },
      h("label", { for: "audit-action" }, "Action", inputs.action),
      h("label", { for: "audit-actor" }, "Actor", inputs.actor),
      h("label", { for: "audit-target" }, "Target starts with", inputs.target),
      h("button", { type: "submit" }, "Filter"),
    ),
    list,
  );
  const [v] = await Promise.all([api<Verification>("GET", "/api/v1/ui/audit/verify"), load()]);
  verify.className = v.ok ? "ok" : "bad";
  verify.textContent = v.ok
    ? `Chain verified: ${v.events} events, head ${v.headHash.slice(0, 12)}…`
    : `Chain BROKEN at event ${v.brokenAt}: ${v.reason}`;
}
