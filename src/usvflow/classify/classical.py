"""Ridge regression and SVMs: the paper's classical baselines (Figs 3E, 4H, 4L, 5B).

Protocol (Methods, "Linear regression and support vector machines" and "Performance evaluation"):

* leave-one-animal-out: train on every other animal of the cohort, test on all calls of the held-out one;
* the training set is balanced by subsampling the larger class at random (fixed seed), as the paper did for
  ridge and SVM;
* ridge: regularised least squares on labels {0, 1} (the paper solved the normal equations), class 1 when the
  prediction exceeds 0.5; the paper found the result insensitive to the regularisation;
* SVM: quadratic kernel ``(gamma x.y + 1)^2`` on spectrograms (computed once as a Gram matrix, ``gamma`` =
  1 / (dims x variance of the training inputs), sklearn's ``'scale'``), linear kernel on features;
* shuffled-label control: the training labels are permuted across calls before balancing (``shuffle_repeats``
  permutations, predictions pooled); the test labels stay true, so the control should sit at chance.

Inputs (:data:`INPUTS`): ``spectrogram`` (100 x 100 images / 255), ``feat9`` (the paper's 9 features,
z-scored on the training set), ``semiconv`` (24 features + FF line in kHz + the time and spectral marginals,
each scaled to its call's maximum; z-scored on the training set: the 457-dimensional input of the
semi-convolutional network).

Model names, as used in ``results/train/{task}/loao/{fold}/{model}.*``: ``ridge``, ``svm`` (spectrograms),
``ridge_feat9``, ``svm_feat9``, ``ridge_semiconv``, ``svm_semiconv``, each also with ``_shuffled``.
Labels: sex M = 1, F = 0; strain cortexless = 1, WT = 0 (:data:`TASKS`, overridable in ``config.yaml``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.svm import SVC

from ..errors import InputError
from .classical_tasks import ALL_MODELS, DEFAULT_PARAMS, INPUTS, MODELS


def balance(y: np.ndarray, rng: np.random.Generator, cap: int = 0) -> np.ndarray:
    """Indices of a class-balanced subsample (the larger class reduced to the smaller's size)."""
    idx = [np.flatnonzero(y == c) for c in (0, 1)]
    k = min(len(i) for i in idx)
    if cap:
        k = min(k, cap)
    return np.sort(np.concatenate([rng.choice(i, size=k, replace=False) for i in idx]))


def input_matrix(kind: str, table: pd.DataFrame, images: np.ndarray | None = None,
                 vectors: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """The raw (unscaled) input rows of ``kind`` for every call."""
    from ..features.columns import FEATURES_9, FEATURES_24

    if kind == "spectrogram":
        if images is None:
            raise ValueError("spectrogram input needs the image stack")
        return images.reshape(len(images), -1).astype(np.float32) / 255.0
    if kind == "feat9":
        return table[FEATURES_9].to_numpy(float)
    if kind == "semiconv":
        if vectors is None:
            raise ValueError("semiconv input needs the feature vectors")
        # The marginals are per-call shapes in [0, 1] (usvflow.features.extract), 0 where there is no call:
        # taken as they are (a log would map every empty bin to one arbitrary constant).
        return np.hstack([table[FEATURES_24].to_numpy(float), vectors["ff_line"] / 1000.0,
                          vectors["time_marginal"].astype(float), vectors["spectral_marginal"].astype(float)])
    raise ValueError(f"unknown input {kind!r}; choose one of {', '.join(INPUTS)}")


def _standardise(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """z-score with training statistics; missing values take the training median first."""
    med = np.nan_to_num(np.nanmedian(np.where(np.isfinite(train), train, np.nan), axis=0)) if len(train) else 0
    train = np.where(np.isfinite(train), train, med)
    test = np.where(np.isfinite(test), test, med)
    mu, sd = train.mean(axis=0), train.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return (train - mu) / sd, (test - mu) / sd


def fit_predict(estimator: str, Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray,
                params: dict) -> np.ndarray:
    """Decision scores of ``Xte`` (> 0 means class 1) after fitting on ``(Xtr, ytr)``."""
    if estimator == "ridge":
        model = Ridge(alpha=params["ridge_alpha"], fit_intercept=True)
        model.fit(Xtr, ytr.astype(float))
        return model.predict(Xte) - 0.5
    if estimator == "svm_linear":
        model = SVC(kernel="linear", C=params["svm_c"])
        model.fit(Xtr, ytr)
        return model.decision_function(Xte)
    if estimator == "svm_quadratic":
        var = float(Xtr.var())
        gamma = 1.0 / (Xtr.shape[1] * var) if var > 0 else 1.0
        Xtr64, Xte64 = Xtr.astype(np.float64), Xte.astype(np.float64)
        # Gram matrices by BLAS: far faster than libsvm's own kernel loops on 10,000-d inputs.
        Ktr = (gamma * (Xtr64 @ Xtr64.T) + 1.0) ** 2
        Kte = (gamma * (Xte64 @ Xtr64.T) + 1.0) ** 2
        model = SVC(kernel="precomputed", C=params["svm_c"])
        model.fit(Ktr, ytr)
        return model.decision_function(Kte)
    raise ValueError(f"unknown estimator {estimator!r}")


@dataclass
class FoldResult:
    metrics: dict
    predictions: pd.DataFrame


def run_fold(X: np.ndarray, y: np.ndarray, animals: Sequence[str], call_uid: Sequence[str], test_animal: str,
             model: str, task: str, spec: dict[str, str], params: dict | None = None,
             standardise: bool = True) -> FoldResult:
    """Train ``model`` on every animal but ``test_animal`` and test on that one (leave-one-animal-out).

    ``y``: 1 / 0 labels (-1 rows are ignored). Bad folds (too few test calls, a training set without both
    classes) do not raise: the metrics carry ``skipped`` with the reason and a null accuracy, so the other
    folds and the summary still run.
    """
    p = dict(DEFAULT_PARAMS, **(params or {}))
    shuffled = model.endswith("_shuffled")
    base = model[: -len("_shuffled")] if shuffled else model
    if base not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose one of {', '.join(ALL_MODELS)}")
    estimator, _ = MODELS[base]
    animals = np.asarray(animals).astype(str)
    uid = np.asarray(call_uid).astype(str)
    classes = [spec["negative"], spec["positive"]]
    test = (animals == str(test_animal)) & (y >= 0)
    train = (animals != str(test_animal)) & (y >= 0)
    metrics = {"task": task, "split": "loao", "fold": str(test_animal), "model": model, "shuffled": shuffled,
               "n_train": 0, "n_test": int(test.sum()), "accuracy": None, "chance": 0.5, "classes": classes,
               "per_class_accuracy": {}, "test_animals": [str(test_animal)], "skipped": ""}
    empty = pd.DataFrame({"call_uid": pd.Series(dtype=str), "y_true": pd.Series(dtype=int),
                          "y_pred": pd.Series(dtype=int), "score": pd.Series(dtype=float)})
    ytr_all = y[train].copy()
    n_cls = [int((ytr_all == c).sum()) for c in (0, 1)]
    if test.sum() < p["min_test_calls"]:
        metrics["skipped"] = (f"animal {test_animal} has {int(test.sum())} calls, fewer than "
                              f"min_test_calls = {p['min_test_calls']}")
        return FoldResult(metrics, empty)
    if min(n_cls) < p["min_train_per_class"]:
        metrics["skipped"] = (f"training set without animal {test_animal} has {n_cls[1]} {classes[1]} and "
                              f"{n_cls[0]} {classes[0]} calls; need {p['min_train_per_class']} of each")
        return FoldResult(metrics, empty)
    # One generator per (task, fold, model[, replicate]): folds are independent and reproducible in any order.
    key = [int(p["seed"]), *map(ord, f"{task}/{test_animal}/{model}")]
    repeats = max(1, int(p["shuffle_repeats"])) if shuffled else 1
    runs = []
    for r in range(repeats):
        rng = np.random.default_rng(np.random.SeedSequence(key + [r] if r else key))
        ytr_r = rng.permutation(ytr_all) if shuffled else ytr_all
        keep = balance(ytr_r, rng, int(p["max_train_per_class"]))
        tr_idx = np.flatnonzero(train)[keep]
        Xtr, Xte, ytr = X[tr_idx], X[test], ytr_r[keep]
        if standardise:
            Xtr, Xte = _standardise(Xtr.astype(float), Xte.astype(float))
        score = fit_predict(estimator, Xtr, ytr, Xte, p)
        runs.append(pd.DataFrame({"call_uid": uid[test], "y_true": y[test].astype(int),
                                  "y_pred": (score > 0).astype(int), "score": score.astype(float)}))
    preds = runs[0] if repeats == 1 else pd.concat([d.assign(replicate=r) for r, d in enumerate(runs)], ignore_index=True)
    yte, pred = preds["y_true"].to_numpy(), preds["y_pred"].to_numpy()
    per_class = {classes[c]: float(np.mean(pred[yte == c] == c)) for c in (0, 1) if np.any(yte == c)}
    metrics.update(n_train=int(len(tr_idx)), accuracy=float(np.mean(pred == yte)), per_class_accuracy=per_class)
    if repeats > 1:
        metrics.update(replicates=repeats, replicate_accuracies=[float(np.mean(d.y_pred == d.y_true)) for d in runs])
    return FoldResult(metrics, preds)


def summarise(metrics: list[dict]) -> pd.DataFrame:
    """One row per (task, model): fold accuracies, mean and SEM over the folds that ran."""
    if not metrics:
        return pd.DataFrame(columns=["task", "model", "n_folds", "mean", "sem", "accuracies", "folds", "skipped"])
    df = pd.DataFrame(metrics)
    rows = []
    for (task, model), g in df.groupby(["task", "model"], sort=False):
        ran = g[g["accuracy"].notna()]
        acc = ran["accuracy"].to_numpy(float)
        rows.append({"task": task, "model": model, "n_folds": int(acc.size),
                     "mean": float(acc.mean()) if acc.size else np.nan,
                     "sem": float(acc.std(ddof=1) / np.sqrt(acc.size)) if acc.size > 1 else np.nan,
                     "accuracies": acc.tolist(), "folds": ran["fold"].tolist(),
                     "skipped": {r.fold: r.skipped for r in g.itertuples() if r.skipped}})
    return pd.DataFrame(rows)


def check_alignment(table: pd.DataFrame, other_uids: Sequence[str], what: str) -> None:
    """Refuse inputs whose rows are not the dataset's calls in the dataset's order."""
    if list(map(str, other_uids)) != list(table["call_uid"].astype(str)):
        raise InputError(what, "rows are not aligned with the dataset table (call_uid differs); rebuild it")
