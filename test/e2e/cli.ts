// Runs the loopml CLI as a user would, in a child process.
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const BIN = join(import.meta.dirname, "..", "..", "bin", "loopml.js");

export interface CliResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function loopml(
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    encoding: "utf8",
    env: { ...process.env, LOOPML_STORE: undefined, LOOPML_ARTIFACTS: undefined, ...options.env },
    timeout: 60_000,
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
