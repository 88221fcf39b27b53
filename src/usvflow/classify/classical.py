"""Ridge regression and SVMs: the paper's classical baselines (Figs 3E, 4H, 4L, 5B).

Protocol (Methods, "Linear regression and support vector machines" and "Performance evaluation"):

* leave-one-animal-out: train on every other animal of the cohort, test on all calls of the held-out one;
* the training set is balanced by subsampling the larger class at random (fixed seed), as the paper did for
  ridge and SVM;
* ridge: regularised least squares with an intercept on labels {0, 1} (the paper solved the normal
  equations), class 1 when the prediction exceeds 0.5;
* SVM: quadratic kernel ``(gamma x.y + 1)^2`` on spectrograms (``gamma`` = 1 / (dims x variance of the
  training inputs), sklearn's ``'scale'``), linear kernel on features;
* the regularisation (ridge ``alpha``, SVM ``C``) is chosen by nested leave-one-animal-out: scikit-learn's
  :class:`~sklearn.model_selection.GridSearchCV` over the grid in ``params`` (``ridge_alpha`` / ``svm_c``; a
  single number is used as is), its inner folds each holding out one *training* animal, every inner training
  set balanced the same way as the outer one (otherwise dropping one animal tips the balance and the inner
  score rewards predicting the other class). The score is the accuracy over the inner held-out animals, each
  class's animals weighted to count half (a constant prediction scores 50 %, whatever the number of animals
  per class); ties go to the stronger regularisation. The model is then refitted on the whole outer training set with the
  chosen value; the test animal is never seen during the choice. The chosen value and the inner scores of
  the whole grid are in the fold's metrics (``hyperparameter``). The paper reports its result insensitive to
  the regularisation; on the 457-dimensional 24 features + 3 vectors it is not: untuned, ridge and SVMs fit
  recording identity. Feature inputs are z-scored on the outer training set before the inner folds (no
  labels enter the scaling);
* SVMs (and ridge on spectrograms, in dual form) are fitted on precomputed kernel matrices (linear Gram
  ``X X^T`` or the quadratic kernel): the inner folds slice one matrix instead of recomputing
  10,000-dimensional products; ridge on features is fitted in primal form (sklearn's ``RidgeClassifier``);
* shuffled-label control: the training labels are permuted across calls before balancing (``shuffle_repeats``
  permutations, predictions pooled), and the regularisation is chosen by the same nested procedure on the
  permuted labels; the test labels stay true, so the control should sit at chance.

Inputs (:data:`INPUTS`): ``spectrogram`` (100 x 100 images / 255), ``feat9`` (the paper's 9 features,
z-scored on the training set), ``semiconv`` (24 features + FF line in kHz + the time and spectral marginals,
each scaled to its call's maximum; z-scored on the training set: the 457-dimensional input of the
semi-convolutional network).

Model names, as used in ``results/train/{task}/loao/{fold}/{model}.*``: ``ridge``, ``svm`` (spectrograms),
``ridge_feat9``, ``svm_feat9``, ``ridge_semiconv``, ``svm_semiconv``, each also with ``_shuffled``.
Labels: sex M = 1, F = 0; strain cortexless = 1, WT = 0 (:data:`TASKS`, overridable in ``config.yaml``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import RidgeClassifier
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import KernelCenterer
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


class KernelRidgeClassifier(ClassifierMixin, BaseEstimator):
    """Ridge regression with an unpenalised intercept on labels {0, 1}, fitted from a precomputed linear Gram.

    Exactly :class:`sklearn.linear_model.Ridge` (``fit_intercept=True``) on the underlying features, in dual
    form: :class:`~sklearn.preprocessing.KernelCenterer` centres the features on the training calls and
    :class:`~sklearn.kernel_ridge.KernelRidge` solves ``(K_c + alpha I) a = y - mean(y)`` (sklearn's
    ``KernelRidge`` has no intercept, hence the centring here). Pairwise, so :class:`GridSearchCV` slices the
    Gram matrix by rows and columns. ``decision_function > 0`` means class 1 (prediction above 0.5).
    """

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = alpha

    def fit(self, K: np.ndarray, y: np.ndarray) -> "KernelRidgeClassifier":
        y = np.asarray(y, float)
        self.centerer_ = KernelCenterer().fit(K)
        self.y_mean_ = float(y.mean())
        self.ridge_ = KernelRidge(alpha=self.alpha, kernel="precomputed").fit(self.centerer_.transform(K),
                                                                              y - self.y_mean_)
        self.classes_ = np.array([0, 1])
        return self

    def decision_function(self, K: np.ndarray) -> np.ndarray:
        return self.ridge_.predict(self.centerer_.transform(K)) + self.y_mean_ - 0.5

    def predict(self, K: np.ndarray) -> np.ndarray:
        return (self.decision_function(K) > 0).astype(int)

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.input_tags.pairwise = True
        return tags


#: estimator → (its regularisation parameter, its config key)
HYPERPARAMETERS = {"ridge": ("alpha", "ridge_alpha"), "svm_linear": ("C", "svm_c"), "svm_quadratic": ("C", "svm_c")}


def grid_of(estimator: str, params: dict) -> list[float]:
    """The candidate values of ``estimator``'s regularisation, strongest first (ties in the inner score go to
    the first): ridge alphas descending, SVM Cs ascending. A single number in ``params`` is a grid of one."""
    name, key = HYPERPARAMETERS[estimator]
    raw = params[key]
    values = sorted({float(v) for v in (raw if isinstance(raw, (list, tuple)) else [raw])})
    return values[::-1] if name == "alpha" else values


def uses_kernel(estimator: str, n_train: int, n_dims: int) -> bool:
    """Fit on a precomputed kernel? SVMs always (libsvm then never recomputes a dot product); ridge only where
    the inputs have more dimensions than there are training calls (spectrograms: the dual form), else in
    primal form on the features (cheaper: a dims x dims system)."""
    return estimator != "ridge" or n_dims > n_train


def kernels(estimator: str, Xtr: np.ndarray, Xte: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Training Gram (n_train, n_train) and test kernel (n_test, n_train) of ``estimator``: linear for ridge
    and the linear SVM, ``(gamma x.y + 1)^2`` with ``gamma = 1 / (dims x var(Xtr))`` for the quadratic SVM."""
    Xtr64, Xte64 = np.asarray(Xtr, np.float64), np.asarray(Xte, np.float64)
    # Gram matrices by BLAS: far faster than libsvm's own kernel loops on 10,000-d inputs.
    Ktr, Kte = Xtr64 @ Xtr64.T, Xte64 @ Xtr64.T
    if estimator == "svm_quadratic":
        var = float(Xtr64.var())
        gamma = 1.0 / (Xtr64.shape[1] * var) if var > 0 else 1.0
        Ktr, Kte = (gamma * Ktr + 1.0) ** 2, (gamma * Kte + 1.0) ** 2
    return Ktr, Kte


def make_estimator(estimator: str, value: float, kernel: bool = True, max_iter: int = -1) -> BaseEstimator:
    """The classifier of ``estimator`` with regularisation ``value``: on a precomputed kernel, or (ridge with
    ``kernel=False``) sklearn's :class:`~sklearn.linear_model.RidgeClassifier` on the features, which is the
    same model (ridge on labels coded -1/+1 with an intercept, thresholded at 0). ``max_iter`` bounds libsvm."""
    if estimator == "ridge":
        return KernelRidgeClassifier(alpha=value) if kernel else RidgeClassifier(alpha=value)
    if estimator in ("svm_linear", "svm_quadratic"):
        return SVC(kernel="precomputed", C=value, max_iter=max_iter)
    raise ValueError(f"unknown estimator {estimator!r}")


def inner_splits(y: np.ndarray, groups: np.ndarray, rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """Leave-one-animal-out folds inside a training set: each holds out one animal and trains on the others,
    balanced by subsampling as the outer training set is. Folds whose training set lacks a class are left out."""
    out = []
    for g in np.unique(groups):
        test = np.flatnonzero(groups == g)
        train = np.flatnonzero(groups != g)
        if min(int((y[train] == c).sum()) for c in (0, 1)) == 0:
            continue
        out.append((train[balance(y[train], rng)], test))
    return out


def select_and_fit(estimator: str, Xtr: np.ndarray, ytr: np.ndarray, groups: np.ndarray, params: dict,
                   rng: np.random.Generator, kernel: bool = True) -> tuple[BaseEstimator, dict]:
    """Choose the regularisation by nested leave-one-animal-out on the training calls, refit with it.

    ``Xtr``: the training Gram (``kernel``) or the training features. Returns the fitted model and what was
    chosen: ``{"name", "value", "grid", "inner_accuracy" (per grid value, mean over the inner held-out
    animals), "inner_folds", "unconverged_fits"}``. With one candidate, or fewer than two inner folds (e.g.
    one animal per class), no choice is made: the middle of the grid is used and said so. SVM fits stop after
    ``svm_max_iter`` libsvm iterations (a large C on labels without structure, as the shuffled controls
    have, can otherwise take minutes); how many fits stopped there is counted, not hidden.
    """
    name, _ = HYPERPARAMETERS[estimator]
    grid = grid_of(estimator, params)
    max_iter = int(params.get("svm_max_iter", -1))
    splits = inner_splits(ytr, groups, rng) if len(grid) > 1 else []
    info: dict = {"name": name, "grid": grid, "inner_folds": len(splits), "inner_accuracy": None}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        if len(grid) > 1 and len(splits) >= 2:
            search = GridSearchCV(make_estimator(estimator, grid[0], kernel, max_iter), {name: grid}, cv=splits,
                                  scoring="accuracy", refit=False, error_score="raise")
            search.fit(Xtr, ytr)
            # Each inner fold is one animal of one class. The plain mean over folds would reward a constant
            # prediction of the class with more training animals (4 F of 7: 57 %); weighting the folds so each
            # class counts half (a balanced accuracy over animals) puts every constant prediction at 50 %.
            fold_class = np.array([int(round(ytr[te].mean())) for _, te in splits])
            present = np.unique(fold_class)
            weight = np.array([1.0 / (present.size * np.sum(fold_class == c)) for c in fold_class])
            per_fold = np.array([search.cv_results_[f"split{i}_test_score"] for i in range(len(splits))])
            score = weight @ per_fold
            best = int(np.flatnonzero(score >= score.max() - 1e-12)[0])  # ties: the stronger regularisation
            info["value"] = float(grid[best])
            info["inner_accuracy"] = [float(v) for v in score]
        else:
            info["value"] = float(grid[len(grid) // 2])
            if len(grid) > 1:
                info["note"] = f"{len(splits)} inner fold(s): no choice possible, the grid's middle value is used"
        model = make_estimator(estimator, info["value"], kernel, max_iter).fit(Xtr, ytr)
    info["unconverged_fits"] = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    return model, info


def fit_predict(estimator: str, Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray, params: dict,
                groups: np.ndarray | None = None, rng: np.random.Generator | None = None) -> tuple[np.ndarray, dict]:
    """Decision scores of ``Xte`` (> 0 means class 1) after fitting on ``(Xtr, ytr)`` with the regularisation
    chosen by nested leave-one-group-out over ``groups`` (the training calls' animals; see
    :func:`select_and_fit`). Returns the scores and the choice."""
    kernel = uses_kernel(estimator, len(Xtr), Xtr.shape[1])
    A, B = kernels(estimator, Xtr, Xte) if kernel else (Xtr, Xte)
    groups = np.zeros(len(ytr), int) if groups is None else np.asarray(groups)
    model, info = select_and_fit(estimator, A, ytr, groups, params, rng or np.random.default_rng(0), kernel)
    return model.decision_function(B), info


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
    runs, choices = [], []
    for r in range(repeats):
        rng = np.random.default_rng(np.random.SeedSequence(key + [r] if r else key))
        ytr_r = rng.permutation(ytr_all) if shuffled else ytr_all
        keep = balance(ytr_r, rng, int(p["max_train_per_class"]))
        tr_idx = np.flatnonzero(train)[keep]
        Xtr, Xte, ytr = X[tr_idx], X[test], ytr_r[keep]
        if standardise:
            Xtr, Xte = _standardise(Xtr.astype(float), Xte.astype(float))
        score, info = fit_predict(estimator, Xtr, ytr, Xte, p, animals[tr_idx], rng)
        choices.append(info)
        runs.append(pd.DataFrame({"call_uid": uid[test], "y_true": y[test].astype(int),
                                  "y_pred": (score > 0).astype(int), "score": score.astype(float)}))
    preds = runs[0] if repeats == 1 else pd.concat([d.assign(replicate=r) for r, d in enumerate(runs)], ignore_index=True)
    yte, pred = preds["y_true"].to_numpy(), preds["y_pred"].to_numpy()
    per_class = {classes[c]: float(np.mean(pred[yte == c] == c)) for c in (0, 1) if np.any(yte == c)}
    metrics.update(n_train=int(len(tr_idx)), accuracy=float(np.mean(pred == yte)), per_class_accuracy=per_class,
                   hyperparameter=choices[0])
    if repeats > 1:
        metrics["hyperparameter_per_replicate"] = [c["value"] for c in choices]
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


def chosen_text(chosen: dict[str, float]) -> str:
    """``1e+03 ×5 (F01, F03, ...), 1e+04 ×3 (...)``: the regularisation chosen per held-out animal, grouped."""
    groups: dict[float, list[str]] = {}
    for fold, value in sorted(chosen.items()):
        groups.setdefault(float(value), []).append(str(fold))
    return "; ".join(f"{v:g} ×{len(f)} ({', '.join(f)})" for v, f in sorted(groups.items()))


def check_alignment(table: pd.DataFrame, other_uids: Sequence[str], what: str) -> None:
    """Refuse inputs whose rows are not the dataset's calls in the dataset's order."""
    if list(map(str, other_uids)) != list(table["call_uid"].astype(str)):
        raise InputError(what, "rows are not aligned with the dataset table (call_uid differs); rebuild it")
