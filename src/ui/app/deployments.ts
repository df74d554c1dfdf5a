/// <reference lib="dom" />
// Deployments page: per deployment the versions serving (primary, canary share, shadow), live traffic when this
// process serves, logged predictions per version, and its swap/rollback/alias history from the audit log.
import { api } from "./api.ts";
import { badge, fmtNumber, fmtPercent, fmtTime, h, table } from "./dom.ts";
import { endpointTraffic, fmtSeconds, snapshot, type Snapshot } from "./live.ts";

interface Resolved {
  ref: string;
  model: string;
  alias: string;
  version: number | null;
}
export interface Deployment {
  name: string;
  endpoint: string;
  primary: Resolved;
  canary: (Resolved & { weight: number }) | null;
  shadow: Resolved | null;
  rollback: { maxErrorRateDelta: number; maxP99Ratio: number } | null;
  sampleRate: number;
  logged: Array<{ model: string; version: number; rows: number; first: number; last: number }>;
  history: Array<{ seq: number; ts: string; actor: string; action: string; target: string; details: object }>;
}

const POLL_MS = 3000;

function serving(r: Resolved | null): string {
  if (!r) return "—";
  return `${r.ref} → ${r.version === null ? "not resolved (alias points nowhere)" : `v${r.version}`}`;
}

/** What happened, in words: the audit action and the versions it moved between. */
export function describeEvent(e: { action: string; details: object }): string {
  const d = e.details as Record<string, string | number | null | undefined>;
  const v = (x: string | number | null | undefined) => (x === null || x === undefined ? "none" : `v${x}`);
  if (e.action === "serving.swap") return `${d["role"] ?? ""} swapped ${v(d["from"])} → ${v(d["to"])}`;
  if (e.action === "serving.canary.rollback") return `canary rolled back: ${d["reason"] ?? ""}`;
  if (e.action === "serving.load.fail") return `load failed: ${d["error"] ?? ""}`;
  if (e.action.startsWith("model.")) return `${e.action}: ${v(d["from"])} → ${v(d["to"])}`;
  return e.action;
}

export async function deploymentsPage(root: HTMLElement): Promise<void> {
  const [{ deployments }, first] = await Promise.all([
    api<{ deployments: Deployment[] }>("GET", "/api/v1/ui/deployments"),
    snapshot(),
  ]);
  const liveBox = h("div", { id: "live", "aria-live": "polite" });
  let prev: Snapshot | undefined;
  function renderLive(cur: Snapshot): void {
    if (!cur.live) {
      liveBox.replaceChildren(
        h(
          "p",
          { class: "muted", id: "no-live" },
          "No live traffic in this process: the serving endpoints do not run here (start them with loopml up, or read their /metrics). Logged predictions below come from the inference log.",
        ),
      );
      return;
    }
    liveBox.replaceChildren(
      table(
        "live-traffic",
        `Live traffic (this process, ${prev ? `over the last ${((cur.at - prev.at) / 1000).toFixed(0)} s` : "since start"})`,
        ["deployment", "version", "role", "requests", "requests/s", "p50", "p99", "errors", "error rate"],
        deployments.flatMap((d) => {
          const t = endpointTraffic(d.endpoint, cur, prev);
          if (t.versions.length === 0) return [[d.name, "not served here", "", "", "", "", "", "", ""]];
          return t.versions.map((v, i) => [
            i === 0 ? d.name : "",
            `v${v.version}`,
            v.roles.join(", ") || "retired",
            String(v.requests),
            v.rps === null ? "…" : v.rps.toFixed(2),
            fmtSeconds(v.p50),
            fmtSeconds(v.p99),
            i === 0 ? String(t.errors) : "",
            i === 0 ? `${fmtPercent(t.errorRate)} (${t.window})` : "",
          ]);
        }),
      ),
    );
  }
  renderLive(first);
  prev = first;
  const timer = setInterval(() => {
    // Stop polling once the user left the page.
    if (!liveBox.isConnected) return clearInterval(timer);
    void snapshot()
      .then((cur) => {
        renderLive(cur);
        prev = cur;
      })
      .catch(() => clearInterval(timer));
  }, POLL_MS);

  root.replaceChildren(
    h("h1", {}, "Deployments"),
    liveBox,
    ...(deployments.length === 0
      ? [h("p", { class: "muted" }, "No deployments. Declare one in loopml.yaml and run loopml apply.")]
      : deployments.map((d) =>
          h(
            "section",
            { class: "card deployment", "data-deployment": d.name },
            h("h2", {}, `${d.name} `, h("span", { class: "muted" }, `(endpoint ${d.endpoint})`)),
            h(
              "dl",
              { class: "facts" },
              h("dt", {}, "Primary"),
              h("dd", {}, serving(d.primary)),
              h("dt", {}, "Canary"),
              h(
                "dd",
                { class: "canary" },
                d.canary ? `${serving(d.canary)} · ${fmtPercent(d.canary.weight)} of traffic` : "none",
              ),
              h("dt", {}, "Shadow"),
              h("dd", {}, serving(d.shadow)),
              h("dt", {}, "Rollback"),
              h(
                "dd",
                {},
                d.rollback
                  ? `when the canary's error rate exceeds the primary's by ${fmtPercent(d.rollback.maxErrorRateDelta)} or its p99 by ×${d.rollback.maxP99Ratio}`
                  : "no automatic rollback",
              ),
              h("dt", {}, "Inference log"),
              h("dd", {}, `${fmtPercent(d.sampleRate)} of predictions logged`),
            ),
            table(
              `logged-${d.name}`,
              "Logged predictions per version",
              ["model", "version", "predictions", "first", "last"],
              d.logged.map((l) => [
                l.model,
                `v${l.version}`,
                fmtNumber(l.rows),
                fmtTime(l.first),
                fmtTime(l.last),
              ]),
            ),
            table(
              `history-${d.name}`,
              "Swaps, rollbacks and alias moves (newest first)",
              ["when", "event", "what", "by"],
              d.history.map((e) => [
                fmtTime(Date.parse(e.ts)),
                e.action === "serving.canary.rollback" ? badge("rollback") : e.action,
                describeEvent(e),
                e.actor,
              ]),
            ),
          ),
        )),
  );
}
