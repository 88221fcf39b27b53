"""Animal-level permutation nulls for leave-one-animal-out accuracies.

A call-level shuffle (the classical stage's ``_shuffled`` controls) breaks every link between a call and its
label, including the animal's: it cannot tell a group effect from an effect of how each animal was recorded.
The animal-level null keeps each animal's calls together and reassigns the group labels across *animals*
(every assignment with the true group sizes when there are at most ``max_permutations``: all 70 for 4 + 4,
all 20 for 3 + 3; else that many random ones, the true one included), and repeats the whole
leave-one-animal-out evaluation on each. The p-value is the share of assignments whose mean held-out accuracy
(over animals) reaches the true labels' one; its smallest possible value is 1 / (number of assignments), or
2 / (number of assignments) for groups of equal size, whose swapped labels split the animals the same way
(:func:`smallest_p`: 2/70 = 0.029 for 4 + 4, 2/20 = 0.1 for 3 + 3).

The same machinery serves two users: the background-only confound check (:mod:`usvflow.classify.confound`:
best of several models on call-free stretches) and the headline models' nulls (:func:`headline_null`: each
classical model on the calls).

Cost. The classical stage chooses the regularisation per fold by nested leave-one-animal-out; repeating that
inside every relabelling would multiply the cost by the grid size times the inner folds. The null therefore
uses one fixed value per model (:func:`most_chosen`: the value the real leave-one-animal-out folds chose most
often; ties go to the stronger regularisation), for the true labels and for every relabelling alike, so the
comparison is fair; the nested accuracy is reported beside it. Image models are fitted in their dual form from
one Gram matrix of the cohort (:class:`Gram`), computed once and shared by every fold and relabelling. The
training sets are class-balanced by subsampling, as in the classical stage, so which calls are fitted depends
on the labels: each relabelling of a fold is its own solve (one ``n_train`` linear system for ridge, one libsvm
fit for the SVM), not a column of one shared solve.
"""

from __future__ import annotations

import itertools
import math
from typing import Iterable, Sequence

import numpy as np
import scipy.linalg

from .classical import HYPERPARAMETERS, _standardise, balance, fit_predict, grid_of


class Gram:
    """Dot products of every pair of rows, computed once for a cohort's image inputs.

    Ridge and the quadratic SVM of :func:`usvflow.classify.classical.fit_predict` depend on the images only
    through dot products, so each fold (and each relabelling of the animals) can reuse one matrix instead of
    multiplying 10,000-wide rows again: the same models, solved in their dual form (tests check the scores
    against ``fit_predict``)."""

    def __init__(self, X: np.ndarray):
        X64 = np.asarray(X, np.float64)
        self.G = X64 @ X64.T
        self.rowsum = X64.sum(axis=1)
        self.dims = X64.shape[1]

    def scores(self, estimator: str, tr: np.ndarray, te: np.ndarray, y: np.ndarray, params: dict) -> np.ndarray:
        """Decision scores of rows ``te`` (> 0: class 1) after fitting on rows ``tr`` with labels ``y``."""
        Gtt, Get = self.G[np.ix_(tr, tr)], self.G[np.ix_(te, tr)]
        if estimator == "ridge":  # Ridge(fit_intercept=True): centred dual solution
            r, m, s = Gtt.mean(axis=1), Gtt.mean(), Get.mean(axis=1)
            Kc = Gtt - r[:, None] - r[None, :] + m
            Ke = Get - r[None, :] - s[:, None] + m
            yc = y.astype(float) - y.mean()
            # Kc + alpha I is symmetric positive definite: Cholesky (half LU's work; this solve is the null's cost)
            Kc[np.diag_indices_from(Kc)] += params["ridge_alpha"]
            a = scipy.linalg.solve(Kc, yc, assume_a="pos", overwrite_a=True, check_finite=False)
            return Ke @ a + y.mean() - 0.5
        if estimator == "svm_quadratic":  # gamma = 1 / (dims x variance of the training inputs)
            from sklearn.svm import SVC

            n = len(tr) * self.dims
            mean = self.rowsum[tr].sum() / n
            var = float(np.trace(Gtt) / n - mean**2)
            gamma = 1.0 / (self.dims * var) if var > 0 else 1.0
            model = SVC(kernel="precomputed", C=params["svm_c"], max_iter=int(params.get("svm_max_iter", -1)))
            model.fit((gamma * Gtt + 1.0) ** 2, y)
            return model.decision_function((gamma * Get + 1.0) ** 2)
        raise ValueError(f"no dual form for {estimator!r}")


def loao_accuracy(X: np.ndarray, y: np.ndarray, animals: np.ndarray, estimator: str, params: dict,
                  standardise: bool, key: str, gram: Gram | None = None, min_test: int = 1) -> dict[str, float]:
    """Held-out accuracy per animal (the classical stage's protocol; folds that cannot run are left out:
    fewer than ``min_test`` rows of the animal, or a training set short of ``min_train_per_class`` of a class).

    ``params`` must hold one value per regularisation (:func:`fixed_regularisation`). ``gram``: the rows' dot
    products, for unstandardised ridge / quadratic SVM (same result, faster)."""
    out = {}
    for a in sorted(set(animals[y >= 0])):
        test, train = (animals == a) & (y >= 0), (animals != a) & (y >= 0)
        if test.sum() < max(1, min_test) or min((y[train] == c).sum() for c in (0, 1)) < params["min_train_per_class"]:
            continue
        rng = np.random.default_rng(np.random.SeedSequence([int(params["seed"]), *map(ord, f"{key}/{a}")]))
        tr = np.flatnonzero(train)[balance(y[train], rng, int(params["max_train_per_class"]))]
        if gram is not None and not standardise:
            score = gram.scores(estimator, tr, np.flatnonzero(test), y[tr], params)
        else:
            Xtr, Xte = X[tr], X[test]
            if standardise:
                Xtr, Xte = _standardise(Xtr.astype(float), Xte.astype(float))
            score, _ = fit_predict(estimator, Xtr, y[tr], Xte, params)
        out[str(a)] = float(np.mean((score > 0).astype(int) == y[test]))
    return out


def assignments(labels: dict[str, int], max_permutations: int, seed: int) -> tuple[list[dict[str, int]], bool]:
    """Animal-level label assignments with the true group sizes; the true one first.

    Every assignment when there are at most ``max_permutations``, else that many random ones (the true one
    included; random ones may repeat). Returns the list and whether it is exhaustive."""
    animals = sorted(labels)
    k = sum(labels[a] for a in animals)
    total = math.comb(len(animals), k)
    true = {a: int(labels[a]) for a in animals}
    if total <= max_permutations:
        out = [true] + [d for d in ({a: int(a in set(c)) for a in animals}
                                    for c in itertools.combinations(animals, k)) if d != true]
        return out, True
    rng = np.random.default_rng(seed)
    out = [true]
    for _ in range(max_permutations - 1):
        pos = set(rng.choice(animals, size=k, replace=False))
        out.append({a: int(a in pos) for a in animals})
    return out, False


def smallest_p(labels: dict[str, int], n_assignments: int, exhaustive: bool) -> float:
    """The smallest p-value the null can give. With groups of equal size the complement of the true assignment
    (every animal's label swapped) is one of the assignments, and any classifier separates it exactly as well
    (up to which calls the class balancing keeps): a 4 + 4 cohort's 70 assignments are 35 splits of the animals
    into two groups, so p resolves to 2/70; 3 + 3 gives 2/20 = 0.1, never significant at 0.05. (The balancing's
    draw can put the swap a hair below the true labels, so p = 1/70 happens; it says no more than 2/70.)"""
    k = sum(labels.values())
    return (2.0 if exhaustive and 2 * k == len(labels) else 1.0) / n_assignments


def animal_labels(y: np.ndarray, animals: np.ndarray) -> dict[str, int]:
    """Each animal's label (the first of its labelled rows; rows with ``y < 0`` are ignored)."""
    return {a: int(y[(animals == a) & (y >= 0)][0]) for a in sorted(set(animals[y >= 0]))}


def relabel(y: np.ndarray, animals: np.ndarray, assign: dict[str, int]) -> np.ndarray:
    """Row labels under an animal-level ``assign``ment; rows left out (``y < 0``) stay out."""
    return np.where(y >= 0, [assign.get(a, -1) for a in animals], -1).astype(int)


def fixed_regularisation(params: dict) -> dict:
    """``params`` with one value per regularisation: where the classical stage gives a grid (it chooses by nested
    leave-one-animal-out), the grid value nearest 1 on a log scale (sklearn's default). The background-only
    control uses it; the headline nulls use :func:`most_chosen` instead."""
    out = dict(params)
    for estimator, (_, key) in HYPERPARAMETERS.items():
        if isinstance(out.get(key), (list, tuple)):
            grid = grid_of(estimator, out)
            out[key] = min(grid, key=lambda v: (abs(math.log10(v)), v))
    return out


def most_chosen(estimator: str, chosen: Iterable[float], params: dict) -> float:
    """The regularisation the real leave-one-animal-out folds chose most often (``chosen``: one value per fold);
    ties go to the stronger regularisation (larger ridge alpha, smaller SVM C). With nothing chosen (every fold
    skipped), the middle of the grid, as the classical stage does without inner folds."""
    values = [float(v) for v in chosen if v is not None]
    grid = grid_of(estimator, params)
    if not values:
        return float(grid[len(grid) // 2])
    counts = {v: values.count(v) for v in set(values)}
    top = [v for v, c in counts.items() if c == max(counts.values())]
    return max(top) if HYPERPARAMETERS[estimator][0] == "alpha" else min(top)


def permutation_table(inputs: dict[str, np.ndarray], models: dict[str, tuple[str, str]], y: np.ndarray,
                      animals: Sequence[str], params: dict, perms: list[dict[str, int]],
                      standardise: Sequence[str] = (), key: str = "null", min_test: int = 1,
                      per_model: dict[str, dict] | None = None) -> tuple[np.ndarray, dict[str, dict[str, float]]]:
    """The whole leave-one-animal-out evaluation of every model under every assignment.

    ``models``: name → (estimator, input kind of ``inputs``); ``params``: the settings of every model, with
    ``per_model`` overriding them per model name (e.g. each model's fixed regularisation); inputs named in ``standardise`` are z-scored per fold, the others fitted from a shared
    :class:`Gram`. Returns the models x assignments matrix of mean held-out accuracies (NaN where no fold ran)
    and, per model, the per-animal accuracies under the first assignment (the true labels)."""
    animals = np.asarray(animals).astype(str)
    settings = {m: dict(params, **(per_model or {}).get(m, {})) for m in models}
    grams = {kind: Gram(inputs[kind]) for _, kind in models.values() if kind not in standardise}
    S = np.full((len(models), len(perms)), np.nan)
    first: dict[str, dict[str, float]] = {}
    for i, assign in enumerate(perms):
        yp = relabel(y, animals, assign)
        for j, (m, (estimator, kind)) in enumerate(models.items()):
            acc = loao_accuracy(inputs[kind], yp, animals, estimator, settings[m], kind in standardise,
                                f"{key}/{m}", grams.get(kind), min_test)
            if acc:
                S[j, i] = float(np.mean(list(acc.values())))
            if i == 0:
                first[m] = acc
    return S, first


def p_value(null: np.ndarray) -> float | None:
    """Share of assignments (the true one, first, included) at least as accurate as the true labels."""
    null = np.asarray(null, float)
    if not np.isfinite(null[0]):
        return None
    return float(np.mean(null[np.isfinite(null)] >= null[0] - 1e-12))


def headline_null(inputs: dict[str, np.ndarray], models: dict[str, tuple[str, str]], y: np.ndarray,
                  animals: Sequence[str], params: dict, chosen: dict[str, Sequence[float]],
                  max_permutations: int = 1000, seed: int = 20200, standardise: Sequence[str] = ("feat9",),
                  key: str = "null") -> dict:
    """Animal-level permutation null of each headline leave-one-animal-out model, as the classical stage runs
    it (same balancing, estimators, minimum fold sizes), with each model's regularisation fixed at
    :func:`most_chosen` of ``chosen`` (model → the values its real folds chose).

    Returns ``{"n_animals", "n_assignments", "n_assignments_total", "exhaustive", "p_min", "models": {model:
    {"estimator", "input", "fixed": {name, value}, "mean_accuracy" (true labels, fixed value),
    "fold_accuracy", "p", "null_mean", "null_sd", "null_quantile_95", "null": [...]}}}``."""
    animals = np.asarray(animals).astype(str)
    labels = animal_labels(y, animals)
    n_pos = sum(labels.values())
    perms, exhaustive = assignments(labels, int(max_permutations), int(seed))
    fixed = {}
    for m, (estimator, _) in models.items():
        name, cfg_key = HYPERPARAMETERS[estimator]
        fixed[m] = {"name": name, "key": cfg_key, "value": most_chosen(estimator, chosen.get(m, ()), params)}
    S, first = permutation_table(inputs, models, y, animals, params, perms, standardise, key,
                                 int(params.get("min_test_calls", 1)),
                                 per_model={m: {f["key"]: f["value"]} for m, f in fixed.items()})
    out = {"n_animals": len(labels), "n_positive": n_pos, "n_assignments": len(perms),
           "n_assignments_total": math.comb(len(labels), n_pos), "exhaustive": exhaustive,
           "p_min": smallest_p(labels, len(perms), exhaustive), "models": {}}
    for j, (m, (estimator, kind)) in enumerate(models.items()):
        null = S[j]
        ok = null[np.isfinite(null)]
        out["models"][m] = {
            "estimator": estimator, "input": kind, "fixed": {"name": fixed[m]["name"], "value": fixed[m]["value"]},
            "mean_accuracy": float(null[0]) if np.isfinite(null[0]) else None, "fold_accuracy": first[m],
            "p": p_value(null), "null_mean": float(ok.mean()) if ok.size else None,
            "null_sd": float(ok.std()) if ok.size else None,
            "null_quantile_95": float(np.quantile(ok, 0.95)) if ok.size else None, "null": null.tolist()}
    return out


def sampled_assignments(labels: dict[str, int], k: int, max_permutations: int, seed: int) -> list[dict[str, int]]:
    """``k`` relabellings for a costly model (the CNN: one network per fold and relabelling), drawn without
    replacement from :func:`assignments` other than the true one, in a fixed order: relabelling ``i`` is the
    same in every job that asks for it."""
    perms, _ = assignments(labels, max_permutations, seed)
    rest = perms[1:]
    order = np.random.default_rng(np.random.SeedSequence([int(seed), 7])).permutation(len(rest))
    return [rest[i] for i in order[: max(0, int(k))]]


def relabelled_table(table, column: str, assign: dict[str, int], names: Sequence[str]):
    """A copy of a call table whose ``column`` holds ``names[assign[animal]]`` for every assigned animal
    (``names``: the label coded 0, then 1); other rows keep theirs."""
    out = table.copy()
    animals = out["animal"].astype(str)
    hit = animals.isin(list(assign))
    out.loc[hit, column] = [names[assign[a]] for a in animals[hit]]
    return out


def monte_carlo_p(observed: float, null: Sequence[float]) -> float:
    """p of ``observed`` against ``null`` drawn at random from the relabellings (the true one not among them):
    (1 + #null >= observed) / (1 + #null), never 0."""
    null = np.asarray([v for v in null if v is not None and np.isfinite(v)], float)
    return float((1 + np.sum(null >= observed - 1e-12)) / (1 + null.size))
