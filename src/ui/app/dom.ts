/// <reference lib="dom" />
// Tiny DOM helpers: h() builds elements, text is always set as text (never HTML), so data cannot inject markup.

type Attrs = Record<string, string | number | boolean | EventListener | undefined>;
type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.replace(/^on/, ""), v);
    else if (k === "value" && "value" in el) (el as HTMLInputElement).value = String(v);
    else if (k === "checked" && "checked" in el) (el as HTMLInputElement).checked = Boolean(v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) {
    if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

export function fmtNumber(v: number | string | null | undefined): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return v;
  return Math.abs(v) >= 1e5 || (v !== 0 && Math.abs(v) < 1e-3)
    ? v.toExponential(3)
    : String(Math.round(v * 1e4) / 1e4);
}

export function fmtTime(ms: number | string | null | undefined): string {
  if (ms === null || ms === undefined) return "";
  const d = typeof ms === "number" ? new Date(ms) : new Date(ms);
  return d.toISOString().replace("T", " ").slice(0, 19);
}

export function errorBox(e: unknown): HTMLElement {
  return h("p", { class: "error", role: "alert" }, e instanceof Error ? e.message : String(e));
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** An SVG element; like h(), text children are set as text. */
export function svg(
  tag: string,
  attrs: Record<string, string | number> = {},
  ...children: Child[]
): SVGElement {
  const el: SVGElement = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) {
    if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

// Status is never colour alone: every badge carries an icon and the word.
const ICONS: Record<string, [string, string]> = {
  succeeded: ["✓", "ok"],
  ok: ["✓", "ok"],
  FINISHED: ["✓", "ok"],
  passed: ["✓", "ok"],
  cached: ["↺", "info"],
  running: ["…", "info"],
  RUNNING: ["…", "info"],
  failed: ["✗", "bad"],
  FAILED: ["✗", "bad"],
  firing: ["✗", "bad"],
  drift: ["⚠", "warn"],
  schema_drift: ["⚠", "warn"],
  rollback: ["↩", "warn"],
  skipped: ["–", "muted"],
  "not run": ["–", "muted"],
  not_enough_data: ["?", "muted"],
};

export function badge(status: string): HTMLElement {
  const [icon, cls] = ICONS[status] ?? ["•", "muted"];
  return h("span", { class: `badge b-${cls}` }, h("span", { "aria-hidden": "true" }, `${icon} `), status);
}

export function fmtDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "";
  return ms < 1000
    ? `${Math.round(ms)} ms`
    : ms < 120_000
      ? `${(ms / 1000).toFixed(1)} s`
      : `${(ms / 60_000).toFixed(1)} min`;
}

export function fmtPercent(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? "n/a" : `${(v * 100).toFixed(1)}%`;
}

/** A table with a caption and column headers; rows are arrays of cells. */
export function table(id: string, caption: string, head: string[], rows: Child[][]): HTMLTableElement {
  return h(
    "table",
    { class: "grid", id },
    h("caption", {}, caption),
    h("tr", {}, ...head.map((t) => h("th", { scope: "col" }, t))),
    ...rows.map((r) => h("tr", {}, ...r.map((c) => h("td", {}, c)))),
  );
}
