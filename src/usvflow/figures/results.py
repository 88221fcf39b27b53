"""Reading the training rules' per-fold results (``results/train/.../*.metrics.json`` and
``*.predictions.parquet``) into the numbers Figs 3, 4, 5, S1 and S2 draw: accuracies per fold, per animal and per
sex, majority baselines, the regularisation the nested search chose, paired tests and their short texts.
Nothing is trained or typed in here; :mod:`usvflow.figures.models` draws from these."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..report.stats import binomial_vs_chance, signed_rank
from ..report.summary import mean_sem, median_sem


def read_metrics(paths: Sequence[str | Path]) -> pd.DataFrame:
    """One row per metrics.json (folds skipped by the classical stage keep accuracy NaN)."""
    rows = []
    for p in paths:
        if not str(p).endswith(".json"):
            continue
        with open(p) as fh:
            m = json.load(fh)
        m["path"] = str(p)
        rows.append(m)
    cols = ["task", "split", "fold", "model", "shuffled", "accuracy", "chance", "n_test", "n_train",
            "per_class_accuracy", "classes", "balanced_accuracy"]
    df = pd.DataFrame(rows)
    for c in cols:
        if c not in df:
            df[c] = np.nan
    df["accuracy"] = pd.to_numeric(df["accuracy"], errors="coerce")
    return df


def read_predictions(paths: Sequence[str | Path]) -> pd.DataFrame:
    """All predictions.parquet files, with ``task, split, fold, model`` from their paths."""
    frames = []
    for p in paths:
        p = Path(p)
        if not p.name.endswith(".predictions.parquet"):
            continue
        df = pd.read_parquet(p)
        task, split, fold = p.parts[-4], p.parts[-3], p.parts[-2]
        df = df.assign(task=task, split=split, fold=fold, model=p.name.removesuffix(".predictions.parquet"))
        frames.append(df)
    if not frames:
        return pd.DataFrame(columns=["call_uid", "y_true", "y_pred", "score", "task", "split", "fold", "model"])
    return pd.concat(frames, ignore_index=True)


def accuracies(metrics: pd.DataFrame, task: str, model: str, split: str | None = None,
               column: str = "accuracy") -> pd.Series:
    """Fold accuracies (or ``balanced_accuracy``: mean of per-class accuracies) of one (task, model)."""
    m = metrics[(metrics["task"] == task) & (metrics["model"] == model)]
    if split is not None:
        m = m[m["split"] == split]
    return pd.to_numeric(m.set_index("fold")[column], errors="coerce").astype(float).sort_index()


def majority_baseline(metrics: pd.DataFrame, task: str, model: str = "cnn") -> pd.Series:
    """Per fold, the accuracy of always answering the most common value of its test calls: the baseline a
    skewed property task's accuracy must beat (84 % of calls have no break; chance 1/K would be 25 %)."""
    m = metrics[(metrics["task"] == task) & (metrics["model"] == model)]
    if "class_counts_test" not in m:
        return pd.Series(dtype=float)
    share = [max(c) / sum(c) if isinstance(c, (list, tuple, np.ndarray)) and sum(c) > 0 else np.nan
             for c in m["class_counts_test"]]
    return pd.Series(share, index=m["fold"].to_numpy(), dtype=float).sort_index()


def balanced_chance(metrics: pd.DataFrame, task: str, model: str = "cnn") -> pd.Series:
    """Per fold, the chance level of its balanced accuracy: 1 / (number of values present in its test calls).
    The balanced accuracy averages the per-value accuracies of the values present only
    (:func:`usvflow.classify.folds.fold_metrics`), so an answer that ignores the call scores at most that
    (e.g. peaks: no test call with 3+ peaks, three values, chance 33 % rather than 1/K = 25 %)."""
    m = metrics[(metrics["task"] == task) & (metrics["model"] == model)]
    present = [sum(v is not None for v in c.values()) if isinstance(c, dict) else 0 for c in m["per_class_accuracy"]]
    chance = [1.0 / n if n else np.nan for n in present]
    return pd.Series(chance, index=m["fold"].to_numpy(), dtype=float).sort_index()


def chosen_regularisation(metrics: pd.DataFrame, task: str, model: str) -> float | None:
    """The value of a classical model's regularisation chosen most often over its folds (nested
    leave-one-animal-out; ties: the larger, i.e. stronger for ridge); None when no fold recorded one."""
    m = metrics[(metrics["task"] == task) & (metrics["model"] == model)]
    if "hyperparameter" not in m:
        return None
    values = [h["value"] for h in m["hyperparameter"] if isinstance(h, dict) and h.get("value") is not None]
    if not values:
        return None
    counts = pd.Series(values).value_counts()
    return float(max(counts[counts == counts.max()].index))


def per_animal(predictions: pd.DataFrame, table: pd.DataFrame, model: str, chance: float) -> pd.DataFrame:
    """Accuracy per animal over its test calls (all folds pooled), with a one-sided binomial test vs chance."""
    p = predictions[predictions["model"] == model].merge(table[["call_uid", "animal", "sex", "strain"]],
                                                           on="call_uid", how="left")
    rows = []
    for animal, g in p.groupby("animal"):
        n, k = len(g), int((g["y_true"] == g["y_pred"]).sum())
        rows.append({"animal": animal, "sex": g["sex"].iloc[0], "strain": g["strain"].iloc[0], "n": n,
                     "correct": k, "accuracy": k / n if n else np.nan,
                     "p_binomial": binomial_vs_chance(k, n, chance)})
    return pd.DataFrame(rows, columns=["animal", "sex", "strain", "n", "correct", "accuracy", "p_binomial"])


def near_one_class(metrics: pd.DataFrame, task: str, model: str, share: float = 0.95) -> pd.DataFrame:
    """Leave-one-animal-out folds whose test set (one animal, one class) got one answer for at least ``share``
    of its calls: accuracy ≤ 1 - share (nearly all called another class) or ≥ share. Columns ``fold``,
    ``accuracy``, ``C`` (the nested choice of the regularisation, where recorded)."""
    m = metrics[(metrics["task"] == task) & (metrics["model"] == model) & (metrics["split"] == "loao")]
    rows = []
    for r in m.itertuples():
        present = [c for c, v in (r.per_class_accuracy if isinstance(r.per_class_accuracy, dict) else {}).items()
                   if v is not None]
        acc = float(r.accuracy)
        if len(present) == 1 and np.isfinite(acc) and (acc <= 1 - share or acc >= share):
            h = getattr(r, "hyperparameter", None)
            rows.append({"fold": r.fold, "accuracy": acc, "C": h.get("value") if isinstance(h, dict) else None})
    return pd.DataFrame(rows, columns=["fold", "accuracy", "C"]).sort_values("fold", ignore_index=True)


def answered_shares(metrics: pd.DataFrame, predictions: pd.DataFrame, task: str, model: str) -> dict[str, float]:
    """The share of all test calls (every fold pooled) given each answer, by class name (the metrics'
    ``classes``: index → name), e.g. ``{"F": 0.58, "M": 0.42}``; {} without predictions or class names."""
    m = metrics[(metrics["task"] == task) & (metrics["model"] == model)]
    p = predictions[predictions["model"] == model] if "model" in predictions else predictions.iloc[:0]
    if "task" in p:
        p = p[p["task"] == task]
    classes = next((c for c in m["classes"] if isinstance(c, (list, tuple, np.ndarray))), None) if len(m) else None
    if classes is None or not len(p):
        return {}
    names = dict(enumerate(str(c) for c in classes))
    shares = p["y_pred"].map(names).value_counts(normalize=True)
    return {str(k): float(v) for k, v in shares.items()}


# --------------------------------------------------------------------------------------------- statistics


def vs_chance(acc: Sequence[float], chance: float) -> float:
    """One-sided Wilcoxon signed-rank p that fold accuracies exceed chance (exact at small n)."""
    a = np.asarray(acc, float)
    a = a[np.isfinite(a)] - chance
    if a.size == 0 or np.all(a == 0):
        return float("nan")
    return float(signed_rank(a, alternative="greater").p)


def paired(a: pd.Series, b: pd.Series) -> dict[str, Any]:
    """Wilcoxon signed-rank of two models over their common folds (two-sided, exact at small n): p, n,
    mean and median of the per-fold difference ``a - b``, and which null distribution gave p."""
    common = a.dropna().index.intersection(b.dropna().index)
    if len(common) < 2:
        return {"p": None, "n": int(len(common))}
    r = signed_rank(a[common].to_numpy(), b[common].to_numpy())
    diff = (a[common] - b[common]).to_numpy(float)
    return {"p": r.p, "n": int(len(common)), "mean_difference": float(diff.mean()),
            "median_difference": float(np.median(diff)), "method": r.method}


def paired_text(test: dict[str, Any]) -> str:
    """``p = 0.0078 (exact signed-rank, n = 8; median difference +12.3 points)`` for the summary."""
    if test.get("p") is None:
        return f"not testable (n = {test.get('n', 0)} common folds)"
    return (f"p = {test['p']:.2g} ({test.get('method', '')} signed-rank, n = {test['n']}; median difference "
            f"{100 * test['median_difference']:+.1f} points)")


def summary_of(acc: Sequence[float]) -> dict[str, Any]:
    a = np.asarray([v for v in acc if v is not None and np.isfinite(v)], float)
    return {"n": int(a.size), "mean": float(a.mean()) if a.size else None,
            "sem": float(a.std(ddof=1) / np.sqrt(a.size)) if a.size > 1 else None,
            "median": float(np.median(a)) if a.size else None, "values": a.tolist()}


def pct(acc: Sequence[float]) -> str:
    return mean_sem(list(acc))


def med(acc: Sequence[float]) -> str:
    """Median ± SEM with the mean beside it (the paper's form for Fig 3D/E and S1)."""
    return median_sem(list(acc))
