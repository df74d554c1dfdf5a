// Dataset versions that registered models cite in their lineage: gc must keep their bytes.
import type { Kysely } from "kysely";
import type { Database } from "../store/types.ts";
import type { DatasetVersion } from "./types.ts";

export interface VersionPin {
  readonly dataset: string;
  /** What the lineage says: a sequence number, "latest" or an id prefix. */
  readonly version: string;
  /** "model@3", the model version that cites it. */
  readonly by: string;
}

const BATCH = 500;

/**
 * Every dataset version a registered model version names, directly (model_versions.datasets) or
 * through the run that produced it (run_inputs): what `loopml models lineage` traces back to.
 * Reads the registry and tracking tables only.
 */
export async function modelPins(db: Kysely<Database>): Promise<VersionPin[]> {
  const rows = await db
    .selectFrom("model_versions")
    .select(["model", "version", "datasets", "run_id"])
    .execute();
  const pins: VersionPin[] = [];
  const byRun = new Map<string, string[]>();
  for (const r of rows) {
    const by = `${r.model}@${r.version}`;
    for (const d of parseRefs(r.datasets)) pins.push({ ...d, by });
    if (r.run_id !== null) byRun.set(r.run_id, [...(byRun.get(r.run_id) ?? []), by]);
  }
  const runIds = [...byRun.keys()];
  for (let i = 0; i < runIds.length; i += BATCH) {
    const inputs = await db
      .selectFrom("run_inputs")
      .select(["run_id", "dataset", "version"])
      .where("run_id", "in", runIds.slice(i, i + BATCH))
      .execute();
    for (const inp of inputs) {
      for (const by of byRun.get(inp.run_id) ?? []) {
        pins.push({ dataset: inp.dataset, version: inp.version, by });
      }
    }
  }
  return pins;
}

function parseRefs(json: string): { dataset: string; version: string }[] {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return [];
  }
  if (!Array.isArray(v)) return [];
  return v.flatMap((d: unknown) => {
    const r = d as { dataset?: unknown; version?: unknown };
    return typeof r.dataset === "string" && (typeof r.version === "string" || typeof r.version === "number")
      ? [{ dataset: r.dataset, version: String(r.version) }]
      : [];
  });
}

/** The versions of one dataset (sorted by seq) that a pin names; an unresolvable pin names none. */
export function pinnedSeqs(
  versions: readonly DatasetVersion[],
  pins: readonly VersionPin[],
): Map<number, string[]> {
  const out = new Map<number, string[]>();
  const add = (seq: number, by: string): void => {
    const list = out.get(seq) ?? [];
    if (!list.includes(by)) out.set(seq, [...list, by]);
  };
  const latest = versions.at(-1);
  for (const p of pins) {
    const v = p.version.trim();
    if (v === "latest" || v === "") {
      if (latest) add(latest.seq, p.by);
    } else if (/^\d+$/.test(v)) {
      if (versions.some((x) => x.seq === Number(v))) add(Number(v), p.by);
    } else if (/^[0-9a-f]{6,64}$/.test(v)) {
      for (const x of versions) if (x.id.startsWith(v)) add(x.seq, p.by);
    }
  }
  return out;
}
