/// <reference lib="dom" />
// Data page: datasets, their versions, one version's files and column profiles, and the diff of two versions.
import { api } from "./api.ts";
import { errorBox, fmtNumber, fmtTime, h, table } from "./dom.ts";

interface Dataset {
  name: string;
  path: string;
  kind: string;
  latestSeq: number;
  createdAt: string;
}
interface Version {
  seq: number;
  id: string;
  size: number;
  fileCount: number;
  message: string;
  createdAt: string;
  createdBy: string;
}
interface ColumnProfile {
  name: string;
  type: string;
  count: number;
  missing: number;
  distinct: number;
  min?: number | string;
  max?: number | string;
  mean?: number;
  std?: number;
  top?: Array<{ value: string; count: number }>;
}
interface Diff {
  from: string;
  to: string;
  added: Array<{ path: string; sizeAfter?: number }>;
  removed: Array<{ path: string; sizeBefore?: number }>;
  changed: Array<{ path: string; sizeBefore?: number; sizeAfter?: number }>;
  unchanged: number;
  tables: Array<{
    path: string;
    rowsBefore: number | null;
    rowsAfter: number | null;
    columns: Array<{ column: string; change: string; stats?: Record<string, [unknown, unknown]> }>;
  }>;
}

export async function dataPage(root: HTMLElement, selected?: string): Promise<void> {
  const { datasets } = await api<{ datasets: Dataset[] }>("GET", "/api/v1/ui/datasets");
  const detail = h("div", { id: "dataset-detail" });
  root.replaceChildren(
    h("h1", {}, "Data"),
    datasets.length === 0
      ? h("p", { class: "muted" }, "No datasets. Version one with loopml data add PATH.")
      : table(
          "datasets",
          "Datasets",
          ["dataset", "path", "kind", "versions", "created"],
          datasets.map((d) => [
            h("a", { href: `#/data/${encodeURIComponent(d.name)}` }, d.name),
            d.path,
            d.kind,
            String(d.latestSeq),
            d.createdAt.replace("T", " ").slice(0, 19),
          ]),
        ),
    detail,
  );
  const name = selected ?? datasets[0]?.name;
  if (name) await datasetDetail(detail, name);
}

async function datasetDetail(box: HTMLElement, name: string): Promise<void> {
  const enc = encodeURIComponent(name);
  const { versions } = await api<{ versions: Version[] }>("GET", `/api/v1/ui/datasets/${enc}/versions`);
  const options = (id: string, pickSeq: number | undefined) =>
    h(
      "select",
      { id },
      ...versions.map((v) =>
        h("option", { value: v.seq, selected: v.seq === pickSeq }, `@${v.seq} ${v.message}`),
      ),
    );
  const latest = versions.at(-1)?.seq;
  const show = options("profile-version", latest);
  const from = options("diff-from", versions.at(-2)?.seq ?? latest);
  const to = options("diff-to", latest);
  const profileBox = h("div", { id: "profile" });
  const diffBox = h("div", { id: "diff", "aria-live": "polite" });

  async function showProfile(): Promise<void> {
    try {
      const v = await api<{
        fileCount: number;
        files: Array<{ path: string; size: number }>;
        tables: Record<string, { rows: number; columns: ColumnProfile[] }>;
      }>("GET", `/api/v1/ui/datasets/${enc}/versions/${show.value}`);
      const tables = Object.entries(v.tables);
      profileBox.replaceChildren(
        h(
          "p",
          { class: "muted" },
          `${v.fileCount} files${v.fileCount > v.files.length ? ` (first ${v.files.length} listed)` : ""}: ${v.files.map((f) => f.path).join(", ")}`,
        ),
        ...(tables.length === 0
          ? [h("p", { class: "muted" }, "No CSV or Parquet files in this version, so no column profile.")]
          : tables.map(([path, t]) =>
              table(
                `profile-${path}`,
                `${path}: ${fmtNumber(t.rows)} rows`,
                ["column", "type", "missing", "distinct", "min", "max", "mean", "std", "most frequent"],
                t.columns.map((c) => [
                  c.name,
                  c.type,
                  `${c.missing} (${((c.missing / Math.max(1, c.count)) * 100).toFixed(1)}%)`,
                  fmtNumber(c.distinct),
                  fmtNumber(c.min ?? null),
                  fmtNumber(c.max ?? null),
                  fmtNumber(c.mean ?? null),
                  fmtNumber(c.std ?? null),
                  (c.top ?? [])
                    .slice(0, 3)
                    .map((x) => `${x.value} (${x.count})`)
                    .join(", "),
                ]),
              ),
            )),
      );
    } catch (e) {
      profileBox.replaceChildren(errorBox(e));
    }
  }
  async function showDiff(): Promise<void> {
    try {
      const d = await api<Diff>("GET", `/api/v1/ui/datasets/${enc}/diff?from=${from.value}&to=${to.value}`);
      const files = [
        ...d.added.map((f) => [f.path, "+ added", "", fmtNumber(f.sizeAfter ?? null)]),
        ...d.removed.map((f) => [f.path, "− removed", fmtNumber(f.sizeBefore ?? null), ""]),
        ...d.changed.map((f) => [
          f.path,
          "± changed",
          fmtNumber(f.sizeBefore ?? null),
          fmtNumber(f.sizeAfter ?? null),
        ]),
      ];
      diffBox.replaceChildren(
        table(
          "diff-files",
          `${d.from} → ${d.to}: ${files.length} files differ, ${d.unchanged} unchanged`,
          ["file", "change", "bytes before", "bytes after"],
          files,
        ),
        ...d.tables.map((t) =>
          table(
            `diff-table-${t.path}`,
            `${t.path}: rows ${fmtNumber(t.rowsBefore)} → ${fmtNumber(t.rowsAfter)}`,
            ["column", "change", "statistics that moved (before → after)"],
            t.columns.map((c) => [
              c.column,
              c.change,
              Object.entries(c.stats ?? {})
                .map(
                  ([k, [a, b]]) =>
                    `${k}: ${fmtNumber(a as number | string | null)} → ${fmtNumber(b as number | string | null)}`,
                )
                .join("; "),
            ]),
          ),
        ),
      );
    } catch (e) {
      diffBox.replaceChildren(errorBox(e));
    }
  }
  show.addEventListener("change", () => void showProfile());
  box.replaceChildren(
    h(
      "section",
      { class: "card" },
      h("h2", {}, name),
      table(
        "dataset-versions",
        "Versions",
        ["version", "id", "files", "bytes", "message", "created", "by"],
        versions.map((v) => [
          `@${v.seq}`,
          h("code", {}, v.id.slice(0, 12)),
          String(v.fileCount),
          fmtNumber(v.size),
          v.message,
          fmtTime(Date.parse(v.createdAt)),
          v.createdBy,
        ]),
      ),
      h("h3", {}, "Column profile"),
      h("label", { for: "profile-version" }, "Version ", show),
      profileBox,
      h("h3", {}, "Diff"),
      h(
        "form",
        {
          class: "toolbar",
          onsubmit: (ev: Event) => {
            ev.preventDefault();
            void showDiff();
          },
        },
        h("label", { for: "diff-from" }, "From", from),
        h("label", { for: "diff-to" }, "To", to),
        h("button", { type: "submit" }, "Compare versions"),
      ),
      diffBox,
    ),
  );
  await Promise.all([showProfile(), versions.length > 1 ? showDiff() : Promise.resolve()]);
}
