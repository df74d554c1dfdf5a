// Step inputs and outputs as content ids: hashing files and folders, storing them as blobs, restoring them.
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, type Stats } from "node:fs";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { pipeline as pipeStreams } from "node:stream/promises";
import { canonicalJson, sha256Hex } from "../_internal/hash.ts";
import { LoopmlError } from "../errors.ts";
import type { BlobStore } from "../store/types.ts";
import type { FolderManifest, OutputRef } from "./types.ts";

const MANIFEST_KIND = "loopml.folder/v1";

/** Hashes a file or folder; undefined when it does not exist. A folder's id is that of its manifest. */
export async function hashPath(abs: string): Promise<{ kind: "file" | "folder"; id: string } | undefined> {
  const st = await statOrUndefined(abs);
  if (!st) return undefined;
  if (st.isDirectory()) return { kind: "folder", id: sha256Hex(manifestBytes(await folderManifest(abs))) };
  return { kind: "file", id: await hashFile(abs) };
}

/** Stores a written output as blobs; undefined when the step did not write it. */
export async function storeOutput(
  blobs: BlobStore,
  abs: string,
  path: string,
): Promise<OutputRef | undefined> {
  const st = await statOrUndefined(abs);
  if (!st) return undefined;
  if (!st.isDirectory()) return { path, kind: "file", id: (await blobs.putFile(abs)).id };
  const entries: { path: string; id: string; size: number }[] = [];
  for (const rel of await listFiles(abs)) {
    const info = await blobs.putFile(join(abs, rel));
    entries.push({ path: rel, id: info.id, size: info.size });
  }
  const manifest: FolderManifest = { kind: MANIFEST_KIND, entries };
  return { path, kind: "folder", id: (await blobs.put(manifestBytes(manifest))).id };
}

/** Puts a stored output back in the workspace, unless identical content is already there. */
export async function restoreOutput(blobs: BlobStore, abs: string, ref: OutputRef): Promise<boolean> {
  const current = await hashPath(abs);
  if (current?.id === ref.id && current.kind === ref.kind) return false;
  await rm(abs, { recursive: true, force: true });
  if (ref.kind === "file") {
    await writeBlob(blobs, ref.id, abs);
    return true;
  }
  const manifest = JSON.parse((await blobs.getBytes(ref.id)).toString("utf8")) as FolderManifest;
  if (manifest.kind !== MANIFEST_KIND)
    throw new LoopmlError(
      "INTERNAL",
      `Blob ${ref.id} is not a folder manifest: the cache entry for "${ref.path}" is corrupt.`,
    );
  await mkdir(abs, { recursive: true });
  for (const e of manifest.entries) await writeBlob(blobs, e.id, join(abs, e.path));
  return true;
}

/** Whether every blob an output needs is present (a shared cache may have been pruned). */
export async function outputAvailable(blobs: BlobStore, ref: OutputRef): Promise<boolean> {
  if (!(await blobs.has(ref.id))) return false;
  if (ref.kind === "file") return true;
  const manifest = JSON.parse((await blobs.getBytes(ref.id)).toString("utf8")) as FolderManifest;
  for (const e of manifest.entries) if (!(await blobs.has(e.id))) return false;
  return true;
}

async function writeBlob(blobs: BlobStore, id: string, abs: string): Promise<void> {
  await mkdir(dirname(abs), { recursive: true });
  // Write beside, then rename: a crash never leaves a half-restored file that looks complete.
  const tmp = `${abs}.loopml-tmp-${process.pid}`;
  try {
    await pipeStreams(blobs.get(id), createWriteStream(tmp));
    await rename(tmp, abs);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

async function folderManifest(abs: string): Promise<FolderManifest> {
  const entries: { path: string; id: string; size: number }[] = [];
  for (const rel of await listFiles(abs)) {
    const full = join(abs, rel);
    entries.push({ path: rel, id: await hashFile(full), size: (await stat(full)).size });
  }
  return { kind: MANIFEST_KIND, entries };
}

/** Files below a folder, relative, "/"-separated, sorted so that the manifest is canonical. */
async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const items = await readdir(rel === "" ? root : join(root, rel), { withFileTypes: true });
    for (const item of items) {
      const r = rel === "" ? item.name : `${rel}/${item.name}`;
      if (item.isDirectory()) await walk(r);
      else if (item.isFile() || (item.isSymbolicLink() && (await stat(join(root, r))).isFile())) out.push(r);
    }
  };
  await walk("");
  return out.sort();
}

function manifestBytes(m: FolderManifest): Buffer {
  return Buffer.from(canonicalJson(m), "utf8");
}

async function hashFile(abs: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(abs)) h.update(chunk as Buffer);
  return h.digest("hex");
}

async function statOrUndefined(abs: string): Promise<Stats | undefined> {
  try {
    return await stat(abs);
  } catch (e) {
    // A dangling symlink counts as absent, like a missing file.
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}
