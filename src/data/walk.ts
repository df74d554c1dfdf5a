// Resolves a data path inside the project and lists its files, refusing escapes, outside symlinks and loops.
import { statSync, type Stats } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { LoopmlError } from "../errors.ts";

export interface DataPath {
  /** Absolute path as the user named it (symlinks not resolved). */
  readonly abs: string;
  /** Relative to the project folder, "/"-separated. */
  readonly rel: string;
  readonly kind: "file" | "folder";
}

/** The part of a stat that versioning needs: a Stats object fits, and so does a lean copy. */
export interface FileStat {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
  readonly mode: number;
}

export interface WalkedFile {
  /** Relative to the dataset root, "/"-separated; "" would never occur (a file dataset uses its base name). */
  readonly rel: string;
  readonly abs: string;
  /** stat of the file (symlinks followed). */
  readonly stat: FileStat;
}

/**
 * Keeps 4 numbers instead of a Stats object (with its four Date objects on Node 20): for 100k
 * files the retained Stats made garbage collection the largest cost of a re-add.
 */
function lean(st: Stats): FileStat {
  return { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, mode: st.mode };
}

/** Folders that are never data: loopml's own state and version control. */
const SKIP_DIRS = new Set([".loopml", ".git"]);
export const POINTER_SUFFIX = ".loopml.json";

export function toPosix(p: string): string {
  return sep === "/" ? p : p.split(sep).join("/");
}

function isInside(root: string, p: string): boolean {
  const r = relative(root, p);
  return r === "" || (!r.startsWith("..") && !isAbsolute(r));
}

function outside(path: string, projectDir: string): LoopmlError {
  return new LoopmlError(
    "INVALID_ARGUMENT",
    `${path} is outside the project folder ${projectDir}. Data must live inside the project: move or copy it there first.`,
    { path },
  );
}

function fsError(e: unknown, path: string): LoopmlError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT")
    return new LoopmlError("NOT_FOUND", `No file or folder at ${path}. Check the path and try again.`, {
      path,
    });
  if (code === "ELOOP")
    return new LoopmlError(
      "INVALID_ARGUMENT",
      `${path} is part of a symlink loop. Remove the loop and retry.`,
      {
        path,
      },
    );
  if (code === "EACCES" || code === "EPERM")
    return new LoopmlError("FAILED_PRECONDITION", `${path} is not readable (${code}). Fix its permissions.`, {
      path,
    });
  if (e instanceof LoopmlError) return e;
  return new LoopmlError(
    "INTERNAL",
    `Reading ${path} failed: ${(e as Error).message}`,
    { path },
    { cause: e },
  );
}

/** Checks that `input` names a file or folder inside the project, symlinks included. */
export async function resolveDataPath(projectDir: string, input: string): Promise<DataPath> {
  if (input.includes("\0")) throw new LoopmlError("INVALID_ARGUMENT", "A path cannot contain a NUL byte.");
  const abs = resolve(projectDir, input);
  if (!isInside(projectDir, abs)) throw outside(input, projectDir);
  let real: string;
  let st: Stats;
  try {
    const projectReal = await realpath(projectDir);
    real = await realpath(abs);
    if (!isInside(projectReal, real)) throw outside(`${input} (a symlink to ${real})`, projectDir);
    st = await stat(real);
  } catch (e) {
    throw fsError(e, input);
  }
  const rel = toPosix(relative(projectDir, abs));
  if (rel === "" || rel.split("/").some((part) => SKIP_DIRS.has(part))) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `${input} cannot be a dataset: name a file or a folder below the project folder (not the project itself, .loopml or .git).`,
    );
  }
  if (st.isFile()) return { abs, rel, kind: "file" };
  if (st.isDirectory()) return { abs, rel, kind: "folder" };
  throw new LoopmlError("INVALID_ARGUMENT", `${input} is neither a file nor a folder.`);
}

/**
 * Every regular file below a data path, sorted by path. Symlinks are followed when they stay inside
 * the project; a link to a folder that is already on the current path is a loop and is refused.
 */
export async function walkDataPath(projectDir: string, data: DataPath): Promise<WalkedFile[]> {
  const projectReal = await realpath(projectDir).catch((e: unknown) => {
    throw fsError(e, projectDir);
  });
  if (data.kind === "file") {
    const st = await stat(data.abs).catch((e: unknown) => {
      throw fsError(e, data.rel);
    });
    return [{ rel: data.rel.split("/").pop() ?? data.rel, abs: data.abs, stat: st }];
  }
  const out: WalkedFile[] = [];
  const rootReal = await realpath(data.abs).catch((e: unknown) => {
    throw fsError(e, data.rel);
  });

  async function visit(dirAbs: string, dirRel: string, ancestors: ReadonlySet<string>): Promise<void> {
    let entries;
    try {
      entries = await readdir(dirAbs, { withFileTypes: true });
    } catch (e) {
      throw fsError(e, join(data.rel, dirRel));
    }
    for (const entry of entries) {
      // plain concatenation: path.join's normalising cost more than the stat for 100k files
      const abs = dirAbs + sep + entry.name;
      const rel = dirRel === "" ? entry.name : `${dirRel}/${entry.name}`;
      const shown = `${data.rel}/${rel}`;
      if (entry.isDirectory()) {
        if (SKIP_DIRS.has(entry.name)) continue;
        const real = await realpath(abs).catch((e: unknown) => Promise.reject(fsError(e, shown)));
        await visit(abs, rel, new Set([...ancestors, real]));
      } else if (entry.isFile()) {
        if (entry.name.endsWith(POINTER_SUFFIX)) continue;
        // synchronous stat: for 100k files the promise overhead of fs.promises.stat dominates
        let st: Stats;
        try {
          st = statSync(abs);
        } catch (e) {
          throw fsError(e, shown);
        }
        out.push({ rel, abs, stat: lean(st) });
      } else if (entry.isSymbolicLink()) {
        let real: string;
        let st: Stats;
        try {
          real = await realpath(abs);
          st = await stat(real);
        } catch (e) {
          throw fsError(e, shown);
        }
        if (!isInside(projectReal, real)) throw outside(`${shown} (a symlink to ${real})`, projectDir);
        if (st.isDirectory()) {
          if (ancestors.has(real) || isInside(real, rootReal)) {
            throw new LoopmlError(
              "INVALID_ARGUMENT",
              `${shown} is a symlink loop: it points back to ${real}, which contains it. Remove the link and retry.`,
              { path: shown },
            );
          }
          await visit(abs, rel, new Set([...ancestors, real]));
        } else if (st.isFile()) {
          out.push({ rel, abs, stat: lean(st) });
        } else {
          throw new LoopmlError("INVALID_ARGUMENT", `${shown} is neither a file nor a folder.`);
        }
      } else {
        throw new LoopmlError(
          "INVALID_ARGUMENT",
          `${shown} is a special file (socket, pipe or device): it cannot be versioned. Move it out of the data folder.`,
        );
      }
    }
  }

  await visit(data.abs, "", new Set([rootReal]));
  out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return out;
}
