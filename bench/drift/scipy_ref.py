"""SciPy/NumPy side of the drift benchmark: the same per-column work as Evidently's KS, Wasserstein and PSI tests.

Usage: /usr/bin/python3 bench/drift/scipy_ref.py <data-dir>
Reads the raw float64/int32 files written by drift-vs-scipy.ts, prints one JSON line with timings, peak RSS
and the computed values (for the agreement check).
"""

import json
import resource
import sys
import time
import warnings

import numpy as np
from scipy import stats

warnings.simplefilter("ignore")


def get_binned_data(ref, cur, feel_zeroes=True):
    # Evidently's utils.get_binned_data for a numeric column (pd.Series.nunique replaced by np.unique).
    if np.unique(ref).size > 20:
        bins = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
        r = np.histogram(ref, bins)[0] / len(ref)
        c = np.histogram(cur, bins)[0] / len(cur)
    else:
        keys = np.union1d(ref, cur)
        r = np.array([np.sum(ref == k) for k in keys]) / len(ref)
        c = np.array([np.sum(cur == k) for k in keys]) / len(cur)
    if feel_zeroes:
        for p in (r, c):
            m = p[p != 0].min()
            np.place(p, p == 0, m / 10**6 if m <= 0.0001 else 0.0001)
    return r, c


def main():
    data_dir = sys.argv[1]
    meta = json.load(open(f"{data_dir}/meta.json"))
    n_ref, n_cur, features = meta["referenceRows"], meta["currentRows"], meta["features"]
    raw = np.memmap(f"{data_dir}/numeric.f64", dtype=np.float64, mode="r")
    timings = {"ks": 0.0, "wasserstein": 0.0, "psi": 0.0, "chisquare": 0.0}
    cpu = 0.0
    columns = []
    for f in range(features):
        base = f * (n_ref + n_cur)
        # Copy into ordinary arrays, as a DataFrame column would be; NaN (missing) dropped like Evidently.
        ref = np.array(raw[base : base + n_ref])
        cur = np.array(raw[base + n_ref : base + n_ref + n_cur])
        ref, cur = ref[~np.isnan(ref)], cur[~np.isnan(cur)]
        c0 = time.process_time()
        t0 = time.perf_counter()
        ks = stats.ks_2samp(ref, cur, method="auto")
        t1 = time.perf_counter()
        w = stats.wasserstein_distance(ref, cur) / max(np.std(ref), 0.001)
        t2 = time.perf_counter()
        r, c = get_binned_data(ref, cur)
        psi = float(np.sum((r - c) * np.log(r / c)))
        t3 = time.perf_counter()
        cpu += time.process_time() - c0
        timings["ks"] += t1 - t0
        timings["wasserstein"] += t2 - t1
        timings["psi"] += t3 - t2
        columns.append({"ks": [float(ks.statistic), float(ks.pvalue)], "wasserstein": float(w), "psi": psi})
    codes = np.fromfile(f"{data_dir}/categorical.i32", dtype=np.int32)
    c0 = time.process_time()
    t0 = time.perf_counter()
    ref, cur = codes[:n_ref], codes[n_ref:]
    ref, cur = ref[ref >= 0], cur[cur >= 0]
    k = max(ref.max(), cur.max()) + 1
    rc, cc = np.bincount(ref, minlength=k), np.bincount(cur, minlength=k)
    keep = (rc + cc) > 0
    chi = stats.chisquare(cc[keep], rc[keep] * (len(cur) / len(ref)))
    timings["chisquare"] = time.perf_counter() - t0
    cpu += time.process_time() - c0
    total = sum(timings.values())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "seconds": total,
                "cpuSeconds": cpu,
                "perTestSeconds": timings,
                "peakRssMb": peak_mb,
                "columns": columns,
                "chisquare": [float(chi.statistic), float(chi.pvalue)],
            }
        )
    )


main()
