// Benchmark: loopml random forest and linear models vs scikit-learn (RandomForest n_jobs=2, LogisticRegression,
// LinearRegression) on slices of the synthetic GBDT sets, missing values filled with training medians (this
// scikit-learn cannot take NaN). Run: npx tsx bench/learn/rf-linear-vs-sklearn.ts  (writes bench/results/learn-rf-linear.json)
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Frame } from "../../src/learn/frame.ts";
import { linear } from "../../src/learn/linear/index.ts";
import { rmse, rocAuc } from "../../src/learn/metrics.ts";
import { fitPreprocessor } from "../../src/learn/preprocess/index.ts";
import { randomForest } from "../../src/learn/random-forest/index.ts";
import { writeResults } from "../common.ts";
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
type Case = "rf-binary" | "rf-regression" | "linear-binary" | "linear-regression";
/** Training rows per case: scikit-learn's forest takes minutes on the full million rows of a loaded machine. */
const SIZES: Readonly<Record<Case, { task: Task; nTrain: number; nTest: number }>> = {
  "rf-binary": { task: "binary", nTrain: 100_000, nTest: 50_000 },
  "rf-regression": { task: "regression", nTrain: 50_000, nTest: 50_000 },
  "linear-binary": { task: "binary", nTrain: 1_000_000, nTest: 200_000 },
  "linear-regression": { task: "regression", nTrain: 500_000, nTest: 100_000 },
};

type Result = Omit<LoopmlMeasure, "library" | "predictRowsPerCpuSecond"> & {
  library: string;
  case: Case;
  predictRowsPerCpuSecond?: number;
  coef?: number[];
};

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
  const label = part === "train" ? join(dir, `${c}-train-y.f64`) : undefined;
  return frameFromF64(
    join(dir, `${c}-${part}-x.f64`),
    SHAPES[task].nFeatures,
    part === "train" ? nTrain : nTest,
    label,
  );
}

async function worker(dir: string, c: Case, outPath: string): Promise<void> {
  const { task } = SIZES[c];
  const train = loadFrame(dir, c, "train");
  const test = loadFrame(dir, c, "test");
  let coef: number[] | undefined;
  const fit = async (): Promise<(f: Frame) => Float64Array> => {
    if (c.startsWith("rf")) {
      const model = await randomForest({ task, nTrees: 100, seed: 1 }).fit(train, "label");
      return (f) => model.predict(f);
    }
    const features = train.columns.map((col) => col.name).filter((name) => name !== "label");
    const { preprocessor, train: z } = fitPreprocessor(train, { features, standardize: true });
    const withLabel = { nRows: z.nRows, columns: [...z.columns, train.columns[train.columns.length - 1]!] };
    const model =
      task === "binary"
        ? linear({ task: "binary", C: 1 }).fit(withLabel, "label")
        : linear({ task: "regression", penalty: "none" }).fit(withLabel, "label");
    coef = Array.from(model.coef);
    return (f) => model.predict(preprocessor.transform(f));
  };
  const result: Result = { ...(await measureLoopml(fit, test, outPath)), case: c, ...(coef && { coef }) };
  console.log(JSON.stringify(result));
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
        ["loopml", ...loopmlWorker(fileURLToPath(import.meta.url), [dir, c, join(dir, `${c}-loopml.pred`)])],
      ] as const) {
        const r = runChild<Result>(command, args);
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
