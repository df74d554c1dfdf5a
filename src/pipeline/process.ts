// Runs one shell command in its own process group: output captured (tail kept), timeouts kill the whole tree.
import { spawn } from "node:child_process";

export interface CommandResult {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  /** The last bytes of stdout and stderr, for error messages. */
  readonly stdoutTail: string;
  readonly stderrTail: string;
  /** Interleaved stdout and stderr, at most `logLimit` bytes (the start is dropped first). */
  readonly log: Buffer;
  /** Set when the command could not be started at all. */
  readonly spawnError?: string;
}

export interface CommandOptions {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  readonly onOutput?: (stream: "stdout" | "stderr", chunk: Buffer) => void;
  readonly tailBytes?: number;
  readonly logLimit?: number;
  /** How long a timed-out tree gets between SIGTERM and SIGKILL. */
  readonly killGraceMs?: number;
}

/**
 * @example
 * const r = await runCommand("python train.py", { cwd: ".", env: process.env, timeoutMs: 60_000 });
 * if (r.exitCode !== 0) console.error(r.stderrTail);
 */
export function runCommand(command: string, options: CommandOptions): Promise<CommandResult> {
  const tailBytes = options.tailBytes ?? 4096;
  const logLimit = options.logLimit ?? 1 << 20;
  const tails = { stdout: new Tail(tailBytes), stderr: new Tail(tailBytes) };
  const log = new Tail(logLimit);
  return new Promise((resolve) => {
    // detached: the child leads a new process group, so kill(-pid) reaches everything it started.
    const child = spawn("/bin/sh", ["-c", command], {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let timedOut = false;
    let settled = false;
    let killTimer: NodeJS.Timeout | undefined;
    const killTree = (sig: NodeJS.Signals): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        // the group is already gone
      }
    };
    const stop = (): void => {
      killTree("SIGTERM");
      killTimer = setTimeout(() => killTree("SIGKILL"), options.killGraceMs ?? 2000);
      killTimer.unref();
    };
    const timer =
      options.timeoutMs !== undefined
        ? setTimeout(() => {
            timedOut = true;
            stop();
          }, options.timeoutMs)
        : undefined;
    const onAbort = (): void => stop();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    for (const name of ["stdout", "stderr"] as const) {
      child[name].on("data", (chunk: Buffer) => {
        tails[name].push(chunk);
        log.push(chunk);
        options.onOutput?.(name, chunk);
      });
    }
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null, spawnError?: string): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      options.signal?.removeEventListener("abort", onAbort);
      resolve({
        exitCode,
        signal,
        timedOut,
        stdoutTail: tails.stdout.text(),
        stderrTail: tails.stderr.text(),
        log: log.bytes(),
        ...(spawnError !== undefined && { spawnError }),
      });
    };
    child.on("error", (e) => finish(null, null, e.message));
    child.on("exit", () => {
      // Background processes the command left behind would hold the pipes open and outlive the step.
      killTree("SIGKILL");
    });
    child.on("close", (code, signal) => finish(code, signal));
  });
}

/** Keeps the last `limit` bytes of a stream. */
class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - (this.chunks[0]?.length ?? 0) >= this.limit && this.chunks.length > 1) {
      this.size -= (this.chunks.shift() as Buffer).length;
    }
  }

  bytes(): Buffer {
    const all = Buffer.concat(this.chunks);
    return all.length > this.limit ? all.subarray(all.length - this.limit) : all;
  }

  text(): string {
    return this.bytes().toString("utf8");
  }
}
