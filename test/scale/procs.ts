// loopml child processes for the scale-out and fault tests: started as a user starts them, stopped by PID,
// awaited without blocking the event loop (traffic keeps flowing while a CLI command runs).
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";

export const BIN = join(import.meta.dirname, "..", "..", "bin", "loopml.js");

export interface LoopmlChild {
  readonly child: ChildProcessWithoutNullStreams;
  readonly pid: number;
  /** stdout and stderr so far, interleaved. */
  output(): string;
  /** Resolves once the output matches, or rejects with the output when the child exits or time runs out. */
  waitFor(pattern: RegExp, ms?: number): Promise<void>;
  readonly exited: Promise<number | null>;
  /** SIGTERM (or the given signal) and wait for the exit; a no-op when it already exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** The environment of a child: the parent's, minus any store settings, plus `env`. */
export function childEnv(env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ["LOOPML_STORE", "LOOPML_ARTIFACTS", "LOOPML_QUEUE", "LOOPML_S3_ENDPOINT"]) delete clean[k];
  return { ...clean, ...env };
}

export function startLoopml(
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; command?: readonly string[] },
): LoopmlChild {
  const [cmd, ...pre] = options.command ?? [process.execPath, BIN];
  const child = spawn(cmd as string, [...pre, ...args], { cwd: options.cwd, env: childEnv(options.env) });
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
  child.stderr.on("data", (c: Buffer) => (out += c.toString("utf8")));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let done = false;
  void exited.then(() => (done = true));
  // A test that fails mid-way must not leave servers running on the shared machine.
  const killOnExit = (): void => {
    if (!done) child.kill("SIGKILL");
  };
  process.once("exit", killOnExit);
  void exited.then(() => process.off("exit", killOnExit));
  return {
    child,
    pid: child.pid as number,
    output: () => out,
    waitFor: async (pattern, ms = 60_000) => {
      const end = Date.now() + ms;
      while (!pattern.test(out)) {
        if (done) throw new Error(`loopml ${args.join(" ")} exited before printing ${pattern}:\n${out}`);
        if (Date.now() > end)
          throw new Error(`timed out waiting for ${pattern} from loopml ${args[0]}:\n${out}`);
        await delay(50);
      }
    },
    exited,
    stop: async (signal = "SIGTERM") => {
      if (!done) child.kill(signal);
      await exited;
    },
  };
}

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs one loopml command to its end without blocking this process's event loop. */
export function runLoopml(
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; command?: readonly string[] },
): Promise<CliResult> {
  const [cmd, ...pre] = options.command ?? [process.execPath, BIN];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd as string, [...pre, ...args], { cwd: options.cwd, env: childEnv(options.env) });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    child.once("error", reject);
    child.once("close", (status) => resolve({ status, stdout, stderr }));
  });
}

/** Like runLoopml, but a non-zero exit is an error carrying the output. */
export async function loopmlOk(
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<string> {
  const r = await runLoopml(args, options);
  if (r.status !== 0)
    throw new Error(`loopml ${args.join(" ")} exited ${r.status}:\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

export async function until(
  what: string,
  test: () => boolean | Promise<boolean>,
  ms = 60_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(100);
  }
}
