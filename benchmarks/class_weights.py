"""Class weighting of the property networks: accuracy and balanced accuracy per weighting, same protocol.

Trains the CNN of each property task (``--tasks``) on the run's random folds with the loss weighted by
``(1 / class frequency) ** power`` for each ``--powers`` value (1: inverse frequency, 0.5: tempered, 0: none)
and prints per task and power the mean accuracy, balanced accuracy and the majority-class baseline over folds.
The default preset, one thread, no shuffled control.

    python benchmarks/class_weights.py [RESULTS_DIR] [--tasks breaks,broadband] [--powers 1,0.5,0] [--folds 3]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from usvflow.classify.folds import FoldData, run_fold
from usvflow.classify.tasks import TASKS, train_settings
from usvflow.features.dataset import load_cohort


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="?", default="results", type=Path)
    ap.add_argument("--tasks", default="breaks,broadband")
    ap.add_argument("--powers", default="1,0.5,0")
    ap.add_argument("--folds", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    config = yaml.safe_load(open(Path(__file__).resolve().parents[1] / "config.yaml"))
    settings = train_settings(config)
    for task in args.tasks.split(","):
        cohort = TASKS[task].cohort
        data = FoldData(table=None)
        data.table, data.images = load_cohort(args.results / "dataset" / f"{cohort}.calls.parquet",
                                              args.results / "dataset" / f"{cohort}.spectrograms.npy")
        for power in map(float, args.powers.split(",")):
            t0, rows = time.perf_counter(), []
            for k in range(args.folds):
                m, _, _, _ = run_fold(task, "random10", f"k{k}", "cnn", data,
                                      {**settings, "class_weight_power": power}, log=None)
                counts = np.asarray(m["class_counts_test"], float)
                rows.append((m["accuracy"], m["balanced_accuracy"], counts.max() / counts.sum()))
            acc, bal, major = (100 * np.asarray(c) for c in zip(*rows))
            print(f"{task:10s} power {power:3.1f}: accuracy {acc.mean():5.1f} %, balanced {bal.mean():5.1f} % "
                  f"(folds: {', '.join(f'{b:.1f}' for b in bal)}), majority baseline {major.mean():5.1f} %, "
                  f"{time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
