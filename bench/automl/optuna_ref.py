"""Optuna TPE tuning XGBoost hist under a wall-clock budget: the reference for bench/automl/automl-vs-optuna.ts.

Usage: /usr/bin/python3 bench/automl/optuna_ref.py <dir> <budget-seconds>
Reads <dir>/meta.json (task, nClasses, nFeatures, nTrain, nTest, folds), train-x.f64 / test-x.f64
(column-major float64, NaN = missing) and train-y.f64 / test-y.f64; validates each trial with the same
k folds as loopml (xgb.cv, stratified for classification; a 20% holdout when loopml uses one), refits
the best on all training rows and prints one JSON line with its test predictions' score.

The budget bounds it as loopml's bounds loopml: boosting stops at the search's end (a callback between
rounds); a trial cut short is pruned, unless no trial has completed yet (then it counts with the rounds it
ran, so there is always a model). The final refit stops at the budget's end and says so (refitCut).
"""
import json
import math
import os
import sys
import time

import numpy as np
import optuna
import xgboost as xgb

optuna.logging.set_verbosity(optuna.logging.WARNING)
data_dir, budget = sys.argv[1], float(sys.argv[2])
started = time.perf_counter()
cpu_started = time.process_time()
with open(os.path.join(data_dir, "meta.json")) as f:
    meta = json.load(f)
task, k, nf = meta["task"], meta["nClasses"], meta["nFeatures"]


def load(name, n):
    raw = np.fromfile(os.path.join(data_dir, name), dtype=np.float64)
    return np.ascontiguousarray(raw.reshape(nf, n).T) if name.endswith("-x.f64") else raw


x_train, y_train = load("train-x.f64", meta["nTrain"]), load("train-y.f64", meta["nTrain"])
x_test, y_test = load("test-x.f64", meta["nTest"]), load("test-y.f64", meta["nTest"])
dtrain = xgb.DMatrix(x_train, label=y_train, nthread=2)
base = {"tree_method": "hist", "nthread": 2, "seed": 1, "verbosity": 0}
if task == "binary":
    base.update(objective="binary:logistic", eval_metric="auc")
elif task == "multiclass":
    base.update(objective="multi:softprob", num_class=k, eval_metric="mlogloss")
else:
    base.update(objective="reg:squarederror", eval_metric="rmse")
metric_key = f"test-{base['eval_metric']}-mean"
maximize = task == "binary"
# Keep time for the refit, as loopml's budget includes its own.
search_end = started + budget * 0.9
budget_end = started + budget


class StopAt(xgb.callback.TrainingCallback):
    """Stops boosting once the clock passes `at` (checked between rounds)."""

    def __init__(self, at):
        super().__init__()
        self.at = at
        self.cut = False

    def after_iteration(self, model, epoch, evals_log):
        if time.perf_counter() >= self.at:
            self.cut = True
            # xgb.cv keeps the rounds up to best_iteration when a callback stops it: all of them.
            model.set_attr(best_iteration=str(epoch))
        return self.cut


cut_trials = 0
# Seconds a refit of the best trial so far is expected to take: trials stop early enough to leave them.
refit_reserve = 0.0
# loopml validates large tables on one 20% holdout (folds = 1), small ones by k-fold: the same here.
folds = meta["folds"]
holdout = folds <= 1
if holdout:
    perm = np.random.default_rng(1).permutation(len(y_train))
    fit_rows, hold_rows = perm[: int(0.8 * len(perm))], perm[int(0.8 * len(perm)):]
    dfit = xgb.DMatrix(x_train[fit_rows], label=y_train[fit_rows], nthread=2)
    dhold = xgb.DMatrix(x_train[hold_rows], label=y_train[hold_rows], nthread=2)


def objective(trial):
    params = dict(
        base,
        max_depth=trial.suggest_int("max_depth", 2, 10),
        eta=trial.suggest_float("eta", 0.01, 0.3, log=True),
        min_child_weight=trial.suggest_float("min_child_weight", 0.01, 64, log=True),
        subsample=trial.suggest_float("subsample", 0.5, 1.0),
        colsample_bytree=trial.suggest_float("colsample_bytree", 0.3, 1.0),
        reg_lambda=trial.suggest_float("lambda", 1e-3, 100, log=True),
        reg_alpha=trial.suggest_float("alpha", 1e-3, 100, log=True),
    )
    global cut_trials
    rounds = trial.suggest_int("num_boost_round", 20, 1000, log=True)
    stop = StopAt(min(search_end, budget_end - refit_reserve))
    if holdout:
        log = {}
        xgb.train(params, dfit, num_boost_round=rounds, evals=[(dhold, "test")], evals_result=log,
                  verbose_eval=False, callbacks=[stop])
        column = log["test"][base["eval_metric"]]
    else:
        cv = xgb.cv(params, dtrain, num_boost_round=rounds, nfold=folds, stratified=task != "regression",
                    seed=1, callbacks=[stop])
        column = cv[metric_key]  # a DataFrame column with pandas, a list without
    if stop.cut:
        cut_trials += 1
        if any(t.state == optuna.trial.TrialState.COMPLETE for t in trial.study.trials):
            raise optuna.TrialPruned()
        trial.set_user_attr("rounds", len(column))
    return float(column.iloc[-1] if hasattr(column, "iloc") else column[-1])


def leave_time_for_refit(study, trial):
    """Stops the search when refitting the best trial on all rows would run past the budget."""
    if not any(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials):
        return
    # A trial fits `folds` models on (k-1)/k of the rows (one on 80% for a holdout); the refit one on all.
    share = 0.8 if holdout else (folds - 1) / folds
    global refit_reserve
    refit_reserve = study.best_trial.duration.total_seconds() / max(1, folds) / share
    if time.perf_counter() + refit_reserve > budget_end:
        study.stop()


study = optuna.create_study(direction="maximize" if maximize else "minimize", sampler=optuna.samplers.TPESampler(seed=1))
study.optimize(objective, timeout=max(1.0, search_end - time.perf_counter()), callbacks=[leave_time_for_refit])
best = dict(study.best_params)
rounds = study.best_trial.user_attrs.get("rounds", best.pop("num_boost_round"))
best.pop("num_boost_round", None)
best["reg_lambda"], best["reg_alpha"] = best.pop("lambda"), best.pop("alpha")
refit_stop = StopAt(budget_end)
booster = xgb.train(dict(base, **best), dtrain, num_boost_round=rounds, callbacks=[refit_stop])
pred = booster.predict(xgb.DMatrix(x_test, nthread=2))
if task == "binary":
    order = np.argsort(pred, kind="mergesort")
    ranks = np.empty(len(pred))
    sorted_pred = pred[order]
    i = 0
    while i < len(pred):
        j = i
        while j + 1 < len(pred) and sorted_pred[j + 1] == sorted_pred[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    pos = y_test == 1
    n_pos, n_neg = pos.sum(), (~pos).sum()
    score = float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
elif task == "multiclass":
    p = np.clip(pred, 1e-15, 1 - 1e-15)
    p = p / p.sum(axis=1, keepdims=True)
    score = float(-np.mean(np.log(p[np.arange(len(y_test)), y_test.astype(int)])))
else:
    score = float(math.sqrt(np.mean((pred - y_test) ** 2)))
print(json.dumps({"library": "optuna-tpe+xgboost", "optuna": optuna.__version__, "xgboost": xgb.__version__,
                  "trials": len(study.trials),
                  "completedTrials": sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials),
                  "cutTrials": cut_trials, "refitCut": refit_stop.cut, "cvScore": study.best_value,
                  "testScore": score, "seconds": time.perf_counter() - started,
                  "cpuSeconds": time.process_time() - cpu_started}))
