// Runs every benchmark in bench/<area>/ one after another; each prints JSON lines and writes bench/results/<area>.json.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

/** The entry script of each area, in the order they run. Areas whose script is absent are reported, not skipped silently. */
const BENCHMARKS = [
  "blobs/put-get.ts",
  "data/add.ts",
  "pipeline/pipeline.ts",
  "tracking/tracking.ts",
  "learn/gbdt-vs-xgboost.ts",
  "learn/explain-export.ts",
  "learn/rf-linear-vs-sklearn.ts",
  "drift/drift-vs-scipy.ts",
  "serving/serving-vs-flask.ts",
  "serving/soak.ts",
  "automl/automl-vs-optuna.ts",
  "ops/ops.ts",
];

const only = process.argv.slice(2);
let failed = 0;
for (const rel of BENCHMARKS) {
  if (only.length > 0 && !only.some((o) => rel.startsWith(o))) continue;
  const path = join(import.meta.dirname, rel);
  if (!existsSync(path)) {
    console.error(`bench: ${rel} does not exist yet`);
    continue;
  }
  console.error(`bench: ${rel}`);
  const r = spawnSync(process.execPath, ["--import", "tsx", path], { stdio: "inherit" });
  if (r.status !== 0) {
    failed++;
    console.error(`bench: ${rel} failed with status ${r.status}`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;
