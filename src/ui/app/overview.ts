/// <reference lib="dom" />
// Operations overview (the landing page): the loop's health in the measures the store can answer; what it
// cannot (uptime, compute per prediction) is said to be unavailable rather than invented.
import { api } from "./api.ts";
import type { Deployment } from "./deployments.ts";
import { badge, fmtNumber, fmtPercent, fmtTime, h, table } from "./dom.ts";
import { endpointTraffic, fmtSeconds, snapshot } from "./live.ts";

interface Overview {
  models: Array<{ name: string; latestVersion: number; production: number | null }>;
  pendingPromotions: number;
  loggedPredictions: Array<{ model: string; rows: number; last: number }>;
  pipelineRuns: Record<string, number>;
  retrains: { automatic: number; manual: number; byCause: Record<string, number> };
  monitors: Array<{
    name: string;
    target: string;
    status: string;
    driftShare: number | null;
    at: number | null;
  }>;
  openAlerts: Array<{
    monitor: string;
    rule: string;
    severity: string;
    since: number | null;
    lastValue: number | null;
  }>;
}

function tile(id: string, label: string, value: string, note?: string): HTMLElement {
  return h(
    "div",
    { class: "tile", id },
    h("div", { class: "tile-label" }, label),
    h("div", { class: "tile-value" }, value),
    note ? h("div", { class: "muted small" }, note) : null,
  );
}

export async function overviewPage(root: HTMLElement): Promise<void> {
  const [o, { deployments }, live] = await Promise.all([
    api<Overview>("GET", "/api/v1/ui/overview"),
    api<{ deployments: Deployment[] }>("GET", "/api/v1/ui/deployments"),
    snapshot(),
  ]);
  const inProduction = o.models.filter((m) => m.production !== null);
  const logged = o.loggedPredictions.reduce((a, l) => a + l.rows, 0);
  const liveNote = live.live ? "live, this process since start" : "n/a: no serving in this process";
  root.replaceChildren(
    h("h1", {}, "Operations overview"),
    h(
      "div",
      { class: "tiles" },
      tile(
        "t-production",
        "Models in production",
        String(inProduction.length),
        `of ${o.models.length} registered`,
      ),
      tile(
        "t-predictions",
        "Predictions logged",
        fmtNumber(logged),
        "from the inference log (sampled per deployment)",
      ),
      tile(
        "t-retrains",
        "Retrains: automatic / manual",
        `${o.retrains.automatic} / ${o.retrains.manual}`,
        Object.entries(o.retrains.byCause)
          .map(([c, n]) => `${n} ${c}`)
          .join(", ") || "none yet",
      ),
      tile(
        "t-alerts",
        "Open alerts",
        String(o.openAlerts.length),
        o.openAlerts.length ? "see below" : "none firing",
      ),
      tile("t-promotions", "Promotions awaiting approval", String(o.pendingPromotions)),
      tile(
        "t-pipelines",
        "Pipeline runs",
        String(Object.values(o.pipelineRuns).reduce((a, n) => a + n, 0)),
        Object.entries(o.pipelineRuns)
          .map(([s, n]) => `${n} ${s}`)
          .join(", ") || "none yet",
      ),
      tile(
        "t-compute",
        "Compute seconds per 1,000 predictions",
        "n/a",
        "serving compute time is not recorded",
      ),
    ),
    table(
      "ops-deployments",
      `Deployments (${liveNote})`,
      ["deployment", "serving", "predictions logged", "requests", "error rate", "p99 latency", "uptime"],
      deployments.map((d) => {
        const t = live.live ? endpointTraffic(d.endpoint, live) : null;
        const served = t && t.versions.length > 0 ? t : null;
        return [
          h("a", { href: "#/deployments" }, d.name),
          `${d.primary.ref} → ${d.primary.version === null ? "unresolved" : `v${d.primary.version}`}${d.canary ? `, canary v${d.canary.version ?? "?"} at ${fmtPercent(d.canary.weight)}` : ""}`,
          fmtNumber(d.logged.reduce((a, l) => a + l.rows, 0)),
          served ? String(served.requests + served.errors) : "n/a",
          served ? fmtPercent(served.errorRate) : "n/a",
          served ? fmtSeconds(served.p99) : "n/a",
          "n/a (not recorded)",
        ];
      }),
    ),
    table(
      "ops-models",
      "Models in production",
      ["model", "production", "latest"],
      inProduction.map((m) => [
        h("a", { href: `#/models/${encodeURIComponent(m.name)}` }, m.name),
        `v${m.production!}`,
        `v${m.latestVersion}`,
      ]),
    ),
    table(
      "ops-alerts",
      o.openAlerts.length ? "Open alerts" : "Open alerts: none",
      ["monitor", "rule", "severity", "since", "last value"],
      o.openAlerts.map((a) => [
        h("a", { href: `#/monitoring/${encodeURIComponent(a.monitor)}` }, a.monitor),
        a.rule,
        h("span", { class: `badge ${a.severity === "critical" ? "b-bad" : "b-warn"}` }, `⚠ ${a.severity}`),
        fmtTime(a.since),
        fmtNumber(a.lastValue),
      ]),
    ),
    table(
      "ops-monitors",
      "Monitors: last window",
      ["monitor", "watches", "status", "drift share", "checked"],
      o.monitors.map((m) => [
        h("a", { href: `#/monitoring/${encodeURIComponent(m.name)}` }, m.name),
        m.target,
        badge(m.status),
        fmtPercent(m.driftShare),
        fmtTime(m.at),
      ]),
    ),
  );
}
