// loopml init: writes the scaffold of a new project, refusing to overwrite anything unless forced.
import { chmod, mkdir, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { LoopmlError } from "../errors.ts";
import { projectScaffold } from "./scaffold.ts";

export interface InitResult {
  readonly dir: string;
  readonly written: readonly string[];
}

/**
 * @example
 * await initProject("my-model"); // then: cd my-model && make test
 */
export async function initProject(
  dir: string,
  options: { force?: boolean; name?: string } = {},
): Promise<InitResult> {
  const root = resolve(dir);
  const name = sanitizeName(options.name ?? basename(root));
  const files = projectScaffold(name);
  if (!options.force) {
    const existing: string[] = [];
    for (const f of files) if (await exists(join(root, f.path))) existing.push(f.path);
    if (existing.length > 0) {
      throw new LoopmlError(
        "ALREADY_EXISTS",
        `${root} already has ${existing.join(", ")}. Nothing was written; run with --force to overwrite them.`,
        { existing },
      );
    }
  }
  for (const f of files) {
    const path = join(root, f.path);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, f.content);
    if (f.executable) await chmod(path, 0o755);
  }
  return { dir: root, written: files.map((f) => f.path) };
}

function sanitizeName(raw: string): string {
  const name = raw
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[-._]+/, "");
  return name === "" ? "loopml-project" : name.slice(0, 100);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
