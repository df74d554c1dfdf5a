# Trains the serving benchmark's model: 100 trees of depth 6 on 28 features (HIGGS-like shape), saved as XGBoost JSON.
# Usage: /usr/bin/python3 make_model.py OUT_DIR ; writes OUT_DIR/m.json and OUT_DIR/rows.json (rows + XGBoost's predictions).
import json
import os
import sys

import numpy as np
import xgboost as xgb

out = sys.argv[1]
rng = np.random.default_rng(7)
x = rng.normal(size=(20000, 28)).astype(np.float32)
x[rng.random(size=x.shape) < 0.02] = np.nan
z = np.nan_to_num(x)
y = (z[:, 0] * z[:, 1] + np.sin(z[:, 2]) + 0.5 * z[:, 3:8].sum(axis=1) + rng.normal(size=len(z)) > 0).astype(np.float32)
booster = xgb.train(
    {"objective": "binary:logistic", "max_depth": 6, "eta": 0.1, "seed": 0, "nthread": 2},
    xgb.DMatrix(x, label=y),
    num_boost_round=100,
)
booster.save_model(os.path.join(out, "m.json"))
rows = x[:100]
pred = booster.predict(xgb.DMatrix(rows))
with open(os.path.join(out, "rows.json"), "w") as f:
    json.dump({"rows": [[None if np.isnan(v) else float(v) for v in r] for r in rows], "predictions": pred.astype(float).tolist()}, f)
