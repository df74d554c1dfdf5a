// data gc: delete the chunks no version references, never one written or reused after gc started.
import type { Kysely } from "kysely";
import { LoopmlError } from "../errors.ts";
import type { Database } from "../store/types.ts";
import type { DataInternals } from "./add.ts";
import { blobsOf } from "./manifest.ts";
import { modelPins, pinnedSeqs } from "./pins.ts";
import { GC_RUNNING_KEY, GC_FINISHED_KEY, readMeta, toVersion, writeMeta } from "./repo.ts";
import type { DatasetVersion } from "./types.ts";

/** A gc lock older than this was left by a crashed gc and is ignored. */
export const GC_LOCK_STALE_MS = 3600_000;

export interface GcOptions {
  readonly dryRun?: boolean;
  /**
   * Retention: keep only the newest N versions of each dataset. Older versions are dropped (their
   * records too) unless a registered model's lineage names them: those stay, bytes and record.
   * Absent: every version is kept.
   */
  readonly keepLast?: number;
}

export interface GcResult {
  readonly dryRun: boolean;
  /** Blobs that are (or would be) deleted. */
  readonly deleted: readonly string[];
  readonly bytes: number;
  /** Blobs kept because a version references them. */
  readonly kept: number;
  /** Versions (NAME@SEQ) that fell out of --keep-last and are (or would be) dropped. */
  readonly dropped: readonly string[];
  /** Versions beyond --keep-last kept because model versions (model@N) cite them in their lineage. */
  readonly pinned: readonly { readonly version: string; readonly by: readonly string[] }[];
}

export function gcRunning(value: string | undefined, nowMs: number): boolean {
  return value !== undefined && nowMs - Number(value) < GC_LOCK_STALE_MS;
}

/**
 * Only blobs registered by the data module are candidates (the blob store is shared with models
 * and run artifacts), and only those last touched before gc started: an add that wrote or reused
 * a chunk after that point keeps it. An add cannot commit while gc runs, and an add that overlapped
 * a gc rechecks that its chunks still exist in its commit transaction (see add.ts).
 */
export async function gcData(ctx: DataInternals, opts: GcOptions = {}): Promise<GcResult> {
  const { ws } = ctx;
  const dryRun = opts.dryRun === true;
  const keepLast = opts.keepLast;
  if (keepLast !== undefined && !(Number.isInteger(keepLast) && keepLast >= 1)) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `--keep-last must be a whole number of versions, at least 1 (got ${String(keepLast)}).`,
    );
  }
  const startedMs = Date.now();
  if (!dryRun) {
    await ws.store.transaction(async (tx) => {
      if (gcRunning(await readMeta(tx, GC_RUNNING_KEY), startedMs)) {
        throw new LoopmlError("CONFLICT", "Another loopml data gc is running: wait for it to finish.");
      }
      await writeMeta(tx, GC_RUNNING_KEY, String(startedMs));
    });
  }
  try {
    let retention: Retention = { keep: [], drop: [], pinned: [] };
    if (dryRun) retention = await planRetention(ws.store.db, keepLast);
    else {
      // Pins are read in the same serialisable transaction that drops: a model registered meanwhile
      // either commits first (and its versions are kept) or sees them gone.
      retention = await ws.store.transaction(async (tx) => {
        const plan = await planRetention(tx, keepLast);
        await dropVersions(ctx, tx, plan.drop, keepLast);
        return plan;
      });
    }
    const reachable = new Set<string>();
    for (const v of retention.keep) {
      reachable.add(v.id);
      if (v.profileId !== null) reachable.add(v.profileId);
      for (const b of blobsOf(await ctx.readManifest(v.id))) reachable.add(b);
    }
    const candidates = await ws.store.db
      .selectFrom("data_blobs")
      .select(["id", "size"])
      .where("touched_at_ms", "<", startedMs)
      .execute();
    const dropped = retention.drop.map((v) => `${v.dataset}@${v.seq}`);
    const deleted: string[] = [];
    let bytes = 0;
    for (const c of candidates) {
      const id = c.id.trim();
      if (reachable.has(id)) continue;
      const size = await ws.blobs.stat(id);
      if (!dryRun) {
        // drop the registry row first: a crash between the two leaves an orphan blob, never a dangling row
        const gone = await ws.store.db
          .deleteFrom("data_blobs")
          .where("id", "=", c.id)
          .where("touched_at_ms", "<", startedMs)
          .executeTakeFirst();
        // an add wrote or reused it since gc listed the candidates: it is no longer garbage
        if (Number(gone.numDeletedRows) === 0) continue;
        await ws.blobs.delete(id);
      }
      deleted.push(id);
      bytes += size ?? 0;
    }
    if (!dryRun) {
      await ws.store.transaction(async (tx) => {
        await writeMeta(tx, GC_RUNNING_KEY, undefined);
        await writeMeta(tx, GC_FINISHED_KEY, String(Date.now()));
        await ws.audit.append(tx, {
          actor: ws.config.actor,
          action: "data.gc",
          target: "dataset:*",
          details: { deleted: deleted.length, bytes, dropped: dropped.length },
        });
      });
    }
    return { dryRun, deleted, bytes, kept: reachable.size, dropped, pinned: retention.pinned };
  } catch (e) {
    if (!dryRun)
      await ws.store.transaction(async (tx) => {
        await writeMeta(tx, GC_RUNNING_KEY, undefined);
        await writeMeta(tx, GC_FINISHED_KEY, String(Date.now()));
      });
    throw e;
  }
}

interface Retention {
  readonly keep: DatasetVersion[];
  readonly drop: DatasetVersion[];
  readonly pinned: { version: string; by: string[] }[];
}

/** Which versions stay: all of them, or per dataset the newest `keepLast` plus the model-pinned ones. */
async function planRetention(db: Kysely<Database>, keepLast: number | undefined): Promise<Retention> {
  const rows = await db
    .selectFrom("dataset_versions")
    .selectAll()
    .orderBy("dataset")
    .orderBy("seq")
    .execute();
  const all = rows.map(toVersion);
  if (keepLast === undefined) return { keep: all, drop: [], pinned: [] };
  const pins = await modelPins(db);
  const byDataset = new Map<string, DatasetVersion[]>();
  for (const v of all) byDataset.set(v.dataset, [...(byDataset.get(v.dataset) ?? []), v]);
  const out: Retention = { keep: [], drop: [], pinned: [] };
  for (const [name, versions] of byDataset) {
    const pinned = pinnedSeqs(
      versions,
      pins.filter((p) => p.dataset === name),
    );
    versions.forEach((v, i) => {
      if (i >= versions.length - keepLast) out.keep.push(v);
      else if (pinned.has(v.seq)) {
        out.keep.push(v);
        out.pinned.push({ version: `${name}@${v.seq}`, by: pinned.get(v.seq)! });
      } else out.drop.push(v);
    });
  }
  return out;
}

async function dropVersions(
  ctx: DataInternals,
  tx: Kysely<Database>,
  drop: readonly DatasetVersion[],
  keepLast: number | undefined,
): Promise<void> {
  const byDataset = new Map<string, DatasetVersion[]>();
  for (const v of drop) byDataset.set(v.dataset, [...(byDataset.get(v.dataset) ?? []), v]);
  for (const [name, versions] of byDataset) {
    await tx
      .deleteFrom("dataset_versions")
      .where("dataset", "=", name)
      .where(
        "seq",
        "in",
        versions.map((v) => v.seq),
      )
      .execute();
    await ctx.ws.audit.append(tx, {
      actor: ctx.ws.config.actor,
      action: "data.version.drop",
      target: `dataset:${name}`,
      details: {
        keepLast: keepLast ?? null,
        seqs: versions.map((v) => v.seq),
        ids: versions.map((v) => v.id),
      },
    });
  }
}
