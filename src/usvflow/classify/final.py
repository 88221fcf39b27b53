"""Final models: trained on every animal of a cohort once leave-one-animal-out (LOAO) has measured them.

* The network is trained by :func:`usvflow.classify.folds.run_fold` itself, so the final model goes through
  exactly the preparation, augmentation, protocol and seeds its LOAO folds went through: the cohort is given one
  extra copy of a call under a held-out animal that does not exist (:data:`FINAL_FOLD`), so every real call is
  in the training set; that copy is the fold's (meaningless) test set.
* The classical model (ridge or SVM) is the one with the best mean LOAO accuracy among those whose input can be
  rebuilt from a new recording (:func:`eligible_classical`). :func:`usvflow.classify.classical.fit_predict`
  refits on every call and keeps no model, so :func:`fit_classical` fits the same estimators the same way
  (class-balanced training set, the same kernel and scaling) and keeps what predicting needs: weights, or the
  support vectors of the quadratic SVM. ``tests/test_bundle.py`` checks its scores against ``fit_predict``'s.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd
from torch import nn

from .classical import HYPERPARAMETERS, balance, grid_of, input_matrix, uses_kernel
from .classical_tasks import DEFAULT_PARAMS, MODELS
from .folds import FoldData, run_fold
from .tasks import task_labels

#: The held-out "animal" of a final model's run: it has no calls of its own (one copied call as a test set).
FINAL_FOLD = "__all_animals__"


def train_final_network(task: str, family: str, data: FoldData, settings: dict[str, Any],
                        log: Callable[[str], None] | None = print) -> tuple[nn.Module, dict[str, Any]]:
    """Train ``family`` (cnn, dnn9, semiconv) for ``task`` on every labelled call of the cohort.

    Returns the trained network (eval mode) and the run's metrics (its test accuracy is on one copied
    training call and means nothing; ``n_train`` is the number of calls trained on)."""
    table = data.table.reset_index(drop=True)
    y, _ = task_labels(table, task)
    labelled = np.flatnonzero(y >= 0)
    if not len(labelled):
        raise ValueError(f"no labelled calls for task {task!r}")
    j = int(labelled[0])
    extra = table.iloc[[j]].copy()
    extra["animal"] = FINAL_FOLD
    extra["call_uid"] = f"{FINAL_FOLD}#0"
    ext = FoldData(table=pd.concat([table, extra], ignore_index=True))
    if data.images is not None:
        ext.images = np.concatenate([data.images, data.images[j:j + 1]])
    if data.features is not None:
        ext.features = pd.concat([data.features.reset_index(drop=True), data.features.iloc[[j]]], ignore_index=True)
    ext.vectors = {k: np.concatenate([v, v[j:j + 1]]) if getattr(v, "ndim", 0) >= 1 and len(v) == len(table) else v
                   for k, v in (data.vectors or {}).items()}
    metrics, _, _, model = run_fold(task, "loao", FINAL_FOLD, family, ext, {**settings, "min_test_calls": 1},
                                    log=log)
    model.eval()
    return model, metrics


# --------------------------------------------------------------------------------------------- classical


def eligible_classical(models: list[str], properties_source: pd.Series | None) -> list[str]:
    """Classical models whose input a new recording can give: spectrogram models always; feature models only
    when the cohort's six scored properties were auto-scored for every call (a new recording's are: with
    properties taken from a reference, the LOAO accuracy describes inputs no new recording has)."""
    auto = properties_source is not None and len(properties_source) and (properties_source.astype(str) == "auto").all()
    return [m for m in models if m in MODELS and (MODELS[m][1] == "spectrogram" or auto)]


def choose_classical(metrics: list[dict[str, Any]], eligible: list[str]) -> tuple[str, float]:
    """The eligible model with the best mean LOAO accuracy over its folds that ran (ties: the order of
    ``eligible``); returns (model, mean accuracy)."""
    best, best_acc = "", -1.0
    for m in eligible:
        acc = [r["accuracy"] for r in metrics if r["model"] == m and r.get("accuracy") is not None]
        if acc and float(np.mean(acc)) > best_acc:
            best, best_acc = m, float(np.mean(acc))
    if not best:
        raise ValueError(f"none of {eligible} has a leave-one-animal-out fold that ran")
    return best, best_acc


def _fill_stats(Xtr: np.ndarray) -> dict[str, np.ndarray]:
    """What :func:`usvflow.classify.classical._standardise` computes on a training set: the median that fills
    missing values, then the mean and SD that z-score."""
    med = np.nan_to_num(np.nanmedian(np.where(np.isfinite(Xtr), Xtr, np.nan), axis=0))
    filled = np.where(np.isfinite(Xtr), Xtr, med)
    sd = filled.std(axis=0)
    return {"median": med, "mean": filled.mean(axis=0), "sd": np.where(sd > 0, sd, 1.0)}


def standardise_with(X: np.ndarray, stats: dict[str, np.ndarray]) -> np.ndarray:
    """z-score ``X`` with a training set's statistics (:func:`_fill_stats`), missing values filled first."""
    X = np.where(np.isfinite(X), X, stats["median"])
    return (X - stats["mean"]) / stats["sd"]


def loao_regularisation(metrics: list[dict[str, Any]], model: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with the model's regularisation fixed to the value its leave-one-animal-out folds chose most
    often by nested selection (their ``hyperparameter``); ties go to the stronger regularisation, no choice on
    record to the middle of the grid. The final fit on every animal has no held-out animal left to choose with."""
    estimator = MODELS[model][0]
    _, key = HYPERPARAMETERS[estimator]
    grid = grid_of(estimator, params)  # strongest first
    chosen = [float(r["hyperparameter"]["value"]) for r in metrics
              if r.get("model") == model and r.get("hyperparameter") and r["hyperparameter"].get("value") is not None]
    if chosen:
        counts = {v: chosen.count(v) for v in chosen}
        order = {v: i for i, v in enumerate(grid)}
        value = min(counts, key=lambda v: (-counts[v], order.get(v, len(grid))))
    else:
        value = grid[len(grid) // 2]
    return {**params, key: value}


def fit_classical(model: str, X: np.ndarray, y: np.ndarray, params: dict[str, Any] | None, seed_key: str
                  ) -> dict[str, Any]:
    """Fit ``model`` (ridge, svm, ridge_feat9, ...) on every labelled row of ``X`` (class-balanced as in the LOAO
    folds). Returns what :func:`classical_scores` needs (numpy arrays and numbers)."""
    from sklearn.linear_model import Ridge
    from sklearn.svm import SVC

    p = dict(DEFAULT_PARAMS, **(params or {}))
    estimator, kind = MODELS[model]
    _, key = HYPERPARAMETERS[estimator]
    if isinstance(p[key], (list, tuple)):
        raise ValueError(f"{key}: one value for the final fit, not the grid {p[key]} (see loao_regularisation)")
    labelled = np.flatnonzero(y >= 0)
    rng = np.random.default_rng(np.random.SeedSequence([int(p["seed"]), *map(ord, seed_key)]))
    keep = labelled[balance(y[labelled], rng, int(p["max_train_per_class"]))]
    Xtr, ytr = X[keep], y[keep]
    out: dict[str, Any] = {"model": model, "estimator": estimator, "input": kind, "n_train": int(len(keep)),
                           "params": {k: p[k] for k in ("ridge_alpha", "svm_c")}}
    if kind != "spectrogram":
        stats = _fill_stats(Xtr.astype(float))
        out["standardise"] = stats
        Xtr = standardise_with(Xtr.astype(float), stats)
    if estimator == "ridge" and uses_kernel(estimator, len(Xtr), Xtr.shape[1]):
        # the folds' dual form (KernelRidgeClassifier): labels {0, 1}, decision = prediction - 0.5
        fit = Ridge(alpha=p["ridge_alpha"], fit_intercept=True).fit(Xtr, ytr.astype(float))
        out.update(coef=np.asarray(fit.coef_, float), intercept=float(fit.intercept_) - 0.5)
    elif estimator == "ridge":
        # the folds' primal form (RidgeClassifier): labels -1/+1, so scores on the folds' scale (calibration)
        fit = Ridge(alpha=p["ridge_alpha"], fit_intercept=True).fit(Xtr, 2.0 * ytr - 1.0)
        out.update(coef=np.asarray(fit.coef_, float), intercept=float(fit.intercept_))
    elif estimator == "svm_linear":
        fit = SVC(kernel="linear", C=p["svm_c"]).fit(Xtr, ytr)
        out.update(coef=np.asarray(fit.coef_[0], float), intercept=float(fit.intercept_[0]))
    elif estimator == "svm_quadratic":
        var = float(Xtr.var())
        gamma = 1.0 / (Xtr.shape[1] * var) if var > 0 else 1.0
        X64 = Xtr.astype(np.float64)
        fit = SVC(kernel="precomputed", C=p["svm_c"]).fit((gamma * (X64 @ X64.T) + 1.0) ** 2, ytr)
        sv = Xtr[fit.support_]
        # Spectrogram rows are uint8 images / 255: stored as such, exactly and 4x smaller.
        out.update(gamma=gamma, dual_coef=np.asarray(fit.dual_coef_[0], float), intercept=float(fit.intercept_[0]),
                   support_uint8=np.round(sv * 255.0).astype(np.uint8) if kind == "spectrogram" else None,
                   support=None if kind == "spectrogram" else np.asarray(sv, float))
    else:
        raise ValueError(f"unknown estimator {estimator!r}")
    return out


def classical_scores(fitted: dict[str, Any], X: np.ndarray) -> np.ndarray:
    """Decision scores (> 0: class 1) of the rows of ``X`` (the raw :func:`usvflow.classify.classical.input_matrix`
    rows) under a model from :func:`fit_classical`."""
    X = np.asarray(X)
    if fitted.get("standardise") is not None:
        X = standardise_with(X.astype(float), fitted["standardise"])
    if fitted["estimator"] in ("ridge", "svm_linear"):
        return X @ fitted["coef"] + fitted["intercept"]
    sv = fitted["support_uint8"].astype(np.float64) / 255.0 if fitted.get("support_uint8") is not None \
        else np.asarray(fitted["support"], float)
    K = (fitted["gamma"] * (X.astype(np.float64) @ sv.T) + 1.0) ** 2
    return K @ fitted["dual_coef"] + fitted["intercept"]


def classical_inputs(kind: str, table: pd.DataFrame | None = None, images: np.ndarray | None = None,
                     vectors: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """The raw input rows of a classical model (:func:`usvflow.classify.classical.input_matrix`)."""
    return input_matrix(kind, table if table is not None else pd.DataFrame(), images=images, vectors=vectors)
