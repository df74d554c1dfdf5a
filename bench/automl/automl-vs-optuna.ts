// Benchmark: loopml automl vs Optuna TPE + XGBoost hist with the same wall-clock budget and the same k folds, scored on one held-out test part.
// Run: npx tsx bench/automl/automl-vs-optuna.ts [budget-seconds=60] [table …]   (writes bench/results/automl.json)
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { automl } from "../../src/automl/automl.ts";
import { higherIsBetter, scoreMetric } from "../../src/automl/metric.ts";
import { setupProblem } from "../../src/automl/setup.ts";
import type { Problem } from "../../src/automl/types.ts";
import { readFrame } from "../../src/data/read-frame.ts";
import { createFrame, getColumn, selectColumns, takeRows, type Frame } from "../../src/learn/frame.ts";
import { gbdt } from "../../src/learn/gbdt/index.ts";
import { holdout } from "../../src/learn/split.ts";
import { writeResults } from "../common.ts";

const here = dirname(fileURLToPath(import.meta.url));
const DATA = process.env.LOOPML_SHARED_DATA ?? join(here, "..", "..", "..", "shared", "data");
const TABLES: Readonly<Record<string, string>> = {
  breast_cancer_wisconsin: "diagnosis",
  wine: "cultivar",
  diabetes: "progression",
  penguins: "species",
  auto_mpg: "Miles_per_Gallon",
  titanic_1912: "Survived",
};

const budget = Number(process.argv[2] ?? 60);
const SHORT_BUDGET = 10;
const chosen = process.argv.length > 3 ? process.argv.slice(3) : Object.keys(TABLES);

function ensureOptuna(): void {
  if (spawnSync("/usr/bin/python3", ["-c", "import optuna, xgboost"]).status === 0) return;
  const apt = spawnSync("apt-get", ["install", "-y", "python3-optuna", "python3-xgboost"], {
    stdio: "inherit",
  });
  if (apt.status !== 0) throw new Error("python3-optuna is missing and apt-get could not install it");
}

/** Encoded feature matrix (categorical codes as numbers, missing as NaN), column-major, as XGBoost gets it. */
function writeMatrix(path: string, frame: Frame, features: readonly string[]): void {
  const n = frame.nRows;
  const out = new Float64Array(n * features.length);
  features.forEach((name, f) => {
    const c = getColumn(frame, name);
    for (let i = 0; i < n; i++) {
      const v = c.kind === "numeric" ? (c.values[i] as number) : (c.codes[i] as number);
      out[f * n + i] = c.kind === "categorical" && v < 0 ? NaN : v;
    }
  });
  writeFileSync(path, new Uint8Array(out.buffer));
}

/** Test predictions in the metric's shape, with the model's classes mapped onto the problem's. */
function testPredictions(
  problem: Problem,
  model: Awaited<ReturnType<typeof automl>>["model"],
  test: Frame,
): Float64Array {
  if (problem.task === "regression") return model.predict(test);
  const proba = model.predictProba(test);
  const k = problem.classes.length;
  const mk = model.classes.length;
  const out = new Float64Array(test.nRows * k);
  model.classes.forEach((label, j) => {
    const c = problem.classes.indexOf(label);
    for (let r = 0; r < test.nRows; r++) out[r * k + c] = proba[r * mk + j] as number;
  });
  if (problem.task === "multiclass") return out;
  return Float64Array.from({ length: test.nRows }, (_, r) => out[r * 2 + 1] as number);
}

async function benchTable(name: string, target: string): Promise<Record<string, unknown>> {
  const { frame } = await readFrame(join(DATA, `${name}.csv`));
  const problem = setupProblem(frame, { target });
  const n = problem.rows.length;
  const split = holdout(n, {
    testFraction: 0.25,
    seed: 1,
    ...(problem.task !== "regression" && { stratify: problem.y }),
  });
  const rowsOf = (pos: Uint32Array): Uint32Array => Uint32Array.from(pos, (p) => problem.rows[p] as number);
  const train = takeRows(frame, rowsOf(split.train));
  const test = takeRows(frame, rowsOf(split.test));
  const yTrain = Float64Array.from(split.train, (p) => problem.y[p] as number);
  const yTest = Float64Array.from(split.test, (p) => problem.y[p] as number);
  const k = problem.task === "regression" ? 1 : problem.classes.length;

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await automl(train, { target, budgetSeconds: budget, seed: 1 });
  const loopmlSeconds = (performance.now() - t0) / 1000;
  // Process-wide CPU time: the worker threads that run trials side by side are included.
  const cpu = process.cpuUsage(cpu0);
  const loopmlTest = scoreMetric(problem.metric, yTest, testPredictions(problem, result.model, test), k);
  // The floor: with a 10 s budget AutoML must still match an untuned GBDT.
  const t10 = performance.now();
  const short = await automl(train, { target, budgetSeconds: SHORT_BUDGET, seed: 1 });
  const shortSeconds = (performance.now() - t10) / 1000;
  const shortTest = scoreMetric(problem.metric, yTest, testPredictions(problem, short.model, test), k);

  // The baseline the issue names: an untuned GBDT (XGBoost's defaults) on the same features.
  const features = result.problem.features;
  const labelled = (f: Frame, y: Float64Array): Frame =>
    createFrame([...selectColumns(f, features).columns, { kind: "numeric", name: "__y", values: y }]);
  const objective =
    problem.task === "binary" ? "binary" : problem.task === "multiclass" ? "multiclass" : "regression";
  const base = gbdt({ objective, seed: 1, ...(objective === "multiclass" && { nClasses: k }) }).fit(
    labelled(train, yTrain),
    "__y",
  );
  const basePred = objective === "multiclass" ? base.predictProba(test) : base.predict(test);
  const defaultTest = scoreMetric(problem.metric, yTest, basePred, k);

  const dir = mkdtempSync(join(tmpdir(), "loopml-bench-automl-"));
  try {
    writeMatrix(join(dir, "train-x.f64"), train, features);
    writeMatrix(join(dir, "test-x.f64"), test, features);
    writeFileSync(join(dir, "train-y.f64"), new Uint8Array(yTrain.buffer));
    writeFileSync(join(dir, "test-y.f64"), new Uint8Array(yTest.buffer));
    const meta = {
      task: problem.task,
      nClasses: k,
      nFeatures: features.length,
      nTrain: train.nRows,
      nTest: test.nRows,
      folds: result.problem.validation.folds,
    };
    writeFileSync(join(dir, "meta.json"), JSON.stringify(meta));
    const py = spawnSync("/usr/bin/python3", [join(here, "optuna_ref.py"), dir, String(budget)], {
      encoding: "utf8",
    });
    if (py.status !== 0) throw new Error(`optuna_ref.py failed: ${py.stderr}`);
    const ref = JSON.parse(py.stdout.trim().split("\n").pop() ?? "{}") as {
      trials: number;
      testScore: number;
      cvScore: number;
      seconds: number;
    };
    const up = higherIsBetter(problem.metric);
    const relative = up
      ? (loopmlTest - ref.testScore) / Math.abs(ref.testScore)
      : (ref.testScore - loopmlTest) / Math.abs(ref.testScore);
    return {
      table: name,
      target,
      task: problem.task,
      metric: problem.metric,
      rows: { train: train.nRows, test: test.nRows },
      budgetSeconds: budget,
      loopml: {
        testScore: loopmlTest,
        validationScore: result.best.score,
        trials: result.trials.length,
        winner: result.best.learner,
        learnersTried: [...new Set(result.trials.map((t) => t.learner))],
        seconds: loopmlSeconds,
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
        ensemble: result.ensembleNote,
      },
      loopmlShortBudget: {
        budgetSeconds: SHORT_BUDGET,
        testScore: shortTest,
        trials: short.trials.length,
        winner: short.best.learner,
        seconds: shortSeconds,
        atLeastAsGoodAsUntunedGbdt: higherIsBetter(problem.metric)
          ? shortTest >= defaultTest
          : shortTest <= defaultTest,
      },
      reference: {
        library: "optuna-tpe+xgboost-hist",
        testScore: ref.testScore,
        cvScore: ref.cvScore,
        trials: ref.trials,
        seconds: ref.seconds,
      },
      untunedGbdtTestScore: defaultTest,
      /** Positive when loopml is better, as a fraction of the reference's score. */
      relativeToReference: relative,
      atLeastAsGood: relative >= 0,
      withinOnePercent: relative >= -0.01,
      withinBudget: loopmlSeconds <= budget * 1.05,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

ensureOptuna();
const loadAtStart = loadavg()[0];
const results: Record<string, unknown>[] = [];
for (const name of chosen) {
  const target = TABLES[name];
  if (target === undefined) throw new Error(`Unknown table ${name}; use ${Object.keys(TABLES).join(", ")}`);
  const r = await benchTable(name, target);
  console.log(JSON.stringify(r));
  results.push(r);
}
const wins = results.filter((r) => r.atLeastAsGood).length;
await writeResults("automl", {
  budgetSeconds: budget,
  loadAverage1mAtStart: loadAtStart,
  loadAverage1m: loadavg()[0],
  note: "Both sides share a busy 2-core machine (other jobs were running: see the load averages); the comparison is side by side in the same job, so both suffer the same load, but wall-clock budgets buy fewer trials than on a quiet machine. loopml runs 2 trials at a time on worker threads (one fit thread each), XGBoost with nthread=2. Same train/test split and the same number of CV folds.",
  summary: {
    tables: results.length,
    loopmlAtLeastAsGood: wins,
    withinOnePercent: results.filter((r) => r.withinOnePercent).length,
    shortBudgetAtLeastAsGoodAsUntunedGbdt: results.filter(
      (r) => (r.loopmlShortBudget as { atLeastAsGoodAsUntunedGbdt: boolean }).atLeastAsGoodAsUntunedGbdt,
    ).length,
  },
  tables: results,
});
