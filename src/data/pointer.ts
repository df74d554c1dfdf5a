// The files data add leaves for git: the NAME.loopml.json pointer beside the data and a .gitignore line.
import { randomBytes } from "node:crypto";
import { readFile, rename, rm, writeFile, appendFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Dataset, DatasetVersion, PointerFile } from "./types.ts";
import { POINTER_SUFFIX } from "./walk.ts";

/** Write-then-rename, so a reader (or a crash) never sees half a file. */
export async function writeFileAtomic(path: string, content: string | Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${randomBytes(6).toString("hex")}.loopml-tmp`);
  try {
    await writeFile(tmp, content, { flag: "wx" });
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

export function pointerPath(projectDir: string, ds: Pick<Dataset, "name" | "path">): string {
  return join(projectDir, dirname(ds.path), `${ds.name}${POINTER_SUFFIX}`);
}

export async function writePointer(
  projectDir: string,
  ds: Pick<Dataset, "name" | "path">,
  v: DatasetVersion,
): Promise<string> {
  const pointer: PointerFile = {
    dataset: ds.name,
    version: v.id,
    seq: v.seq,
    path: ds.path,
    size: v.size,
    files: v.fileCount,
    ...(v.profileId !== null && { profile: v.profileId }),
  };
  const path = pointerPath(projectDir, ds);
  await writeFileAtomic(path, `${JSON.stringify(pointer, null, 2)}\n`);
  return path;
}

export async function readPointer(path: string): Promise<PointerFile | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as PointerFile;
  } catch {
    return undefined;
  }
}

/** Appends "/data/path" to the project's .gitignore unless an equal line is already there. */
export async function ensureGitignored(
  projectDir: string,
  relPath: string,
  folder: boolean,
): Promise<boolean> {
  const file = join(projectDir, ".gitignore");
  const line = `/${relPath}${folder ? "/" : ""}`;
  let text = "";
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  const lines = new Set(text.split(/\r?\n/).map((l) => l.trim()));
  if (lines.has(line) || lines.has(line.replace(/\/$/, "")) || lines.has(relPath)) return false;
  await appendFile(file, `${text === "" || text.endsWith("\n") ? "" : "\n"}${line}\n`);
  return true;
}
