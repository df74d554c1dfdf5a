// data gc: delete the chunks no version references, never one written or reused after gc started.
import { LoopmlError } from "../errors.ts";
import type { DataInternals } from "./add.ts";
import { blobsOf } from "./manifest.ts";
import { GC_RUNNING_KEY, GC_FINISHED_KEY, readMeta, writeMeta } from "./repo.ts";

/** A gc lock older than this was left by a crashed gc and is ignored. */
export const GC_LOCK_STALE_MS = 3600_000;

export interface GcOptions {
  readonly dryRun?: boolean;
}

export interface GcResult {
  readonly dryRun: boolean;
  /** Blobs that are (or would be) deleted. */
  readonly deleted: readonly string[];
  readonly bytes: number;
  /** Blobs kept because a version references them. */
  readonly kept: number;
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
    const reachable = new Set<string>();
    const versions = await ws.store.db.selectFrom("dataset_versions").select(["id", "profile_id"]).execute();
    for (const v of versions) {
      const id = v.id.trim();
      reachable.add(id);
      if (v.profile_id !== null) reachable.add(v.profile_id.trim());
      for (const b of blobsOf(await ctx.readManifest(id))) reachable.add(b);
    }
    const candidates = await ws.store.db
      .selectFrom("data_blobs")
      .select(["id", "size"])
      .where("touched_at_ms", "<", startedMs)
      .execute();
    const deleted: string[] = [];
    let bytes = 0;
    for (const c of candidates) {
      const id = c.id.trim();
      if (reachable.has(id)) continue;
      const size = await ws.blobs.stat(id);
      if (!dryRun) {
        // drop the registry row first: a crash between the two leaves an orphan blob, never a dangling row
        await ws.store.db
          .deleteFrom("data_blobs")
          .where("id", "=", c.id)
          .where("touched_at_ms", "<", startedMs)
          .execute();
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
          details: { deleted: deleted.length, bytes },
        });
      });
    }
    return { dryRun, deleted, bytes, kept: reachable.size };
  } catch (e) {
    if (!dryRun)
      await ws.store.transaction(async (tx) => {
        await writeMeta(tx, GC_RUNNING_KEY, undefined);
        await writeMeta(tx, GC_FINISHED_KEY, String(Date.now()));
      });
    throw e;
  }
}
