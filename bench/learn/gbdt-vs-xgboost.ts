// Benchmark: loopml GBDT vs XGBoost hist (nthread=2) on the same synthetic data; prints JSON lines.
// Run: npx tsx bench/learn/gbdt-vs-xgboost.ts   (writes bench/results/learn-gbdt.json)
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gbdt } from "../../src/learn/gbdt/index.ts";
import { rmse, rocAuc } from "../../src/learn/metrics.ts";
import {
  frameFromF64,
  loopmlWorker,
  measureLoopml,
  readF64,
  runChild,
  type LoopmlMeasure,
} from "./harness.ts";
import { SHAPES, writeTask, type Task } from "./synthetic-data.ts";

const here = dirname(fileURLToPath(import.meta.url));
const TASKS: readonly Task[] = ["binary", "regression"];

type WorkerResult = Omit<LoopmlMeasure, "library"> & { library: string; task: Task };

function loadFrame(dir: string, task: Task, part: "train" | "test", withLabel: boolean) {
  const shape = SHAPES[task];
  const n = part === "train" ? shape.nTrain : shape.nTest;
  const label = withLabel ? join(dir, `${task}-${part}-y.f64`) : undefined;
  return frameFromF64(join(dir, `${task}-${part}-x.f64`), shape.nFeatures, n, label);
}

async function worker(dir: string, task: Task, outPath: string): Promise<void> {
  const train = loadFrame(dir, task, "train", true);
  const test = loadFrame(dir, task, "test", false);
  const measured = await measureLoopml(
    () => {
      const model = gbdt({
        objective: task === "binary" ? "binary" : "regression",
        nRounds: 100,
        maxDepth: 6,
        learningRate: 0.1,
        seed: 1,
      }).fit(train, "label");
      return (f) => model.predict(f);
    },
    test,
    outPath,
  );
  const result: WorkerResult = { ...measured, task };
  console.log(JSON.stringify(result));
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
          ...loopmlWorker(fileURLToPath(import.meta.url), [dir, task, join(dir, `${task}-loopml.pred`)]),
        ],
      ];
      for (const [name, command, args] of runs) {
        const r = runChild<WorkerResult>(command, args);
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
if (args[0] === "--worker") await worker(args[1] as string, args[2] as Task, args[3] as string);
else main();
