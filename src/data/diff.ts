// Pure comparison of two versions: files added/removed/changed and, for tables, rows, schema and statistics.
import type {
  ColumnChange,
  ColumnProfile,
  FileChange,
  Manifest,
  TableChange,
  TableProfile,
  VersionDiff,
  VersionProfile,
} from "./types.ts";

/** A statistic "moved" when it differs by more than this fraction of the larger magnitude. */
const STAT_TOLERANCE = 1e-9;
const NUMERIC_STATS = ["count", "missing", "distinct", "min", "max", "mean", "std"] as const;

export function diffVersions(
  from: { label: string; manifest: Manifest; profile: VersionProfile | undefined },
  to: { label: string; manifest: Manifest; profile: VersionProfile | undefined },
): VersionDiff {
  const a = new Map(from.manifest.files.map((f) => [f.path, f]));
  const b = new Map(to.manifest.files.map((f) => [f.path, f]));
  const added: FileChange[] = [];
  const removed: FileChange[] = [];
  const changed: FileChange[] = [];
  let unchanged = 0;
  for (const [path, fb] of b) {
    const fa = a.get(path);
    if (!fa) added.push({ path, sizeAfter: fb.size });
    else if (fa.digest !== fb.digest || fa.mode !== fb.mode)
      changed.push({ path, sizeBefore: fa.size, sizeAfter: fb.size });
    else unchanged++;
  }
  for (const [path, fa] of a) if (!b.has(path)) removed.push({ path, sizeBefore: fa.size });

  const tables: TableChange[] = [];
  const ta = from.profile?.tables ?? {};
  const tb = to.profile?.tables ?? {};
  for (const path of [...new Set([...Object.keys(ta), ...Object.keys(tb)])].sort()) {
    const change = diffTables(path, ta[path], tb[path]);
    if (change) tables.push(change);
  }
  return { from: from.label, to: to.label, added, removed, changed, unchanged, tables };
}

export function diffTables(
  path: string,
  a: TableProfile | undefined,
  b: TableProfile | undefined,
): TableChange | undefined {
  const columns: ColumnChange[] = [];
  const ca = new Map((a?.columns ?? []).map((c) => [c.name, c]));
  const cb = new Map((b?.columns ?? []).map((c) => [c.name, c]));
  for (const [name, y] of cb) {
    const x = ca.get(name);
    if (!x) columns.push({ column: name, change: "added", typeAfter: y.type });
    else if (x.type !== y.type || x.sourceType !== y.sourceType)
      columns.push({ column: name, change: "retyped", typeBefore: x.type, typeAfter: y.type });
    else {
      const stats = statChanges(x, y);
      if (Object.keys(stats).length > 0) columns.push({ column: name, change: "stats", stats });
    }
  }
  for (const [name, x] of ca)
    if (!cb.has(name)) columns.push({ column: name, change: "removed", typeBefore: x.type });
  const rowsBefore = a?.rows ?? null;
  const rowsAfter = b?.rows ?? null;
  if (columns.length === 0 && rowsBefore === rowsAfter) return undefined;
  return { path, rowsBefore, rowsAfter, columns };
}

function moved(x: number | string | undefined, y: number | string | undefined): boolean {
  if (typeof x === "number" && typeof y === "number") {
    return Math.abs(x - y) > STAT_TOLERANCE * Math.max(Math.abs(x), Math.abs(y), 1);
  }
  return x !== y;
}

function statChanges(
  x: ColumnProfile,
  y: ColumnProfile,
): Record<string, readonly [number | string | null, number | string | null]> {
  const out: Record<string, readonly [number | string | null, number | string | null]> = {};
  for (const k of NUMERIC_STATS) {
    if (moved(x[k], y[k])) out[k] = [x[k] ?? null, y[k] ?? null];
  }
  for (const q of ["p50"]) {
    const qx = x.quantiles?.[q];
    const qy = y.quantiles?.[q];
    if (moved(qx, qy)) out[q] = [qx ?? null, qy ?? null];
  }
  const topX = x.top?.[0];
  const topY = y.top?.[0];
  if (topX?.value !== topY?.value) out["mode"] = [topX?.value ?? null, topY?.value ?? null];
  return out;
}
