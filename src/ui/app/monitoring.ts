/// <reference lib="dom" />
// Monitoring page: per monitor the drift share over time (uPlot), alerts, performance once late labels arrived,
// and for a chosen window each column's reference vs current histogram and test result.
import uPlot from "uplot";
import { api } from "./api.ts";
import { badge, errorBox, fmtNumber, fmtPercent, fmtTime, h, table } from "./dom.ts";
import { histogramSvg } from "./histogram.ts";

interface Monitor {
  spec: { name: string; model?: string; deployment?: string; dataset?: string; reference: string };
}
interface Estimate {
  value: number;
  low: number;
  high: number;
  validation?: number;
}
interface Window {
  seq: number;
  at: number;
  status: string;
  rows: number;
  driftShare: number | null;
  labels: { labelled: number; unlabelled: number; unknown: number } | null;
  performance: { task: string; labelled: number; metrics: Record<string, Estimate> } | null;
  alerts: number;
}
interface ColumnCheck {
  column: string;
  kind: string;
  result: {
    test: string;
    statistic: number;
    pValue: number | null;
    threshold: number;
    drifted: boolean;
  } | null;
  note?: string;
  missingShare: { reference: number; current: number };
  histogram: { labels: string[]; reference: number[]; current: number[] };
}
interface Result {
  seq: number;
  status: string;
  window: { rows: number };
  check: { columns: ColumnCheck[]; prediction: ColumnCheck | null; dataset: { share: number } | null };
}
interface Alert {
  rule: string;
  severity: string;
  state: string;
  consecutive: number;
  lastValue: number | null;
  since: number | null;
}

export async function monitoringPage(root: HTMLElement, selected?: string): Promise<void> {
  const { monitors } = await api<{ monitors: Monitor[] }>("GET", "/api/v1/monitors");
  const detail = h("div", { id: "monitor-detail" });
  root.replaceChildren(
    h("h1", {}, "Monitoring"),
    monitors.length === 0
      ? h("p", { class: "muted" }, "No monitors. Create one with loopml monitor create.")
      : table(
          "monitors",
          "Monitors",
          ["monitor", "watches", "reference"],
          monitors.map((m) => [
            h("a", { href: `#/monitoring/${encodeURIComponent(m.spec.name)}` }, m.spec.name),
            m.spec.deployment ?? m.spec.model ?? m.spec.dataset ?? "",
            m.spec.reference,
          ]),
        ),
    detail,
  );
  const name = selected ?? monitors[0]?.spec.name;
  if (name) await monitorDetail(detail, name);
}

async function monitorDetail(box: HTMLElement, name: string): Promise<void> {
  const enc = encodeURIComponent(name);
  const [{ windows }, { alerts }] = await Promise.all([
    api<{ windows: Window[] }>("GET", `/api/v1/ui/monitors/${enc}/timeline?limit=200`),
    api<{ alerts: Alert[] }>("GET", `/api/v1/monitors/${enc}/alerts`),
  ]);
  const chart = h("div", {
    id: "drift-chart",
    role: "img",
    "aria-label": `Drift share of ${name} per window`,
  });
  const pick = h(
    "select",
    { id: "monitor-window" },
    ...windows
      .slice()
      .reverse()
      .map((w) => h("option", { value: w.seq }, `window ${w.seq} · ${fmtTime(w.at)} · ${w.status}`)),
  );
  const columns = h("div", { id: "monitor-columns" });
  const metricKeys = [...new Set(windows.flatMap((w) => Object.keys(w.performance?.metrics ?? {})))].sort();
  box.replaceChildren(
    h(
      "section",
      { class: "card" },
      h("h2", {}, name),
      windows.length === 0 ? h("p", { class: "muted" }, "This monitor has not run yet.") : chart,
      table(
        "monitor-alerts",
        "Alerts",
        ["rule", "severity", "state", "consecutive windows", "last value", "since"],
        alerts.map((a) => [
          a.rule,
          a.severity,
          badge(a.state),
          String(a.consecutive),
          fmtNumber(a.lastValue),
          fmtTime(a.since),
        ]),
      ),
      table(
        "monitor-performance",
        "Performance with late labels (95% intervals; validation value from the registry)",
        ["window", "labelled", "unlabelled", ...metricKeys],
        windows
          .filter((w) => w.labels !== null)
          .map((w) => [
            String(w.seq),
            String(w.labels?.labelled ?? 0),
            String(w.labels?.unlabelled ?? 0),
            ...metricKeys.map((k) => {
              const m = w.performance?.metrics[k];
              return m
                ? `${fmtNumber(m.value)} [${fmtNumber(m.low)}, ${fmtNumber(m.high)}]${m.validation === undefined ? "" : ` vs ${fmtNumber(m.validation)}`}`
                : "n/a";
            }),
          ]),
      ),
      windows.length ? h("label", { for: "monitor-window" }, "Window ", pick) : null,
      columns,
    ),
  );
  if (windows.length === 0) return;
  new uPlot(
    {
      width: Math.min(900, box.clientWidth - 40 || 800),
      height: 220,
      title: "Drift share per window (share of drifted columns)",
      scales: { y: { range: [0, 1] } },
      series: [{}, { label: "drift share", stroke: "#c0501f", width: 2, points: { show: true, size: 6 } }],
    },
    [windows.map((w) => w.at / 1000), windows.map((w) => w.driftShare)],
    chart,
  );
  chart.dataset["rendered"] = "1";
  async function showWindow(): Promise<void> {
    try {
      const r = await api<Result>("GET", `/api/v1/monitors/${enc}/runs/${pick.value}`);
      const checks = [...r.check.columns, ...(r.check.prediction ? [r.check.prediction] : [])];
      columns.replaceChildren(
        h(
          "p",
          {},
          `Window ${r.seq}: ${r.window.rows} rows, `,
          badge(r.status),
          r.check.dataset ? ` · drift share ${fmtPercent(r.check.dataset.share)}` : "",
        ),
        table(
          "column-tests",
          "Per column tests",
          ["column", "kind", "test", "statistic", "p-value", "threshold", "verdict", "missing (ref → cur)"],
          checks.map((c) => [
            c.column,
            c.kind,
            c.result?.test ?? "",
            fmtNumber(c.result?.statistic ?? null),
            fmtNumber(c.result?.pValue ?? null),
            fmtNumber(c.result?.threshold ?? null),
            c.result ? badge(c.result.drifted ? "drift" : "ok") : (c.note ?? "n/a"),
            `${fmtPercent(c.missingShare.reference)} → ${fmtPercent(c.missingShare.current)}`,
          ]),
        ),
        h(
          "div",
          { class: "hists" },
          ...checks.map((c) =>
            h(
              "figure",
              { class: "hist-fig" },
              histogramSvg(c.column, c.histogram.labels, c.histogram.reference, c.histogram.current),
              h(
                "figcaption",
                {},
                `${c.column}: `,
                c.result ? badge(c.result.drifted ? "drift" : "ok") : "n/a",
              ),
            ),
          ),
        ),
      );
    } catch (e) {
      columns.replaceChildren(errorBox(e));
    }
  }
  pick.addEventListener("change", () => void showWindow());
  await showWindow();
}
