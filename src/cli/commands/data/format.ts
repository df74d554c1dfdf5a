// Human-readable renderings of data results for the CLI (JSON output prints the values as they are).
import type { AddResult } from "../../../data/add.ts";
import type { CheckoutResult } from "../../../data/checkout.ts";
import type { VersionDetails } from "../../../data/service.ts";
import type { DataStatus, DatasetVersion, TableProfile, VersionDiff } from "../../../data/types.ts";
import { formatBytes, type Progress, createProgress } from "../../progress.ts";
import { table } from "../../output.ts";

export function short(id: string): string {
  return id.slice(0, 12);
}

/** A progress bar created on the first report, once the total is known. */
export function lazyProgress(label: string): { update(done: number, total: number): void; finish(): void } {
  let bar: Progress | undefined;
  return {
    update(done, total) {
      bar ??= createProgress({ label, total, unit: "bytes" });
      bar.update(done);
    },
    finish() {
      bar?.finish();
    },
  };
}

export function formatAdd(r: AddResult): string {
  const v = r.version;
  const head = `${v.dataset}@${v.seq} ${short(v.id)}  ${v.fileCount} file${v.fileCount === 1 ? "" : "s"}, ${formatBytes(v.size)}`;
  if (!r.created) return `${head}\nunchanged since ${v.dataset}@${v.seq}: no new version`;
  return [
    head,
    `read ${formatBytes(r.bytesRead)} from ${r.filesRead} file(s), stored ${formatBytes(r.bytesStored)} of new chunks`,
    `pointer: ${r.pointer} (commit it to git; the data path is in .gitignore)`,
  ].join("\n");
}

export function formatVersions(versions: readonly DatasetVersion[]): string {
  return table(
    ["VERSION", "ID", "SIZE", "FILES", "CREATED", "BY", "MESSAGE"],
    versions.map((v) => [
      `${v.dataset}@${v.seq}`,
      short(v.id),
      formatBytes(v.size),
      String(v.fileCount),
      v.createdAt,
      v.createdBy,
      v.message,
    ]),
  );
}

function fmtValue(v: number | string | undefined): string {
  if (v === undefined) return "";
  if (typeof v === "string") return v;
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
}

export function formatProfile(path: string, t: TableProfile): string {
  return [
    `${path}: ${t.rows} rows, ${t.columns.length} columns`,
    table(
      ["COLUMN", "TYPE", "MISSING", "DISTINCT", "MIN", "MAX", "MEAN", "STD", "TOP"],
      t.columns.map((c) => [
        c.name,
        c.type,
        String(c.missing),
        String(c.distinct),
        fmtValue(c.min),
        fmtValue(c.max),
        fmtValue(c.mean),
        fmtValue(c.std),
        (c.top ?? [])
          .slice(0, 3)
          .map((x) => `${x.value}(${x.count})`)
          .join(" "),
      ]),
    ),
  ].join("\n");
}

export function formatShow(d: VersionDetails): string {
  const v = d.version;
  const lines = [
    `${v.dataset}@${v.seq}  id ${v.id}`,
    `path ${d.dataset.path} (${d.dataset.kind}), ${v.fileCount} file(s), ${formatBytes(v.size)}`,
    `created ${v.createdAt} by ${v.createdBy}${v.parentSeq === null ? "" : `, parent ${v.dataset}@${v.parentSeq}`}`,
  ];
  if (v.message !== "") lines.push(`message: ${v.message}`);
  lines.push("");
  const files = d.manifest.files;
  lines.push(
    table(
      ["FILE", "SIZE", "CHUNKS"],
      files
        .slice(0, 20)
        .map((f) => [f.path, formatBytes(f.size), f.chunks ? String(f.chunks.length) : "packed"]),
    ),
  );
  if (files.length > 20) lines.push(`… and ${files.length - 20} more (use --json for all)`);
  for (const [path, t] of Object.entries(d.profile?.tables ?? {})) lines.push("", formatProfile(path, t));
  return lines.join("\n");
}

export function formatStatus(all: readonly DataStatus[]): string {
  if (all.length === 0) return "no datasets yet: add one with loopml data add PATH";
  return all
    .map((s) => {
      const head = `${s.dataset}@${s.seq} (${s.path}): ${s.clean ? "clean" : "changed"}`;
      const lines = [head];
      for (const p of s.added) lines.push(`  added     ${p}`);
      for (const p of s.modified) lines.push(`  modified  ${p}`);
      for (const p of s.removed) lines.push(`  removed   ${p}`);
      return lines.join("\n");
    })
    .join("\n");
}

export function formatCheckout(r: CheckoutResult): string {
  return `${r.version.dataset}@${r.version.seq} checked out to ${r.path}: ${r.written} file(s) written (${formatBytes(r.bytesWritten)}), ${r.unchanged} already right, ${r.removed.length} removed`;
}

export function formatDiff(d: VersionDiff): string {
  const lines = [`${d.from} → ${d.to}`];
  for (const f of d.added) lines.push(`  + ${f.path} (${formatBytes(f.sizeAfter ?? 0)})`);
  for (const f of d.removed) lines.push(`  - ${f.path} (${formatBytes(f.sizeBefore ?? 0)})`);
  for (const f of d.changed)
    lines.push(`  ~ ${f.path} (${formatBytes(f.sizeBefore ?? 0)} → ${formatBytes(f.sizeAfter ?? 0)})`);
  lines.push(`  ${d.unchanged} unchanged`);
  for (const t of d.tables) {
    lines.push("", `${t.path}: rows ${t.rowsBefore ?? "-"} → ${t.rowsAfter ?? "-"}`);
    for (const c of t.columns) {
      if (c.change === "stats") {
        const stats = Object.entries(c.stats ?? {})
          .map(([k, [a, b]]) => `${k} ${fmtValue(a ?? undefined)}→${fmtValue(b ?? undefined)}`)
          .join(", ");
        lines.push(`  ${c.column}: ${stats}`);
      } else if (c.change === "retyped")
        lines.push(`  ${c.column}: retyped ${c.typeBefore} → ${c.typeAfter}`);
      else lines.push(`  ${c.column}: ${c.change}${c.typeAfter ? ` (${c.typeAfter})` : ""}`);
    }
  }
  return lines.join("\n");
}
