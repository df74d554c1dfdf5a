// Run artifacts: files and folders stored as content-addressed blobs, indexed by a validated relative path.
import { readdir, stat } from "node:fs/promises";
import { basename, join, relative, sep } from "node:path";
import type { Readable } from "node:stream";
import { LoopmlError } from "../errors.ts";
import type { Workspace } from "../workspace.ts";
import { requireRun } from "./read.ts";
import type { ArtifactEntry } from "./types.ts";
import { checkArtifactPath } from "./validate.ts";

export interface ArtifactOps {
  /** Stores a file, or every file under a folder, as blobs; returns the entries written. */
  logArtifact(runId: string, localPath: string, artifactPath?: string): Promise<ArtifactEntry[]>;
  /** Stores bytes under a path (the HTTP artifact upload). */
  putArtifact(runId: string, artifactPath: string, bytes: Uint8Array): Promise<ArtifactEntry>;
  /** Entries whose path starts with `prefix` (a folder), sorted by path. */
  listArtifacts(runId: string, prefix?: string): Promise<ArtifactEntry[]>;
  openArtifact(runId: string, artifactPath: string): Promise<{ entry: ArtifactEntry; stream: Readable }>;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    if (d.isDirectory()) out.push(...(await filesUnder(p)));
    else if (d.isFile()) out.push(p);
  }
  return out;
}

export function createArtifactOps(
  deps: Pick<Workspace, "store" | "blobs" | "audit" | "clock">,
  actor: string,
): ArtifactOps {
  const { store, blobs, audit, clock } = deps;

  async function record(runId: string, entries: ArtifactEntry[]): Promise<void> {
    const now = clock.now();
    await store.transaction(async (tx) => {
      await requireRun(tx, runId);
      for (const e of entries) {
        await tx
          .insertInto("run_artifacts")
          .values({ run_id: runId, path: e.path, blob_id: e.blobId, size: e.size, created_at: now })
          .onConflict((oc) =>
            oc.columns(["run_id", "path"]).doUpdateSet({ blob_id: e.blobId, size: e.size, created_at: now }),
          )
          .execute();
      }
      await audit.append(tx, {
        actor,
        action: "run.log-artifacts",
        target: `run:${runId}`,
        details: {
          artifacts: entries.slice(0, 100).map((e) => ({ path: e.path, blob: e.blobId })),
          count: entries.length,
        },
      });
    });
  }

  return {
    logArtifact: async (runId, localPath, artifactPath) => {
      const base = checkArtifactPath(artifactPath ?? basename(localPath));
      await requireRun(store.db, runId);
      let info;
      try {
        info = await stat(localPath);
      } catch {
        throw new LoopmlError("NOT_FOUND", `Cannot log artifact: "${localPath}" does not exist.`, {
          path: localPath,
        });
      }
      const files = info.isDirectory() ? await filesUnder(localPath) : [localPath];
      const entries: ArtifactEntry[] = [];
      // Blobs go in first, outside the transaction: a blob without a row is garbage, never a broken row.
      for (const f of files) {
        const rel = info.isDirectory() ? `${base}/${relative(localPath, f).split(sep).join("/")}` : base;
        const blob = await blobs.putFile(f);
        entries.push({ path: checkArtifactPath(rel), blobId: blob.id, size: blob.size });
      }
      await record(runId, entries);
      return entries;
    },
    putArtifact: async (runId, artifactPath, bytes) => {
      const path = checkArtifactPath(artifactPath);
      await requireRun(store.db, runId);
      const blob = await blobs.put(bytes);
      const entry = { path, blobId: blob.id, size: blob.size };
      await record(runId, [entry]);
      return entry;
    },
    listArtifacts: async (runId, prefix) => {
      await requireRun(store.db, runId);
      let q = store.db
        .selectFrom("run_artifacts")
        .select(["path", "blob_id", "size"])
        .where("run_id", "=", runId);
      if (prefix !== undefined && prefix !== "") {
        const p = checkArtifactPath(prefix);
        q = q.where((eb) => eb.or([eb("path", "=", p), eb("path", "like", `${p.replace(/[%_]/g, "")}/%`)]));
      }
      const rows = await q.orderBy("path").execute();
      return rows.map((r) => ({ path: r.path, blobId: r.blob_id, size: Number(r.size) }));
    },
    openArtifact: async (runId, artifactPath) => {
      const path = checkArtifactPath(artifactPath);
      await requireRun(store.db, runId);
      const row = await store.db
        .selectFrom("run_artifacts")
        .select(["path", "blob_id", "size"])
        .where("run_id", "=", runId)
        .where("path", "=", path)
        .executeTakeFirst();
      if (!row) {
        throw new LoopmlError(
          "NOT_FOUND",
          `Run ${runId} has no artifact "${path}". List them with loopml runs show ${runId}.`,
          {
            runId,
            path,
          },
        );
      }
      return {
        entry: { path: row.path, blobId: row.blob_id, size: Number(row.size) },
        stream: blobs.get(row.blob_id),
      };
    },
  };
}
