// Renders a drift report as one self-contained HTML page: aggregates and inline SVG only, no scripts, no network.
import type { ColumnHistogram, DriftReport } from "./drift-report.ts";

const REF_COLOR = "#4c78a8";
const CUR_COLOR = "#f58518";

export function renderDriftReportHtml(
  report: DriftReport,
  meta: {
    title: string;
    reference: string;
    current: string;
    generatedAt: string;
    /** Already-escaped HTML placed after the summary (monitor reports add performance, alerts, data quality). */
    extraHtml?: string;
  },
): string {
  const rows = report.columns
    .map(
      (c) => `<tr class="${c.result?.drifted ? "drift" : ""}">
  <td>${esc(c.column)}</td><td>${c.kind}</td><td>${c.result?.test ?? "—"}</td>
  <td>${c.result ? num(c.result.statistic) : "—"}</td><td>${c.result?.pValue == null ? "—" : num(c.result.pValue)}</td><td>${c.result ? num(c.result.threshold) : "—"}</td>
  <td>${c.result === null ? "not enough data" : c.result.drifted ? "<strong>drifted</strong> ▲" : "stable ●"}</td>
  <td>${pct(c.missingShare.reference)} → ${pct(c.missingShare.current)}</td>
  <td>${c.newCategories.length === 0 ? "" : esc(c.newCategories.slice(0, 5).join(", ")) + (c.newCategories.length > 5 ? " …" : "")}</td>
</tr>`,
    )
    .join("\n");
  const charts = report.columns
    .map(
      (
        c,
      ) => `<section><h3>${esc(c.column)} <small>${c.result ? `${c.result.test} ${num(c.result.statistic)} — ${c.result.drifted ? "drifted" : "stable"}` : "not enough data"}</small></h3>
${histogramSvg(c.histogram)}</section>`,
    )
    .join("\n");
  const schema =
    report.missingColumns.length + report.extraColumns.length === 0
      ? ""
      : `<p class="drift">Schema drift: missing in current: ${esc(report.missingColumns.join(", ") || "none")}; new in current: ${esc(report.extraColumns.join(", ") || "none")}.</p>`;
  const d = report.dataset;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(meta.title)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse}td,th{padding:.3rem .6rem;border-bottom:1px solid #ddd;text-align:left}
tr.drift td{background:#fff1e6}.drift{color:#a33}section{display:inline-block;margin:1rem 1rem 0 0;vertical-align:top}small{color:#666;font-weight:normal}
.legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 1rem;vertical-align:middle}
</style></head><body>
<h1>${esc(meta.title)}</h1>
<p>Reference: ${esc(meta.reference)} (${report.referenceRows} rows) · Current: ${esc(meta.current)} (${report.currentRows} rows) · ${esc(meta.generatedAt)}</p>
<h2 class="${d.drifted ? "drift" : ""}">Dataset ${d.drifted ? "DRIFTED" : "not drifted"}: ${d.driftedColumns} of ${d.totalColumns} columns (${pct(d.share)})</h2>
${schema}
<table><thead><tr><th>column</th><th>type</th><th>test</th><th>statistic</th><th>p-value</th><th>threshold</th><th>verdict</th><th>missing</th><th>new values</th></tr></thead>
<tbody>
${rows}
</tbody></table>
${meta.extraHtml ?? ""}
<h2>Distributions</h2>
<p class="legend"><span style="background:${REF_COLOR}"></span>reference<span style="background:${CUR_COLOR}"></span>current</p>
${charts}
</body></html>
`;
}

/** Paired bars per bin; heights are shares of non-missing rows. */
function histogramSvg(h: ColumnHistogram): string {
  const n = h.labels.length;
  if (n === 0) return "<p>no values</p>";
  const width = 360;
  const height = 140;
  const slot = width / n;
  const bar = Math.max(1, slot / 2 - 1);
  const max = Math.max(...h.reference, ...h.current, 1e-12);
  const bars = h.labels
    .map((label, i) => {
      const r = ((h.reference[i] ?? 0) / max) * height;
      const c = ((h.current[i] ?? 0) / max) * height;
      const x = i * slot;
      return `<g><title>${esc(label)}: reference ${pct(h.reference[i] ?? 0)}, current ${pct(h.current[i] ?? 0)}</title><rect x="${x.toFixed(1)}" y="${(height - r).toFixed(1)}" width="${bar.toFixed(1)}" height="${r.toFixed(1)}" fill="${REF_COLOR}"/><rect x="${(x + bar + 1).toFixed(1)}" y="${(height - c).toFixed(1)}" width="${bar.toFixed(1)}" height="${c.toFixed(1)}" fill="${CUR_COLOR}"/></g>`;
    })
    .join("");
  return `<svg width="${width}" height="${height + 16}" role="img" aria-label="reference and current distributions">${bars}<text x="0" y="${height + 13}" font-size="10">${esc(h.labels[0] ?? "")}</text><text x="${width}" y="${height + 13}" font-size="10" text-anchor="end">${esc(h.labels[n - 1] ?? "")}</text></svg>`;
}

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
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
