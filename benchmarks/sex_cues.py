"""How much of the sex signal of a finished run lies in call level (volume), which the call images do not carry.

Leave-one-animal-out, class-balanced logistic regression on the 9 basic features of the sex cohort: all nine,
the nine without volume, and volume alone. Prints the mean accuracy over held-out animals of each.

    python benchmarks/sex_cues.py [RESULTS_DIR]        # default: results

Call images are scaled to each call's own maximum (usvflow.detect), so a CNN or SVM on them can only reach
the information of the "without volume" row.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import LeaveOneGroupOut, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from usvflow.features.columns import FEATURES_9 as NINE  # the paper's 9 basic features, as the workflow uses them


def loao_accuracy(X: np.ndarray, y: np.ndarray, animals: np.ndarray) -> float:
    """Mean over held-out animals of the fraction of that animal's calls classified correctly."""
    model = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced"))
    return float(cross_val_score(model, X, y, groups=animals, cv=LeaveOneGroupOut(), scoring="accuracy").mean())


def main(results: Path) -> None:
    features = pd.read_parquet(results / "features" / "sex.features.parquet")
    calls = pd.read_parquet(results / "dataset" / "sex.calls.parquet")
    table = calls[["call_uid", "animal", "sex"]].merge(features, on="call_uid")
    y = (table["sex"].astype(str).str.upper() == "M").to_numpy(int)
    animals = table["animal"].astype(str).to_numpy()
    print(f"sex cohort of {results}: {len(table)} calls, {len(np.unique(animals))} animals")
    for name, cols in [("9 features", NINE), ("9 features without volume", [c for c in NINE if c != "volume_db"]),
                       ("volume alone", ["volume_db"])]:
        X = table[cols].astype(float).fillna(0.0).to_numpy()
        print(f"{name:28s} {100 * loao_accuracy(X, y, animals):5.1f} % leave-one-animal-out")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("results"))
