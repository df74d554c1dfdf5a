// Shared benchmark plumbing: machine description, peak RSS, test files, results written to bench/results/.
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";

export interface BenchResult {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly seconds?: number;
  /** How many times better than the reference (higher is better). */
  readonly ratioToReference?: number;
  readonly reference?: string;
  readonly target?: string;
}

/** Peak resident set size of this process so far, from /proc (VmHWM), in MB. */
export function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return m?.[1] ? Number(m[1]) / 1024 : process.memoryUsage().rss / 1024 ** 2;
}

export function machine(): Record<string, unknown> {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    // Other work on the machine skews wall-clock figures; the 1-minute load average says how much.
    loadAverage1m: loadavg()[0],
  };
}

/** Writes bench/results/NAME.json with the date and machine beside the figures. */
export function writeResults(name: string, body: Record<string, unknown>): Promise<void> {
  const path = join(import.meta.dirname, "results", `${name}.json`);
  writeFileSync(
    path,
    `${JSON.stringify({ benchmark: name, date: new Date().toISOString(), machine: machine(), ...body }, null, 2)}\n`,
  );
  return Promise.resolve();
}

/** A file of incompressible bytes, written in 16 MiB blocks of fresh random data. */
export async function makeTestFile(path: string, size: number): Promise<void> {
  const fh = await open(path, "w");
  try {
    const block = 16 * 1024 * 1024;
    for (let done = 0; done < size; done += block) await fh.write(randomBytes(Math.min(block, size - done)));
  } finally {
    await fh.close();
  }
}
