/// <reference lib="dom" />
// Runs page: server-side filter/sort/keyset paging into a virtualised table (only visible rows are in the DOM),
// a column chooser, and a comparison of the selected runs (overlaid downsampled curves, params diff).
import uPlot from "uplot";
import { api } from "./api.ts";
import { errorBox, fmtNumber, fmtTime, h } from "./dom.ts";
import { parallelCoordinates } from "./parcoords.ts";

interface Summary {
  last: number | string;
}
interface Run {
  info: { id: string; name: string; status: string; startTime: number };
  params: Record<string, string>;
  tags: Record<string, string>;
  metrics: Record<string, Summary>;
}
interface Page {
  runs: Run[];
  nextPageToken?: string;
}
interface Column {
  id: string; // "metrics.auc", "params.lr", "tags.x", or an attribute
  label: string;
  orderKey: string;
  get(r: Run): string;
}

const ROW_H = 28;
// The first page is small so the table is interactive quickly; later pages arrive while scrolling.
const FIRST_PAGE = 100;
const PAGE = 1000;
const MAX_SELECT = 200;
// Curves need one request per run; past this many they are unreadable anyway (parallel coordinates are not).
const MAX_CURVES = 8;

const BASE: Column[] = [
  { id: "name", label: "Run", orderKey: "run_name", get: (r) => r.info.name },
  { id: "status", label: "Status", orderKey: "status", get: (r) => r.info.status },
  { id: "start", label: "Started", orderKey: "start_time", get: (r) => fmtTime(r.info.startTime) },
];

function keyColumn(kind: "metrics" | "params" | "tags", key: string): Column {
  return {
    id: `${kind}.${key}`,
    label: `${kind === "metrics" ? "" : kind === "params" ? "param " : "tag "}${key}`,
    orderKey: `${kind}.${key}`,
    get: (r) =>
      kind === "metrics"
        ? fmtNumber(r.metrics[key]?.last ?? null)
        : ((kind === "params" ? r.params : r.tags)[key] ?? ""),
  };
}

export async function runsPage(root: HTMLElement): Promise<void> {
  // Fetched alongside the first page of runs rather than before it: the table is what people wait for.
  const experimentsLoaded = api<{ experiments: Array<{ id: string; name: string }> }>(
    "GET",
    "/api/v1/experiments",
  );
  const state = {
    rows: [] as Run[],
    next: undefined as string | undefined,
    loading: false,
    selected: new Set<string>(),
    columns: [...BASE] as Column[],
    order: "start_time DESC",
    generation: 0,
  };
  const expSelect = h(
    "select",
    { id: "exp", "aria-label": "Experiment" },
    h("option", { value: "" }, "All experiments"),
  );
  const filter = h("input", {
    type: "text",
    id: "filter",
    class: "wide",
    placeholder: "metrics.auc > 0.8 and params.lr = '0.1'",
  });
  const status = h("span", { id: "run-count", class: "muted", "aria-live": "polite" });
  const message = h("div");
  const colBox = h("div", { class: "cols" });
  const table = h("div", {
    class: "vtable",
    id: "runs-table",
    role: "grid",
    tabindex: "0",
    "aria-label": "Runs",
  });
  const spacer = h("div");
  const compare = h("section", { class: "card", id: "compare", hidden: true });
  table.append(spacer);

  function header(): HTMLElement {
    const [key, dir] = state.order.split(" ");
    return h(
      "div",
      { class: "vrow head", role: "row", style: "top:0" },
      h("span", { class: "sel" }, ""),
      ...state.columns.map((c) =>
        h(
          "span",
          {
            role: "columnheader",
            "aria-sort": c.orderKey === key ? (dir === "ASC" ? "ascending" : "descending") : undefined,
          },
          h(
            "button",
            {
              onclick: () => {
                state.order = `${c.orderKey} ${c.orderKey === key && dir === "DESC" ? "ASC" : "DESC"}`;
                void reload();
              },
              title: `Sort by ${c.label}`,
            },
            c.label,
            c.orderKey === key ? (dir === "ASC" ? " ▲" : " ▼") : "",
          ),
        ),
      ),
    );
  }

  // Virtualisation: absolutely positioned rows for the visible window only. Scrolling adds the rows that came
  // into view and drops those that left, so a frame builds a few rows, not the whole window.
  let head = header();
  let painted = "";
  let layout = "";
  const rendered = new Map<number, HTMLElement>();
  function rowElement(i: number, width: number): HTMLElement {
    const r = state.rows[i]!;
    const sel = state.selected.has(r.info.id);
    const el = h(
      "div",
      {
        class: sel ? "vrow selected" : "vrow",
        role: "row",
        style: `top:${(i + 1) * ROW_H}px;width:${width}px`,
        "data-run": r.info.id,
      },
      h(
        "span",
        { class: "sel" },
        h("input", {
          type: "checkbox",
          "aria-label": `Select run ${r.info.name}`,
          checked: sel,
          // Enter toggles like Space, so a keyboard user can pick runs the way they move between them.
          onkeydown: (ev: Event) => {
            if ((ev as KeyboardEvent).key === "Enter") (ev.target as HTMLInputElement).click();
          },
          onchange: (ev: Event) => {
            const on = (ev.target as HTMLInputElement).checked;
            if (on) state.selected.add(r.info.id);
            else state.selected.delete(r.info.id);
            // Only this row changes: keeping the element keeps the keyboard focus on its checkbox.
            el.classList.toggle("selected", on);
            compareBtn.disabled = state.selected.size === 0;
          },
        }),
      ),
      ...state.columns.map((c) => h("span", { role: "gridcell", title: c.get(r) }, c.get(r))),
    );
    return el;
  }
  function paint(): void {
    const width = 32 + state.columns.length * 140;
    const first = Math.max(0, Math.floor(table.scrollTop / ROW_H) - 5);
    const last = Math.min(state.rows.length, Math.ceil((table.scrollTop + table.clientHeight) / ROW_H) + 5);
    const key = `${first}:${last}:${state.rows.length}`;
    if (painted !== "" && key === painted) return;
    if (painted === "" || layout !== `${width}`) {
      // Columns, order, selection or rows changed: start over.
      layout = `${width}`;
      rendered.clear();
      head.style.width = `${width}px`;
      spacer.style.width = `${width}px`;
      table.replaceChildren(head, spacer);
    }
    painted = key;
    // The sticky header takes the first row of the flow; the spacer gives the scrollbar the full height.
    spacer.style.height = `${state.rows.length * ROW_H}px`;
    for (const [i, el] of rendered) {
      if (i < first || i >= last) {
        el.remove();
        rendered.delete(i);
      }
    }
    const frag = document.createDocumentFragment();
    for (let i = first; i < last; i++) {
      if (rendered.has(i)) continue;
      const el = rowElement(i, width);
      rendered.set(i, el);
      frag.append(el);
    }
    table.append(frag);
    if (last >= state.rows.length - 50 && state.next && !state.loading) void loadMore();
  }
  table.addEventListener("scroll", () => requestAnimationFrame(paint), { passive: true });
  table.addEventListener("keydown", (ev) => {
    const step =
      ev.key === "ArrowDown"
        ? ROW_H
        : ev.key === "ArrowUp"
          ? -ROW_H
          : ev.key === "PageDown"
            ? table.clientHeight
            : ev.key === "PageUp"
              ? -table.clientHeight
              : 0;
    if (step !== 0 && ev.target === table) {
      table.scrollTop += step;
      ev.preventDefault();
    }
  });

  function chooseColumns(): void {
    const keys = { metrics: new Set<string>(), params: new Set<string>(), tags: new Set<string>() };
    for (const r of state.rows.slice(0, 200)) {
      for (const k of Object.keys(r.metrics)) keys.metrics.add(k);
      for (const k of Object.keys(r.params)) keys.params.add(k);
      for (const k of Object.keys(r.tags)) if (!k.startsWith("loopml.")) keys.tags.add(k);
    }
    const shown = new Set(state.columns.map((c) => c.id));
    if (state.columns.length === BASE.length) {
      // First load: show the metrics and params, not the tags.
      for (const k of [...keys.metrics].slice(0, 6)) state.columns.push(keyColumn("metrics", k));
      for (const k of [...keys.params].slice(0, 6)) state.columns.push(keyColumn("params", k));
      for (const c of state.columns) shown.add(c.id);
    }
    const boxes: HTMLElement[] = [];
    for (const kind of ["metrics", "params", "tags"] as const) {
      for (const k of [...keys[kind]].sort()) {
        const id = `${kind}.${k}`;
        boxes.push(
          h(
            "label",
            {},
            h("input", {
              type: "checkbox",
              checked: shown.has(id),
              onchange: (ev: Event) => {
                if ((ev.target as HTMLInputElement).checked) state.columns.push(keyColumn(kind, k));
                else state.columns = state.columns.filter((c) => c.id !== id);
                head = header();
                painted = "";
                paint();
              },
            }),
            ` ${id}`,
          ),
        );
      }
    }
    colBox.replaceChildren(...boxes);
  }

  async function loadMore(): Promise<void> {
    const gen = state.generation;
    state.loading = true;
    try {
      const page = await api<Page>("POST", "/api/v1/runs/search", {
        ...(expSelect.value && { experiments: [expSelect.value] }),
        ...(filter.value.trim() && { filter: filter.value.trim() }),
        orderBy: [state.order],
        maxResults: state.next ? PAGE : FIRST_PAGE,
        ...(state.next && { pageToken: state.next }),
      });
      if (gen !== state.generation) return;
      state.rows.push(...page.runs);
      state.next = page.nextPageToken;
      status.textContent = `${state.rows.length}${state.next ? "+" : ""} runs`;
      const firstPage = state.rows.length === page.runs.length;
      if (firstPage) {
        chooseColumns();
        head = header();
        painted = "";
      }
      // A later page only extends the table: the rows on screen stay as they are.
      paint();
      // The browser test's "interactive" point: the first page is painted and the table answers input.
      if (firstPage) performance.mark("loopml:runs:first-page");
    } catch (e) {
      message.replaceChildren(errorBox(e));
    } finally {
      state.loading = false;
    }
  }
  async function reload(): Promise<void> {
    state.generation++;
    state.rows = [];
    state.next = undefined;
    state.loading = false;
    message.replaceChildren();
    table.scrollTop = 0;
    await loadMore();
  }

  const compareBtn = h(
    "button",
    { id: "compare-btn", disabled: true, onclick: () => void showCompare() },
    "Compare selected",
  );
  // Sweeps and AutoML leaderboards are compared as a whole: select the loaded rows at once.
  const selectAllBtn = h(
    "button",
    {
      type: "button",
      id: "select-all-btn",
      onclick: () => {
        for (const r of state.rows.slice(0, MAX_SELECT)) state.selected.add(r.info.id);
        compareBtn.disabled = state.selected.size === 0;
        painted = "";
        paint();
      },
    },
    `Select first ${MAX_SELECT}`,
  );
  async function showCompare(): Promise<void> {
    compare.hidden = false;
    const runs = state.rows.filter((r) => state.selected.has(r.info.id));
    await renderComparison(compare, runs);
  }

  root.replaceChildren(
    h("h1", {}, "Runs"),
    h(
      "form",
      {
        class: "toolbar",
        role: "search",
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          void reload();
        },
      },
      h("label", {}, "Experiment", expSelect),
      h("label", { for: "filter" }, "Filter (tracking filter language)", filter),
      h("button", { type: "submit" }, "Apply"),
      compareBtn,
      selectAllBtn,
      status,
    ),
    h("details", {}, h("summary", {}, "Columns"), colBox),
    message,
    table,
    compare,
  );
  expSelect.addEventListener("change", () => void reload());
  const [{ experiments }] = await Promise.all([experimentsLoaded, reload()]);
  expSelect.append(...experiments.map((e) => h("option", { value: e.id }, e.name)));
}

/** Overlaid metric curves for the chosen key (downsampled by the server) and the params that differ. */
export async function renderComparison(box: HTMLElement, runs: Run[]): Promise<void> {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort();
  const metric = h(
    "select",
    { id: "compare-metric", "aria-label": "Metric to chart" },
    ...keys.map((k) => h("option", { value: k }, k)),
  );
  const chartBox = h("div", { id: "chart", role: "img", "aria-label": "Metric curves of the selected runs" });
  const note = h("p", { class: "muted", "aria-live": "polite" });
  const paramKeys = [...new Set(runs.flatMap((r) => Object.keys(r.params)))].sort();
  const diff = h(
    "table",
    { class: "grid", id: "params-diff" },
    h("caption", {}, "Params (differences highlighted and marked *)"),
    h(
      "tr",
      {},
      h("th", { scope: "col" }, "param"),
      ...runs.map((r) => h("th", { scope: "col" }, r.info.name)),
    ),
    ...paramKeys.map((k) => {
      const vals = runs.map((r) => r.params[k] ?? "");
      const differs = new Set(vals).size > 1;
      return h(
        "tr",
        {},
        h("th", { scope: "row" }, differs ? `${k} *` : k),
        ...vals.map((v) => h("td", { class: differs ? "diff" : undefined }, v)),
      );
    }),
  );
  let plot: uPlot | undefined;
  async function draw(): Promise<void> {
    const t0 = performance.now();
    performance.mark("loopml:chart:start");
    const key = metric.value;
    const series = await Promise.all(
      runs
        .filter((r) => r.metrics[key])
        .slice(0, MAX_CURVES)
        .map(async (r) => ({
          run: r,
          data: await api<{ total: number; steps: number[]; values: number[] }>(
            "GET",
            `/api/v1/ui/runs/${encodeURIComponent(r.info.id)}/metrics/${encodeURIComponent(key)}/downsampled?buckets=1000`,
          ),
        })),
    );
    const tables = series.map((s) => [s.data.steps, s.data.values] as uPlot.AlignedData);
    const data = tables.length === 1 ? tables[0]! : uPlot.join(tables);
    const palette = ["#2b6fd6", "#d6462b", "#1b9e5a", "#8a2bd6", "#d69a2b", "#222"];
    const dashes = [[], [6, 3], [2, 2], [10, 4, 2, 4]];
    plot?.destroy();
    plot = new uPlot(
      {
        width: Math.min(900, box.clientWidth - 20 || 800),
        height: 320,
        title: key,
        scales: { x: { time: false } },
        series: [
          { label: "step" },
          ...series.map((s, i) => ({
            label: s.run.info.name,
            stroke: palette[i % palette.length]!,
            dash: dashes[i % dashes.length]!, // colour is not the only signal
            spanGaps: true,
            points: { show: false },
          })),
        ],
      },
      data,
      chartBox,
    );
    const total = series.reduce((a, s) => a + s.data.total, 0);
    const more = runs.filter((r) => r.metrics[key]).length - series.length;
    note.textContent = `${series.length} series, ${total} points stored, drawn in ${(performance.now() - t0).toFixed(0)} ms${more > 0 ? ` (curves of the first ${MAX_CURVES}; ${more} more runs are in the parallel coordinates)` : ""}`;
    chartBox.dataset["rendered"] = "1";
    performance.measure("loopml:chart", "loopml:chart:start");
  }
  metric.addEventListener("change", () => void draw().catch((e: unknown) => note.replaceWith(errorBox(e))));
  const axes = [...paramKeys, ...keys].slice(0, 12);
  const parBox = h(
    "div",
    { class: "scroll-x", id: "parcoords" },
    parallelCoordinates(
      runs.map((r) => ({
        name: r.info.name,
        values: {
          ...r.params,
          ...Object.fromEntries(Object.entries(r.metrics).map(([k, m]) => [k, m.last])),
        },
      })),
      axes,
      keys[0],
    ),
  );
  box.replaceChildren(
    h("h2", {}, `Compare ${runs.length} runs`),
    h("label", {}, "Metric ", metric),
    chartBox,
    note,
    h("h3", {}, "Parallel coordinates"),
    h(
      "p",
      { class: "muted" },
      `Params then metrics (last value); lines shaded by ${keys[0] ?? "nothing"}, darker is higher.`,
    ),
    parBox,
    diff,
  );
  if (keys.length > 0) await draw();
  else note.textContent = "The selected runs have no metrics.";
}
