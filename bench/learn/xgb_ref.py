"""XGBoost reference for bench/learn/gbdt-vs-xgboost.ts: trains on the same files and reports one JSON line.

Usage: /usr/bin/python3 bench/learn/xgb_ref.py <data-dir> <task: binary|regression> <out-predictions-file>
Data files (written by the TypeScript bench): <task>-train-x.f64 (column-major float64, NaN = missing),
<task>-train-y.f64, <task>-test-x.f64, <task>-test-y.f64 and <task>-meta.json.
"""
import json
import os
import resource
import sys
import time

import numpy as np
import xgboost as xgb

data_dir, task, out_path = sys.argv[1], sys.argv[2], sys.argv[3]
with open(os.path.join(data_dir, f"{task}-meta.json")) as f:
    meta = json.load(f)
n_features, n_train, n_test = meta["nFeatures"], meta["nTrain"], meta["nTest"]


def load_x(name, n):
    # Column-major on disk; make a C-contiguous row-major copy, as a user would hand to XGBoost.
    return np.ascontiguousarray(np.fromfile(os.path.join(data_dir, name), dtype=np.float64).reshape(n_features, n).T)


x_train = load_x(f"{task}-train-x.f64", n_train)
y_train = np.fromfile(os.path.join(data_dir, f"{task}-train-y.f64"), dtype=np.float64)
x_test = load_x(f"{task}-test-x.f64", n_test)

params = {
    "tree_method": "hist",
    "nthread": 2,
    "max_depth": 6,
    "eta": 0.1,
    "objective": "binary:logistic" if task == "binary" else "reg:squarederror",
    "seed": 1,
}
t0 = time.perf_counter()
c0 = time.process_time()
dtrain = xgb.DMatrix(x_train, label=y_train, nthread=2)
booster = xgb.train(params, dtrain, num_boost_round=100)
fit_seconds = time.perf_counter() - t0
fit_cpu_seconds = time.process_time() - c0

best = float("inf")
best_cpu = float("inf")
for _ in range(3):
    t1 = time.perf_counter()
    c1 = time.process_time()
    pred = booster.inplace_predict(x_test)
    best = min(best, time.perf_counter() - t1)
    best_cpu = min(best_cpu, time.process_time() - c1)
np.asarray(pred, dtype=np.float64).tofile(out_path)

print(
    json.dumps(
        {
            "library": "xgboost " + xgb.__version__,
            "task": task,
            "fitSeconds": fit_seconds,
            "fitCpuSeconds": fit_cpu_seconds,
            "predictRowsPerSecond": n_test / best,
            "predictRowsPerCpuSecond": n_test / best_cpu,
            "peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )
)
