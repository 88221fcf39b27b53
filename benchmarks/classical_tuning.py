"""Ridge and SVM baselines of a finished run, leave-one-animal-out: accuracy, chosen regularisation and time.

Runs every classical model (``usvflow.classify.classical_tasks.ALL_MODELS``) on every held-out animal of a
cohort from the run's dataset and feature files, exactly as the ``classical_*`` rules do, and prints per model
the mean ± SEM accuracy over held-out animals, the regularisation chosen per fold (nested leave-one-animal-out)
and the seconds it took. ``--fixed`` runs the old protocol (ridge alpha = 1, C = 1, no tuning) for comparison.

    python benchmarks/classical_tuning.py [RESULTS_DIR] [--cohort sex] [--fixed] [--models ridge_semiconv,...]
"""
from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from usvflow.classify.classical import input_matrix, run_fold
from usvflow.classify.classical_tasks import ALL_MODELS, DEFAULT_PARAMS, MODELS, encode_labels, task_spec
from usvflow.features.cohort import load_features


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="?", default="results", type=Path)
    ap.add_argument("--cohort", default="sex", choices=["sex", "strain"])
    ap.add_argument("--fixed", action="store_true", help="alpha = 1, C = 1 (the protocol before tuning)")
    ap.add_argument("--models", default="", help="comma-separated subset of the models")
    ap.add_argument("--folds", default="", help="comma-separated held-out animals (default: all)")
    args = ap.parse_args()
    spec = task_spec(args.cohort)
    table = pd.read_parquet(args.results / "dataset" / f"{args.cohort}.calls.parquet")
    y = encode_labels(table[spec["column"]], spec)
    X = {"spectrogram": input_matrix("spectrogram", table,
                                     images=np.load(args.results / "dataset" / f"{args.cohort}.spectrograms.npy"))}
    feats = args.results / "features" / f"{args.cohort}.features.parquet"
    if feats.exists():
        f, vectors = load_features(feats, feats.with_name(f"{args.cohort}.vectors.npz"))
        X["feat9"], X["semiconv"] = input_matrix("feat9", f), input_matrix("semiconv", f, vectors=vectors)
    params = dict(DEFAULT_PARAMS, shuffle_repeats=3)
    if args.fixed:
        params.update(ridge_alpha=1.0, svm_c=1.0)
    models = [m for m in (args.models.split(",") if args.models else ALL_MODELS)
              if MODELS[m.removesuffix("_shuffled")][1] in X]
    animals = args.folds.split(",") if args.folds else sorted(table["animal"].astype(str).unique())
    print(f"{args.cohort} cohort of {args.results}: {len(table)} calls, {len(animals)} animals; "
          f"{'fixed alpha = C = 1' if args.fixed else 'nested leave-one-animal-out tuning'}")
    total = 0.0
    for model in models:
        kind = MODELS[model.removesuffix("_shuffled")][1]
        t0, c0 = time.perf_counter(), time.process_time()
        acc, chosen = [], []
        for a in animals:
            r = run_fold(X[kind], y, table["animal"], table["call_uid"], a, model, args.cohort, spec, params,
                         standardise=kind != "spectrogram")
            if r.metrics["accuracy"] is not None:
                acc.append(r.metrics["accuracy"])
                chosen += r.metrics.get("hyperparameter_per_replicate", [r.metrics["hyperparameter"]["value"]])
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        total += cpu
        a = np.asarray(acc) * 100
        sem = a.std(ddof=1) / np.sqrt(a.size) if a.size > 1 else float("nan")
        picks = ", ".join(f"{v:g} x{k}" for v, k in sorted(Counter(chosen).items()))
        print(f"{model:26s} {a.mean():5.1f} ± {sem:4.1f} %  (n={a.size})  "
              f"{cpu:6.1f} s CPU ({dt:.1f} s wall)   chosen: {picks}", flush=True)
    print(f"total {total:.1f} s CPU, one BLAS thread (as a workflow job)")


if __name__ == "__main__":
    with threadpool_limits(limits=1):  # as the classical rules run: one thread per job
        main()
