// Benchmark: loopml random forest and linear models vs scikit-learn (RandomForest n_jobs=2, LogisticRegression,
// LinearRegression) on slices of the synthetic GBDT sets, missing values filled with training medians (this
// scikit-learn cannot take NaN). Run: npx tsx bench/learn/rf-linear-vs-sklearn.ts  (writes bench/results/learn-rf-linear.json)
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { frameFromColumns, type Frame } from "../../src/learn/frame.ts";
import { linear } from "../../src/learn/linear/index.ts";
import { rmse, rocAuc } from "../../src/learn/metrics.ts";
import { fitPreprocessor } from "../../src/learn/preprocess/index.ts";
import { randomForest } from "../../src/learn/random-forest/index.ts";
import { writeResults } from "../common.ts";
import { SHAPES, writeTask, type Task } from "./synthetic-data.ts";

const here = dirname(fileURLToPath(import.meta.url));
type Case = "rf-binary" | "rf-regression" | "linear-binary" | "linear-regression";
/** Training rows per case: scikit-learn's forest takes minutes on the full million rows of a loaded machine. */
const SIZES: Readonly<Record<Case, { task: Task; nTrain: number; nTest: number }>> = {
  "rf-binary": { task: "binary", nTrain: 100_000, nTest: 50_000 },
  "rf-regression": { task: "regression", nTrain: 50_000, nTest: 50_000 },
  "linear-binary": { task: "binary", nTrain: 1_000_000, nTest: 200_000 },
  "linear-regression": { task: "regression", nTrain: 500_000, nTest: 100_000 },
};

interface Result {
  library: string;
  case: Case;
  fitSeconds: number;
  fitCpuSeconds: number;
  predictRowsPerSecond: number;
  peakRssMb: number;
  coef?: number[];
}

function readF64(path: string): Float64Array {
  const buf = readFileSync(path);
  const out = new Float64Array(buf.byteLength / 8);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

/** Takes the first rows of the synthetic set and fills missing values with the training medians. */
function writeCase(dir: string, c: Case): void {
  const { task, nTrain, nTest } = SIZES[c];
  const shape = SHAPES[task];
  const p = shape.nFeatures;
  const slice = (part: "train" | "test", n: number, total: number): Float64Array[] => {
    const x = readF64(join(dir, `${task}-${part}-x.f64`));
    return Array.from({ length: p }, (_, f) => x.slice(f * total, f * total + n));
  };
  const train = slice("train", nTrain, shape.nTrain);
  const test = slice("test", nTest, shape.nTest);
  const out = (name: string, a: Float64Array): void => writeFileSync(join(dir, `${c}-${name}.f64`), a);
  train.forEach((col, f) => {
    const sorted = col.filter((v) => !Number.isNaN(v)).sort();
    const median = sorted[sorted.length >> 1] as number;
    for (const column of [col, test[f] as Float64Array])
      for (let i = 0; i < column.length; i++) if (Number.isNaN(column[i])) column[i] = median;
  });
  const concat = (cols: Float64Array[], n: number): Float64Array => {
    const x = new Float64Array(p * n);
    cols.forEach((col, f) => x.set(col, f * n));
    return x;
  };
  out("train-x", concat(train, nTrain));
  out("test-x", concat(test, nTest));
  out("train-y", readF64(join(dir, `${task}-train-y.f64`)).slice(0, nTrain));
  out("test-y", readF64(join(dir, `${task}-test-y.f64`)).slice(0, nTest));
  writeFileSync(join(dir, `${c}-meta.json`), JSON.stringify({ nFeatures: p, nTrain, nTest }));
}

function loadFrame(dir: string, c: Case, part: "train" | "test"): Frame {
  const { nTrain, nTest, task } = SIZES[c];
  const n = part === "train" ? nTrain : nTest;
  const x = readF64(join(dir, `${c}-${part}-x.f64`));
  const columns: Record<string, Float64Array> = {};
  for (let f = 0; f < SHAPES[task].nFeatures; f++) columns[`f${f}`] = x.subarray(f * n, (f + 1) * n);
  if (part === "train") columns.label = readF64(join(dir, `${c}-train-y.f64`));
  return frameFromColumns(columns);
}

/** Runs in a child process so that its peak RSS is loopml's alone. */
async function worker(dir: string, c: Case, outPath: string): Promise<void> {
  const { task } = SIZES[c];
  const train = loadFrame(dir, c, "train");
  const test = loadFrame(dir, c, "test");
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let predict: (f: Frame) => Float64Array;
  let coef: number[] | undefined;
  if (c.startsWith("rf")) {
    const model = await randomForest({ task, nTrees: 100, seed: 1 }).fit(train, "label");
    predict = (f) => model.predict(f);
  } else {
    const features = train.columns.map((col) => col.name).filter((name) => name !== "label");
    const { preprocessor, train: z } = fitPreprocessor(train, { features, standardize: true });
    const withLabel = { nRows: z.nRows, columns: [...z.columns, train.columns[train.columns.length - 1]!] };
    const model =
      task === "binary"
        ? linear({ task: "binary", C: 1 }).fit(withLabel, "label")
        : linear({ task: "regression", penalty: "none" }).fit(withLabel, "label");
    predict = (f) => model.predict(preprocessor.transform(f));
    coef = Array.from(model.coef);
  }
  const fitSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  let best = Infinity;
  let pred: Float64Array = new Float64Array(0);
  for (let i = 0; i < 3; i++) {
    const t1 = performance.now();
    pred = predict(test);
    best = Math.min(best, (performance.now() - t1) / 1000);
  }
  writeFileSync(outPath, new Uint8Array(pred.buffer));
  const result: Result = {
    library: "loopml",
    case: c,
    fitSeconds,
    fitCpuSeconds: (cpu.user + cpu.system) / 1e6,
    predictRowsPerSecond: test.nRows / best,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    ...(coef && { coef }),
  };
  console.log(JSON.stringify(result));
}

function runChild(command: string, args: string[]): Result {
  const child = spawnSync(command, args, {
    encoding: "utf8",
    maxBuffer: 1 << 24,
    cwd: join(here, "..", ".."),
  });
  if (child.status !== 0) throw new Error(`${command} ${args.join(" ")} failed:\n${child.stderr}`);
  return JSON.parse(child.stdout.trim().split("\n").pop() ?? "") as Result;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "loopml-rf-linear-bench-"));
  try {
    writeTask(dir, "binary");
    writeTask(dir, "regression");
    const results: Record<string, unknown>[] = [];
    const comparisons: Record<string, unknown> = {};
    for (const c of Object.keys(SIZES) as Case[]) {
      writeCase(dir, c);
      const yTest = readF64(join(dir, `${c}-test-y.f64`));
      const binary = SIZES[c].task === "binary";
      const score = (pred: Float64Array): number => (binary ? rocAuc(yTest, pred) : rmse(yTest, pred));
      const runs: Record<string, Result & { quality: number }> = {};
      for (const [name, command, args] of [
        [
          "scikit-learn",
          "/usr/bin/python3",
          [join(here, "sklearn_ref.py"), dir, c, join(dir, `${c}-sk.pred`)],
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
            c,
            join(dir, `${c}-loopml.pred`),
          ],
        ],
      ] as const) {
        const r = runChild(command, [...args]);
        const quality = score(readF64(join(dir, `${c}-${name === "loopml" ? "loopml" : "sk"}.pred`)));
        runs[name] = { ...r, quality };
        const { coef: _coef, ...shown } = r;
        const record = {
          bench: "learn-rf-linear",
          ...shown,
          [binary ? "auc" : "rmse"]: quality,
          ...SIZES[c],
        };
        console.log(JSON.stringify(record));
        results.push(record);
      }
      const l = runs.loopml as Result & { quality: number };
      const s = runs["scikit-learn"] as Result & { quality: number };
      const qualityDiff = binary ? l.quality - s.quality : l.quality / s.quality - 1;
      const coefMaxDiff =
        l.coef && s.coef ? Math.max(...l.coef.map((v, j) => Math.abs(v - (s.coef?.[j] ?? NaN)))) : undefined;
      comparisons[c] = {
        fitRatio: l.fitSeconds / s.fitSeconds,
        fitCpuRatio: l.fitCpuSeconds / s.fitCpuSeconds,
        predictRatio: l.predictRowsPerSecond / s.predictRowsPerSecond,
        rssRatio: l.peakRssMb / s.peakRssMb,
        [binary ? "aucDiff" : "rmseRelativeDiff"]: qualityDiff,
        ...(coefMaxDiff !== undefined && { coefMaxDiff }),
        targets: c.startsWith("rf")
          ? { fitAtMostSklearn: l.fitSeconds <= s.fitSeconds, equalAccuracy: Math.abs(qualityDiff) <= 0.005 }
          : { coefWithin1e4: (coefMaxDiff ?? Infinity) <= 1e-4 },
      };
      console.log(JSON.stringify({ bench: "learn-rf-linear", case: c, comparison: comparisons[c] }));
    }
    await writeResults("learn-rf-linear", {
      settings: {
        randomForest:
          "100 trees, default depth and features (sqrt for classification, all for regression); scikit-learn n_jobs=2",
        linear: "standardised features; logistic C=1 (L-BFGS), linear regression without penalty",
      },
      results,
      comparisons,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const args = process.argv.slice(2);
if (args[0] === "--worker") await worker(args[1] as string, args[2] as Case, args[3] as string);
else await main();
