"""scikit-learn reference for bench/learn/rf-linear-vs-sklearn.ts: trains on the same files, prints one JSON line.

Usage: /usr/bin/python3 bench/learn/sklearn_ref.py <data-dir> <case> <out-predictions-file>
case: rf-binary | rf-regression | linear-binary | linear-regression. Files: <case>-{train,test}-{x,y}.f64
(column-major float64, no missing values) and <case>-meta.json ({nFeatures, nTrain, nTest}).
"""
import json
import os
import resource
import sys
import time

import numpy as np
import sklearn
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.preprocessing import StandardScaler

data_dir, case, out_path = sys.argv[1], sys.argv[2], sys.argv[3]
with open(os.path.join(data_dir, f"{case}-meta.json")) as f:
    meta = json.load(f)
p, n_train, n_test = meta["nFeatures"], meta["nTrain"], meta["nTest"]


def load(name, n):
    return np.fromfile(os.path.join(data_dir, f"{case}-{name}.f64"), dtype=np.float64)


x_train = np.ascontiguousarray(load("train-x", n_train).reshape(p, n_train).T)
y_train = load("train-y", n_train)
x_test = np.ascontiguousarray(load("test-x", n_test).reshape(p, n_test).T)

t0 = time.perf_counter()
c0 = time.process_time()
coef = None
if case == "rf-binary":
    model = RandomForestClassifier(n_estimators=100, n_jobs=2, random_state=1).fit(x_train, y_train)
    predict = lambda x: model.predict_proba(x)[:, 1]
elif case == "rf-regression":
    model = RandomForestRegressor(n_estimators=100, n_jobs=2, random_state=1).fit(x_train, y_train)
    predict = model.predict
else:
    # Coefficients are compared on standardised data; the scaler is part of the fit time.
    scaler = StandardScaler().fit(x_train)
    z = scaler.transform(x_train)
    if case == "linear-binary":
        model = LogisticRegression(C=1.0, tol=1e-10, max_iter=10000).fit(z, y_train)
        predict = lambda x: model.predict_proba(scaler.transform(x))[:, 1]
    else:
        model = LinearRegression().fit(z, y_train)
        predict = lambda x: model.predict(scaler.transform(x))
    coef = np.atleast_2d(model.coef_)[0].tolist()
fit_seconds = time.perf_counter() - t0
fit_cpu_seconds = time.process_time() - c0

best = float("inf")
for _ in range(3):
    t1 = time.perf_counter()
    pred = predict(x_test)
    best = min(best, time.perf_counter() - t1)
np.asarray(pred, dtype=np.float64).tofile(out_path)
print(json.dumps({
    "library": "scikit-learn " + sklearn.__version__,
    "case": case,
    "fitSeconds": fit_seconds,
    "fitCpuSeconds": fit_cpu_seconds,
    "predictRowsPerSecond": n_test / best,
    "peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    **({"coef": coef} if coef is not None else {}),
}))
