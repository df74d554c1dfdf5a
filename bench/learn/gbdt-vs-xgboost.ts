// Benchmark: loopml GBDT vs XGBoost hist (nthread=2) on the same synthetic data; prints JSON lines.
// Run: npx tsx bench/learn/gbdt-vs-xgboost.ts   (writes bench/results/learn-gbdt.json)
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { frameFromColumns, type Frame } from "../../src/learn/frame.ts";
import { gbdt } from "../../src/learn/gbdt/index.ts";
import { rmse, rocAuc } from "../../src/learn/metrics.ts";
import { SHAPES, writeTask, type Task } from "./synthetic-data.ts";

const here = dirname(fileURLToPath(import.meta.url));
const TASKS: readonly Task[] = ["binary", "regression"];

interface WorkerResult {
  library: string;
  task: Task;
  fitSeconds: number;
  /** CPU time (user + system, all threads) of the fit: less sensitive than wall time to a busy machine. */
  fitCpuSeconds: number;
  predictRowsPerSecond: number;
  /** Rows per CPU-second (all threads) of the fastest prediction run. */
  predictRowsPerCpuSecond: number;
  peakRssMb: number;
}

function readF64(path: string): Float64Array {
  const buf = readFileSync(path);
  const out = new Float64Array(buf.byteLength / 8);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

function loadFrame(dir: string, task: Task, part: "train" | "test", withLabel: boolean): Frame {
  const shape = SHAPES[task];
  const n = part === "train" ? shape.nTrain : shape.nTest;
  const x = readF64(join(dir, `${task}-${part}-x.f64`));
  const columns: Record<string, Float64Array> = {};
  for (let f = 0; f < shape.nFeatures; f++) columns[`f${f}`] = x.subarray(f * n, (f + 1) * n);
  if (withLabel) columns.label = readF64(join(dir, `${task}-${part}-y.f64`));
  return frameFromColumns(columns);
}

/** Runs in a child process so that its peak RSS is loopml's alone. */
function worker(dir: string, task: Task, outPath: string): void {
  const train = loadFrame(dir, task, "train", true);
  const test = loadFrame(dir, task, "test", false);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const model = gbdt({
    objective: task === "binary" ? "binary" : "regression",
    nRounds: 100,
    maxDepth: 6,
    learningRate: 0.1,
    seed: 1,
  }).fit(train, "label");
  const fitSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const fitCpuSeconds = (cpu.user + cpu.system) / 1e6;
  let best = Infinity;
  let bestCpu = Infinity;
  let pred: Float64Array = new Float64Array(0);
  for (let i = 0; i < 3; i++) {
    const t1 = performance.now();
    const c1 = process.cpuUsage();
    pred = model.predict(test);
    const c = process.cpuUsage(c1);
    best = Math.min(best, (performance.now() - t1) / 1000);
    bestCpu = Math.min(bestCpu, (c.user + c.system) / 1e6);
  }
  writeFileSync(outPath, new Uint8Array(pred.buffer));
  const result: WorkerResult = {
    library: "loopml",
    task,
    fitSeconds,
    fitCpuSeconds,
    predictRowsPerSecond: test.nRows / best,
    predictRowsPerCpuSecond: test.nRows / bestCpu,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
  console.log(JSON.stringify(result));
}

function runChild(command: string, args: string[]): WorkerResult {
  // cwd is the repository root so that "--import tsx" resolves from its node_modules.
  const child = spawnSync(command, args, {
    encoding: "utf8",
    maxBuffer: 1 << 24,
    cwd: join(here, "..", ".."),
  });
  if (child.status !== 0) throw new Error(`${command} ${args.join(" ")} failed:\n${child.stderr}`);
  const line = child.stdout.trim().split("\n").pop() ?? "";
  return JSON.parse(line) as WorkerResult;
}

function main(): void {
  const loadAverageAtStart = loadavg();
  const dir = mkdtempSync(join(tmpdir(), "loopml-gbdt-bench-"));
  try {
    const records: Record<string, unknown>[] = [];
    const comparisons: Record<string, unknown> = {};
    for (const task of TASKS) {
      writeTask(dir, task);
      const yTest = readF64(join(dir, `${task}-test-y.f64`));
      const metricName = task === "binary" ? "auc" : "rmse";
      const score = (p: Float64Array): number => (task === "binary" ? rocAuc(yTest, p) : rmse(yTest, p));
      const byLib = new Map<string, WorkerResult & { quality: number }>();
      const runs: [string, string, string[]][] = [
        [
          "xgboost",
          "/usr/bin/python3",
          [join(here, "xgb_ref.py"), dir, task, join(dir, `${task}-xgboost.pred`)],
        ],
        [
          "loopml",
          process.execPath,
          [
            "--import",
            "tsx",
            fileURLToPath(import.meta.url),
            "--worker",
            dir,
            task,
            join(dir, `${task}-loopml.pred`),
          ],
        ],
      ];
      for (const [name, command, args] of runs) {
        const r = runChild(command, args);
        const quality = score(readF64(join(dir, `${task}-${name}.pred`)));
        byLib.set(name, { ...r, quality });
        const record = { bench: "learn-gbdt", ...r, [metricName]: quality, ...SHAPES[task] };
        console.log(JSON.stringify(record));
        records.push(record);
      }
      const l = byLib.get("loopml") as WorkerResult & { quality: number };
      const x = byLib.get("xgboost") as WorkerResult & { quality: number };
      const fitRatio = l.fitSeconds / x.fitSeconds;
      const fitCpuRatio = l.fitCpuSeconds / x.fitCpuSeconds;
      const predictRatio = l.predictRowsPerSecond / x.predictRowsPerSecond;
      const rssRatio = l.peakRssMb / x.peakRssMb;
      const quality =
        task === "binary"
          ? { aucDiff: l.quality - x.quality, ok: x.quality - l.quality <= 0.003 }
          : { rmseRatio: l.quality / x.quality, ok: l.quality <= x.quality * 1.01 };
      comparisons[task] = {
        fitRatio,
        fitCpuRatio,
        predictRatio,
        rssRatio,
        ...quality,
        targets: {
          fitWithin2x: fitRatio <= 2,
          quality: quality.ok,
          predictAtLeastXgboost: predictRatio >= 1,
          rssWithin1_5x: rssRatio <= 1.5,
        },
      };
      console.log(JSON.stringify({ bench: "learn-gbdt", task, comparison: comparisons[task] }));
    }
    const out = {
      bench: "learn-gbdt",
      date: new Date().toISOString(),
      // Other jobs shared this machine during the run: wall times depend on the load, CPU times much less.
      machine: {
        cpus: cpus().length,
        node: process.version,
        loadAverageAtStart,
        loadAverageAtEnd: loadavg(),
      },
      settings: { nRounds: 100, maxDepth: 6, learningRate: 0.1, xgboost: "tree_method=hist nthread=2" },
      results: records,
      comparisons,
    };
    writeFileSync(join(here, "..", "results", "learn-gbdt.json"), JSON.stringify(out, null, 2) + "\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const args = process.argv.slice(2);
if (args[0] === "--worker") worker(args[1] as string, args[2] as Task, args[3] as string);
else main();
