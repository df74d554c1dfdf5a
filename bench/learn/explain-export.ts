// Model file load time, exact TreeSHAP throughput and ONNX export fidelity/speed for a 100-tree depth-6 GBDT,
// with XGBoost (python3-xgboost) loading its JSON model and computing pred_contribs on the same data in the same run.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { frameFromColumns } from "../../src/learn/frame.ts";
import { gbdt, loadModel } from "../../src/learn/gbdt/index.ts";
import { gbdtToOnnx } from "../../src/learn/onnx/index.ts";
import { createRng } from "../../src/learn/random.ts";
import { deserializeModel, serializeModel } from "../../src/learn/serialize/index.ts";
import { writeResults } from "../common.ts";

const N = 20_000;
const F = 28;
const SHAP_ROWS = 1000;

function median(fn: () => void, runs = 15): number {
  fn();
  const t = Array.from({ length: runs }, () => {
    const s = performance.now();
    fn();
    return performance.now() - s;
  }).sort((a, b) => a - b);
  return t[Math.floor(runs / 2)] as number;
}

const rng = createRng(42);
const cols: Record<string, Float64Array> = {};
for (let f = 0; f < F; f++)
  cols[`f${f}`] = Float64Array.from({ length: N }, () => (rng.next() < 0.02 ? NaN : rng.next() * 2 - 1));
const z = Float64Array.from({ length: N }, (_, i) => {
  const v = (f: number): number => (cols[`f${f}`] as Float64Array)[i] || 0;
  return v(0) * 2 - v(1) ** 2 + (v(2) > 0 ? 1 : -1) + v(3) * v(4) + 0.5 * (rng.next() - 0.5);
});
const y = z.map((v) => (v > 0 ? 1 : 0));
const frame = frameFromColumns({ ...cols, y });
const model = gbdt({ objective: "binary", nRounds: 100, maxDepth: 6, learningRate: 0.1, seed: 1 }).fit(
  frame,
  "y",
);

const envelope = serializeModel(model, { background: frame });
const jsonText = JSON.stringify(model.toJSON());
const envelopeLoadMs = median(() => deserializeModel(envelope));
const jsonLoadMs = median(() => loadModel(JSON.parse(jsonText)));

const shapFrame = frameFromColumns(
  Object.fromEntries(Object.entries(cols).map(([k, v]) => [k, v.subarray(0, SHAP_ROWS)])),
);
const loaded = deserializeModel(envelope).model as typeof model;
const shapMs = median(() => loaded.explain(shapFrame), 3);

const onnxBytes = gbdtToOnnx(model);
const session = await ort.InferenceSession.create(onnxBytes);
const feeds = Object.fromEntries(
  Object.entries(cols).map(([k, v]) => [k, new ort.Tensor("float64", v, [N, 1])]),
);
const first = (await session.run(feeds)) as Record<string, ort.Tensor>;
const native = model.predict(frame);
const proba = first.probabilities?.data as Float32Array;
let maxDiff = 0;
for (let i = 0; i < N; i++)
  maxDiff = Math.max(maxDiff, Math.abs((proba[2 * i + 1] as number) - (native[i] as number)));
const t0 = performance.now();
await session.run(feeds);
const onnxPredictMs = performance.now() - t0;
const nativePredictMs = median(() => model.predict(frame), 5);

// XGBoost reference: same data, 100 trees depth 6 (hist), JSON model load time and pred_contribs time.
const dir = mkdtempSync(join(tmpdir(), "loopml-bench-explain-"));
const csv = [Object.keys(cols).join(",") + ",y"];
for (let i = 0; i < N; i++)
  csv.push(
    Object.values(cols)
      .map((c) => (Number.isNaN(c[i]) ? "" : String(c[i])))
      .join(",") + `,${y[i]}`,
  );
writeFileSync(join(dir, "d.csv"), csv.join("\n"));
const py = `
import time, statistics, numpy as np, xgboost as xgb
d = np.genfromtxt("${dir}/d.csv", delimiter=",", skip_header=1)
X, y = d[:, :-1], d[:, -1]
m = xgb.train({"tree_method": "hist", "max_depth": 6, "eta": 0.1, "objective": "binary:logistic", "nthread": 2}, xgb.DMatrix(X, label=y), 100)
m.save_model("${dir}/m.json")
def med(f, n=15):
    f(); t = []
    for _ in range(n):
        s = time.perf_counter(); f(); t.append(time.perf_counter() - s)
    return statistics.median(t) * 1000
load = med(lambda: xgb.Booster(model_file="${dir}/m.json"))
dm = xgb.DMatrix(X[:${SHAP_ROWS}])
shap = med(lambda: m.predict(dm, pred_contribs=True), 3)
print(f'{{"xgboostJsonLoadMs": {load}, "xgboostPredContribsMs": {shap}}}')
`;
const ref = spawnSync("/usr/bin/python3", ["-c", py], { encoding: "utf8" });
rmSync(dir, { recursive: true, force: true });
const reference =
  ref.status === 0
    ? (JSON.parse(ref.stdout.trim().split("\n").pop() as string) as Record<string, number>)
    : { error: ref.stderr.slice(-500) };

const result = {
  model: { trees: model.nTrees, maxDepth: 6, features: F, trainRows: N },
  envelopeBytes: envelope.length,
  jsonBytes: jsonText.length,
  envelopeLoadMs,
  legacyJsonLoadMs: jsonLoadMs,
  treeShapRows: SHAP_ROWS,
  treeShapMs: shapMs,
  treeShapRowsPerSecond: Math.round((SHAP_ROWS / shapMs) * 1000),
  onnxBytes: onnxBytes.length,
  onnxMaxAbsDiffVsNative: maxDiff,
  onnxPredictMs20kRows: onnxPredictMs,
  nativePredictMs20kRows: nativePredictMs,
  reference,
};
console.log(JSON.stringify(result));
await writeResults("explain-export", result);
