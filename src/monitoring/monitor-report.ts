// A monitor run as a report people can read: one self-contained HTML page (aggregates only) or JSON.
import type { DriftReport } from "./drift-report.ts";
import type { MonitorResult } from "./monitors.ts";
import { esc, renderDriftReportHtml } from "./report-html.ts";

/** The run's column checks in the shape of an ad-hoc drift report (predictions last, as one more column). */
export function asDriftReport(result: MonitorResult): DriftReport {
  const c = result.check;
  const columns = [...c.columns, ...(c.prediction ? [c.prediction] : [])].map((col) => ({
    column: col.column,
    kind: col.kind,
    result: col.result,
    missingShare: col.missingShare,
    newCategories: col.newCategories,
    histogram: col.histogram,
  }));
  return {
    referenceRows: c.referenceRows,
    currentRows: c.rows,
    columns,
    missingColumns: c.schema.missingColumns,
    extraColumns: c.schema.extraColumns,
    dataset: c.dataset ?? { driftedColumns: 0, totalColumns: 0, share: 0, drifted: false },
  };
}

/**
 * The page embeds per-column histograms (20 bins or the top 20 categories) and statistics, never rows, so its
 * size depends on the number of columns, not on the window: a 10⁶-row window gives the same few kilobytes.
 *
 * @example
 * await writeFile("report.html", renderMonitorReportHtml(await monitors.result("churn")));
 */
export function renderMonitorReportHtml(
  result: MonitorResult,
  generatedAt = new Date().toISOString(),
): string {
  const when = (t: number | null): string => (t === null ? "—" : new Date(t).toISOString());
  const status =
    result.status === "not_enough_data"
      ? `<p class="drift">Not enough data in this window (${result.window.rows} rows): no verdict, no alarm.</p>`
      : `<p>Window status: <strong>${esc(result.status.replace("_", " "))}</strong></p>`;
  const quality = `<h2>Data quality</h2><table><thead><tr><th>column</th><th>missing (ref → cur)</th><th>new categories</th><th>out of range</th><th>note</th></tr></thead><tbody>
${result.check.columns
  .map(
    (c) =>
      `<tr><td>${esc(c.column)}</td><td>${pct(c.missingShare.reference)} → ${pct(c.missingShare.current)}</td><td>${c.newCategories.length === 0 ? "" : `${esc(c.newCategories.slice(0, 5).join(", "))} (${pct(c.newCategoryShare)} of rows)`}</td><td>${c.outOfRange ? `${c.outOfRange.below} below, ${c.outOfRange.above} above (${pct(c.outOfRange.share)})` : ""}</td><td>${esc(c.note ?? "")}</td></tr>`,
  )
  .join("\n")}
</tbody></table>`;
  const perf = result.performance;
  const performance = perf
    ? `<h2>Performance (${perf.labelled} labelled predictions, ${perf.task})</h2><table><thead><tr><th>metric</th><th>value</th><th>95% interval</th><th>validation</th><th>change</th></tr></thead><tbody>
${Object.entries(perf.metrics)
  .map(
    ([name, m]) =>
      `<tr><td>${esc(name)}</td><td>${num(m.value)}</td><td>[${num(m.low)}, ${num(m.high)}] (${m.method})</td><td>${m.validation === undefined ? "—" : num(m.validation)}</td><td>${m.change === undefined ? "—" : num(m.change)}</td></tr>`,
  )
  .join("\n")}
</tbody></table>`
    : result.labels
      ? `<h2>Performance</h2><p>No labels yet for this window's predictions.</p>`
      : "";
  const labels = result.labels
    ? `<p>Labels: ${result.labels.labelled} joined, ${result.labels.unlabelled} predictions without a label, ${result.labels.unknown} labels for unknown request ids.</p>`
    : "";
  const alerts =
    result.alerts.length === 0
      ? ""
      : `<h2>Alerts</h2><ul>${result.alerts
          .map(
            (a) =>
              `<li class="${a.transition === "fire" ? "drift" : ""}">${esc(a.severity)}: ${esc(a.rule)} — ${a.transition === "fire" ? "fired" : "resolved"} (value ${num(a.value)}, threshold ${num(a.threshold)})</li>`,
          )
          .join("")}</ul>`;
  const typeChanges =
    result.check.schema.typeChanges.length === 0
      ? ""
      : `<p class="drift">Type changes: ${esc(result.check.schema.typeChanges.map((t) => `${t.column} (${t.reference} → ${t.current})`).join(", "))}.</p>`;
  return renderDriftReportHtml(asDriftReport(result), {
    title: `Monitor ${result.monitor} — window ${result.seq}`,
    reference: `${result.reference.source} (sample ${Math.min(result.reference.rows, result.reference.sampleSize)} of ${result.reference.rows})`,
    current: `${result.window.source}, ${when(result.window.start)} – ${when(result.window.end)}`,
    generatedAt,
    extraHtml: status + typeChanges + alerts + labels + performance + quality,
  });
}

function num(v: number): string {
  return Number.isFinite(v)
    ? Math.abs(v) >= 1e-3 || v === 0
      ? v.toFixed(4)
      : v.toExponential(2)
    : String(v);
}

function pct(v: number): string {
  return `${(v * 100).toFixed(1)}%`;
}
