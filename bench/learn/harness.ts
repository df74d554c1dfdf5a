// What the learn benchmarks share: column-major Float64 files as frames, loopml measured in a child process of its
// own (wall and CPU time, peak RSS), and the child runs (loopml and the Python reference) that print one JSON line.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { frameFromColumns, type Frame } from "../../src/learn/frame.ts";

const ROOT = join(import.meta.dirname, "..", "..");

export function readF64(path: string): Float64Array {
  const buf = readFileSync(path);
  const out = new Float64Array(buf.byteLength / 8);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

/** Features f0…f(n-1) over one column-major file of `nRows` rows, and "label" from `labelPath` when given. */
export function frameFromF64(xPath: string, nFeatures: number, nRows: number, labelPath?: string): Frame {
  const x = readF64(xPath);
  const columns: Record<string, Float64Array> = {};
  for (let f = 0; f < nFeatures; f++) columns[`f${f}`] = x.subarray(f * nRows, (f + 1) * nRows);
  if (labelPath !== undefined) columns.label = readF64(labelPath);
  return frameFromColumns(columns);
}

export interface LoopmlMeasure {
  readonly library: "loopml";
  readonly fitSeconds: number;
  /** CPU time (user + system, all threads) of the fit: less sensitive than wall time to a busy machine. */
  readonly fitCpuSeconds: number;
  /** The fastest of three predictions of the test frame. */
  readonly predictRowsPerSecond: number;
  /** Rows per CPU-second (all threads) of the fastest prediction run. */
  readonly predictRowsPerCpuSecond: number;
  readonly peakRssMb: number;
}

/**
 * Times `fit` (which returns the fitted model's predict) and three predictions of `test`, and writes the last
 * predictions to `predPath` for the parent to score. Call it in a child process, so that peak RSS is loopml's alone.
 */
export async function measureLoopml(
  fit: () => ((f: Frame) => Float64Array) | Promise<(f: Frame) => Float64Array>,
  test: Frame,
  predPath: string,
): Promise<LoopmlMeasure> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const predict = await fit();
  const fitSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  let best = Infinity;
  let bestCpu = Infinity;
  let pred: Float64Array = new Float64Array(0);
  for (let i = 0; i < 3; i++) {
    const t1 = performance.now();
    const c1 = process.cpuUsage();
    pred = predict(test);
    const c = process.cpuUsage(c1);
    best = Math.min(best, (performance.now() - t1) / 1000);
    bestCpu = Math.min(bestCpu, (c.user + c.system) / 1e6);
  }
  writeFileSync(predPath, new Uint8Array(pred.buffer, pred.byteOffset, pred.byteLength));
  return {
    library: "loopml",
    fitSeconds,
    fitCpuSeconds: (cpu.user + cpu.system) / 1e6,
    predictRowsPerSecond: test.nRows / best,
    predictRowsPerCpuSecond: test.nRows / bestCpu,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
}

/** The command that runs `script` (a benchmark module) as its own loopml worker: `script --worker ...args`. */
export function loopmlWorker(script: string, args: readonly string[]): [string, string[]] {
  return [process.execPath, ["--import", "tsx", script, "--worker", ...args]];
}

/** Runs a child to its end (from the repository root, so "--import tsx" resolves) and parses its last line. */
export function runChild<T>(command: string, args: readonly string[]): T {
  const child = spawnSync(command, args, { encoding: "utf8", maxBuffer: 1 << 24, cwd: ROOT });
  if (child.status !== 0) throw new Error(`${command} ${args.join(" ")} failed:\n${child.stderr}`);
  return JSON.parse(child.stdout.trim().split("\n").pop() ?? "") as T;
}
