// The code version of a run: the project's git commit and whether its work tree had uncommitted changes.
import { spawnSync } from "node:child_process";

export interface CodeVersion {
  readonly commit: string;
  readonly dirty: boolean;
}

/** Undefined outside a git work tree or when git is not installed. */
export function detectCodeVersion(dir: string): CodeVersion | undefined {
  const run = (args: string[]): string | undefined => {
    const r = spawnSync("git", args, { cwd: dir, encoding: "utf8", timeout: 5000 });
    return r.status === 0 ? r.stdout.trim() : undefined;
  };
  const commit = run(["rev-parse", "HEAD"]);
  if (commit === undefined || !/^[0-9a-f]{40,64}$/.test(commit)) return undefined;
  const status = run(["status", "--porcelain", "--untracked-files=no"]);
  return { commit, dirty: status === undefined ? true : status.length > 0 };
}
