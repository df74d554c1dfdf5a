// Version manifests: canonical JSON of files → chunk lists, whose blob id is the version id.
import { createHash } from "node:crypto";
import { canonicalJson } from "../_internal/hash.ts";
import { LoopmlError } from "../errors.ts";
import type { FileLocation, Manifest, ManifestFile } from "./types.ts";

export interface ManifestEntry {
  readonly path: string;
  readonly size: number;
  readonly mode: number;
  readonly digest: string;
  readonly location: FileLocation;
}

/** sha256 over the raw 32-byte chunk digests, in order. */
export function fileDigest(chunkDigests: readonly Uint8Array[]): string {
  const h = createHash("sha256");
  for (const d of chunkDigests) h.update(d);
  return h.digest("hex");
}

export function hexToBytes(hex: string): Buffer {
  return Buffer.from(hex, "hex");
}

export function buildManifest(kind: "file" | "folder", entries: readonly ManifestEntry[]): Manifest {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const packs: string[] = [];
  const packIndex = new Map<string, number>();
  let size = 0;
  const files = sorted.map((e): ManifestFile => {
    size += e.size;
    const base = { path: e.path, size: e.size, mode: e.mode, digest: e.digest };
    if ("chunks" in e.location) return { ...base, chunks: e.location.chunks };
    let idx = packIndex.get(e.location.pack);
    if (idx === undefined) {
      idx = packs.length;
      packs.push(e.location.pack);
      packIndex.set(e.location.pack, idx);
    }
    return { ...base, pack: idx, offset: e.location.offset };
  });
  return { format: 1, kind, size, packs, files };
}

export function encodeManifest(m: Manifest): Buffer {
  return Buffer.from(canonicalJson(m), "utf8");
}

export function decodeManifest(bytes: Uint8Array, id: string): Manifest {
  let m: unknown;
  try {
    m = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (e) {
    throw new LoopmlError("INTERNAL", `Manifest ${id} is not JSON.`, { id }, { cause: e });
  }
  const ok =
    typeof m === "object" &&
    m !== null &&
    (m as Manifest).format === 1 &&
    Array.isArray((m as Manifest).files) &&
    Array.isArray((m as Manifest).packs);
  if (!ok) throw new LoopmlError("INTERNAL", `Blob ${id} is not a loopml data manifest.`, { id });
  return m as Manifest;
}

export function locationOf(m: Manifest, f: ManifestFile): FileLocation {
  if (f.chunks) return { chunks: f.chunks };
  const pack = f.pack === undefined ? undefined : m.packs[f.pack];
  if (pack === undefined || f.offset === undefined) {
    throw new LoopmlError("INTERNAL", `Manifest entry ${f.path} names neither chunks nor a pack.`);
  }
  return { pack, offset: f.offset };
}

/** Every blob a manifest needs: its chunks and packs. */
export function blobsOf(m: Manifest): Set<string> {
  const out = new Set<string>(m.packs);
  for (const f of m.files) for (const c of f.chunks ?? []) out.add(c);
  return out;
}

/** Same content (paths, sizes, modes, digests), whatever the storage layout. */
export function sameContent(a: Manifest, b: Manifest): boolean {
  if (a.kind !== b.kind || a.files.length !== b.files.length) return false;
  for (let i = 0; i < a.files.length; i++) {
    const x = a.files[i]!;
    const y = b.files[i]!;
    if (x.path !== y.path || x.size !== y.size || x.mode !== y.mode || x.digest !== y.digest) return false;
  }
  return true;
}
