"""From single calls to a recording: calibrated evidence, per-recording decisions and their accuracy by N.

A classifier gives every call of a recording a score. To decide who emitted a recording (one animal) from its
N calls, the calls' evidence is added up; how much N calls are worth is learnt from the leave-one-animal-out
(LOAO) predictions, where every call's score comes from a model that never saw its animal:

1. **Per call** (:func:`fit_call_calibration`): a logistic (Platt) map ``l = a * s + b`` from the model's raw
   score ``s`` (a network's logit, a ridge/SVM decision value) to the log-odds of class 1, fitted on the pooled
   LOAO calls with every animal weighing the same and both classes weighing the same.
2. **Per recording** (:func:`fit_recording_model`): calls of one animal are not independent (each animal has its
   own voice, and the model errs on some animals more than on others), so summed log-odds overstate the evidence
   of N calls. What decides a recording is the mean ``m`` of its N calibrated log-odds, and how ``m`` is
   distributed for a new animal of each class is learnt from the held-out animals: per class, a new animal's
   own mean is drawn around the class mean with the between-animal variance ``tau2``, and N of its calls add the
   within-animal variance ``sigma2 / N``. With a handful of animals, the class means and ``tau2`` are themselves
   uncertain, so the predictive distribution of ``m`` is a Student t with ``k - 2`` degrees of freedom (k held-out
   animals, two class means estimated) and scale ``sqrt(tau2 + sigma2 / N + (tau2 + sigma2 / n) / k_h)`` (``k_h``
   the harmonic mean of the animals per class, ``n`` their mean number of calls), the same for both classes. The
   recording's posterior is the ratio of the two predictive densities at ``m``: calibrated per recording, for a
   new animal, not per call; it levels off as N grows (the between-animal spread stays), and a recording far
   from both classes' animals is not taken as overwhelming evidence (the t's tails).
   :func:`new_animal_check` measures it: the calibration refitted without each animal in turn, applied to it.
3. **Accuracy against N** (:func:`accuracy_curve`): the decision ``sign(z)`` (= the sign of ``S``) for N random
   calls of each held-out animal, averaged over subsets and then over animals (every animal weighs the same):
   the per-recording accuracy a new recording with N calls can expect.

The decision is the sign of ``m`` minus the midpoint of the two class means (the densities share their scale).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit, log_expit
from scipy.stats import t as student_t

#: Numbers of calls of the accuracy-vs-calls curve (issue 19; "all" is added).
CURVE_GRID = (1, 2, 5, 10, 20, 50)
#: Numbers of calls searched for the fewest that reach a target accuracy (up to the smallest animal's total).
SEARCH_GRID = (1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700, 1000)
#: Floor of the between-animal variance of mean log-odds (animals that agree perfectly still differ a little).
MIN_BETWEEN_VAR = 1e-4


def raw_logits(scores: np.ndarray, kind: str) -> np.ndarray:
    """A model's per-call score as an unbounded number: ``probability`` scores (a network's P(class 1)) become
    their logit; ``decision`` scores (ridge, SVM: > 0 means class 1) stay as they are."""
    s = np.asarray(scores, float)
    if kind == "probability":
        p = np.clip(s, 1e-7, 1 - 1e-7)
        return np.log(p) - np.log1p(-p)
    if kind == "decision":
        return s
    raise ValueError(f"unknown score kind {kind!r}")


@dataclass
class HeldOut:
    """The LOAO calls of one model, grouped by held-out animal: raw scores and the animal's class (0/1)."""

    animals: list[str]
    labels: np.ndarray  # (n_animals,) 0/1
    scores: list[np.ndarray]  # raw scores per animal

    @classmethod
    def from_predictions(cls, predictions: pd.DataFrame, kind: str) -> "HeldOut":
        """From LOAO prediction rows (``animal``, ``y_true``, ``score``); shuffled-control replicates excluded.

        An animal's calls all carry its label; rows of other labels (unlabelled) are dropped."""
        df = predictions
        if "replicate" in df:
            df = df[df["replicate"].fillna(0) == 0]
        df = df[df["y_true"].isin([0, 1])]
        animals, labels, scores = [], [], []
        for animal, g in df.groupby("animal", sort=True):
            y = g["y_true"].to_numpy(int)
            if (y != y[0]).any():
                raise ValueError(f"animal {animal} has calls of both classes: not a per-animal task")
            animals.append(str(animal))
            labels.append(int(y[0]))
            scores.append(raw_logits(g["score"].to_numpy(float), kind))
        return cls(animals, np.asarray(labels, int), scores)

    def weights(self) -> np.ndarray:
        """Per animal: 1 / (animals of its class), so both classes weigh the same."""
        w = np.zeros(len(self.labels))
        for c in (0, 1):
            m = self.labels == c
            w[m] = 1.0 / max(m.sum(), 1)
        return w


# --------------------------------------------------------------------------------------------- per call


def fit_call_calibration(held: HeldOut) -> dict[str, float]:
    """Platt scaling ``l = a * s + b`` on the pooled held-out calls (each animal and each class weighing the same)."""
    s = np.concatenate(held.scores)
    y = np.concatenate([np.full(len(v), c) for v, c in zip(held.scores, held.labels)]).astype(float)
    w = np.concatenate([np.full(len(v), wa / max(len(v), 1)) for v, wa in zip(held.scores, held.weights())])
    w = w / w.sum()
    scale = float(np.std(s)) or 1.0

    def nll(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = theta[0] * s / scale + theta[1]
        loss = -(w * (y * log_expit(z) + (1 - y) * log_expit(-z))).sum()
        r = w * (expit(z) - y)
        return float(loss), np.array([(r * s / scale).sum(), r.sum()])

    res = minimize(nll, np.array([1.0, 0.0]), jac=True, method="BFGS")
    return {"a": float(res.x[0] / scale), "b": float(res.x[1])}


def call_log_odds(scores: np.ndarray, calibration: dict[str, float]) -> np.ndarray:
    """Calibrated per-call log-odds of class 1 from raw scores (see :func:`raw_logits`)."""
    return calibration["a"] * np.asarray(scores, float) + calibration["b"]


# --------------------------------------------------------------------------------------------- per recording


def fit_recording_model(held: HeldOut, calibration: dict[str, float]) -> dict[str, float]:
    """The per-recording calibration (module docstring, step 2) from the held-out animals' calibrated calls."""
    logs = [call_log_odds(s, calibration) for s in held.scores]
    means = np.array([v.mean() for v in logs])
    n = np.array([len(v) for v in logs], float)
    within = float(sum(((v - v.mean()) ** 2).sum() for v in logs) / max((n - 1).sum(), 1.0))
    mu = [float(means[held.labels == c].mean()) for c in (0, 1)]
    k = [int((held.labels == c).sum()) for c in (0, 1)]
    dof = max(len(means) - 2, 1)
    resid = np.concatenate([means[held.labels == c] - mu[c] for c in (0, 1)])
    between = max(float((resid ** 2).sum() / dof - within * np.mean(1.0 / n)), MIN_BETWEEN_VAR)
    return {"class_means": mu, "between_var": between, "within_var": within, "mean_calls": float(n.mean()),
            "animals_harmonic": 2.0 / (1.0 / k[0] + 1.0 / k[1]), "dof": float(dof), "animals": k}


def recording_log_odds(mean_log_odds: np.ndarray | float, n_calls: np.ndarray | int,
                       model: dict[str, float]) -> np.ndarray:
    """Log-odds of class 1 for a recording of ``n_calls`` calls whose calibrated log-odds average
    ``mean_log_odds``: the log ratio of the two classes' predictive t densities."""
    n = np.maximum(np.asarray(n_calls, float), 1.0)
    tau2, sigma2 = model["between_var"], model["within_var"]
    scale = np.sqrt(tau2 + sigma2 / n + (tau2 + sigma2 / model["mean_calls"]) / model["animals_harmonic"])
    m = np.asarray(mean_log_odds, float)
    mu0, mu1 = model["class_means"]
    return (student_t.logpdf(m, model["dof"], mu1, scale) - student_t.logpdf(m, model["dof"], mu0, scale))


def _subset_means(values: np.ndarray, n: int, draws: int, rng: np.random.Generator) -> np.ndarray:
    """Means of ``draws`` random subsets of ``n`` of ``values`` (without replacement); all of them once if n >= len."""
    if n >= len(values):
        return np.array([values.mean()])
    keys = rng.random((draws, len(values)))
    idx = np.argpartition(keys, n - 1, axis=1)[:, :n]
    return values[idx].mean(axis=1)


def recording_posterior(call_log_odds_: np.ndarray, model: dict[str, float]) -> float:
    """P(class 1) for a recording whose calls have these calibrated log-odds (0.5 without calls)."""
    lo = np.asarray(call_log_odds_, float)
    if lo.size == 0:
        return 0.5
    return float(expit(recording_log_odds(lo.mean(), lo.size, model)))


# --------------------------------------------------------------------------------------------- accuracy by N


def accuracy_curve(held: HeldOut, calibration: dict[str, float], recording: dict[str, float],
                   grid: Sequence[int] = CURVE_GRID, draws: int = 200, seed: int = 0) -> pd.DataFrame:
    """Per-recording accuracy from N random calls of each held-out animal, for N in ``grid`` and "all".

    Columns: ``n_calls`` (the N asked for, or ``all``), ``n_calls_used`` (median over animals of the calls
    used: an animal with fewer calls than N uses all it has), ``accuracy`` (mean over animals of the share of
    subsets decided right by the ``recording`` model; ties count half), ``sem`` (over animals),
    ``accuracy_class0/1`` (the same per class, animals of that class), ``n_animals``, ``animals_short`` (animals
    with fewer than N calls) and ``mean_posterior`` (mean posterior of the decided class).
    """
    rng = np.random.default_rng(seed)
    rows = []
    logs = [call_log_odds(s, calibration) for s in held.scores]
    for n in list(grid) + ["all"]:
        acc, post, used = [], [], []
        for lo, label in zip(logs, held.labels):
            k = len(lo) if n == "all" else min(int(n), len(lo))
            z = recording_log_odds(_subset_means(lo, k, draws, rng), k, recording)
            sign = np.sign(z) if label == 1 else -np.sign(z)
            acc.append(float(np.mean((sign + 1) / 2)))
            used.append(k)
            p = expit(z)
            post.append(float(np.mean(np.maximum(p, 1 - p))))
        acc = np.asarray(acc)
        row = {"n_calls": str(n), "n_calls_used": float(np.median(used)), "accuracy": float(acc.mean()),
               "sem": float(acc.std(ddof=1) / np.sqrt(len(acc))) if len(acc) > 1 else float("nan"),
               "n_animals": len(acc), "animals_short": int(sum(u < int(n) for u in used)) if n != "all" else 0}
        for c in (0, 1):
            m = held.labels == c
            row[f"accuracy_class{c}"] = float(acc[m].mean()) if m.any() else float("nan")
        row["mean_posterior"] = float(np.mean(post))
        rows.append(row)
    return pd.DataFrame(rows)


def calls_needed(held: HeldOut, calibration: dict[str, float], recording: dict[str, float], target: float = 0.9,
                 draws: int = 200, seed: int = 0) -> dict[str, float | None]:
    """The fewest calls (on :data:`SEARCH_GRID`, up to the smallest animal's total) whose per-recording accuracy
    reaches ``target``, or None; and the accuracy with all calls (where the curve levels off)."""
    smallest = min(len(s) for s in held.scores)
    grid = [n for n in SEARCH_GRID if n <= smallest]
    curve = accuracy_curve(held, calibration, recording, grid=grid, draws=draws, seed=seed)
    hit = curve[(curve["n_calls"] != "all") & (curve["accuracy"] >= target)]
    return {"target": target, "calls": int(hit["n_calls"].iloc[0]) if len(hit) else None,
            "accuracy_all_calls": float(curve["accuracy"].iloc[-1]),
            "median_calls_all": float(curve["n_calls_used"].iloc[-1]),
            "max_accuracy": float(curve["accuracy"].max()), "searched_up_to": int(smallest)}


def new_animal_check(held: HeldOut, grid: Sequence[int] = CURVE_GRID, draws: int = 50, seed: int = 0
                     ) -> list[dict[str, float | str]]:
    """How the posteriors hold for an animal the calibration never saw: for each held-out animal, both
    calibrations are refitted on the other animals and applied to N of its calls. Per N (and "all"): accuracy,
    mean posterior of the decided class, and the share right among decisions with posterior >= 0.95 (with
    their number)."""
    rng = np.random.default_rng(seed)
    rows: dict[str, list[tuple[bool, float]]] = {str(n): [] for n in list(grid) + ["all"]}
    for i in range(len(held.animals)):
        rest = [j for j in range(len(held.animals)) if j != i]
        others = HeldOut([held.animals[j] for j in rest], held.labels[rest], [held.scores[j] for j in rest])
        if min((others.labels == c).sum() for c in (0, 1)) == 0:
            continue
        call = fit_call_calibration(others)
        rec = fit_recording_model(others, call)
        lo = call_log_odds(held.scores[i], call)
        for n in rows:
            k = len(lo) if n == "all" else min(int(n), len(lo))
            p = expit(recording_log_odds(_subset_means(lo, k, draws, rng), k, rec))
            rows[n] += [((q > 0.5) == bool(held.labels[i]), max(q, 1 - q)) for q in p]
    out = []
    for n, r in rows.items():
        if not r:
            continue
        right, post = np.array([a for a, _ in r]), np.array([b for _, b in r])
        sure = post >= 0.95
        out.append({"n_calls": n, "accuracy": float(right.mean()), "mean_posterior": float(post.mean()),
                    "sure": int(sure.sum()), "sure_right": float(right[sure].mean()) if sure.any() else None})
    return out


def predicted_accuracy(curve: pd.DataFrame, n_calls: int) -> float:
    """The curve's per-recording accuracy for a recording of ``n_calls`` calls: linear in log N between the
    grid points, the "all" point placed at its median number of calls, flat beyond the ends."""
    c = curve.copy()
    x = np.where(c["n_calls"] == "all", c["n_calls_used"], pd.to_numeric(c["n_calls"], errors="coerce"))
    order = np.argsort(x, kind="stable")
    x, y = np.log(np.asarray(x, float)[order]), c["accuracy"].to_numpy(float)[order]
    return float(np.interp(np.log(max(int(n_calls), 1)), x, y))


def animal_rates(held: HeldOut, calibration: dict[str, float]) -> pd.DataFrame:
    """Per held-out animal: its class, its number of calls and the share of them called class 1 (the LOAO
    confusion rates of :mod:`usvflow.classify.mixture`)."""
    return pd.DataFrame({"animal": held.animals, "label": held.labels,
                         "n_calls": [len(s) for s in held.scores],
                         "share_class1": [float(np.mean(call_log_odds(s, calibration) > 0)) for s in held.scores]})


# --------------------------------------------------------------------------------------------- one model's report


def score_kind(model: str) -> str:
    """How a model's LOAO ``score`` column reads: networks store P(class 1), ridge/SVM a decision value."""
    from .tasks import FAMILIES

    return "probability" if model.removesuffix("_shuffled") in FAMILIES else "decision"


def model_report(predictions: pd.DataFrame, model: str, grid: Sequence[int] = CURVE_GRID, draws: int = 200,
                 seed: int = 0) -> dict:
    """Everything the aggregation figure and a bundle need about one model, from its pooled LOAO predictions
    (rows with ``animal``, ``y_true``, ``y_pred``, ``score``): per-call and per-recording calibration, the
    accuracy-vs-calls curve, the calls needed for 90 %, and the per-animal confusion rates."""
    from .mixture import rate_model

    held = HeldOut.from_predictions(predictions, score_kind(model))
    call = fit_call_calibration(held)
    rec = fit_recording_model(held, call)
    curve = accuracy_curve(held, call, rec, grid=grid, draws=draws, seed=seed)
    rates = animal_rates(held, call)
    df = predictions[predictions["y_true"].isin([0, 1])]
    if "replicate" in df:
        df = df[df["replicate"].fillna(0) == 0]
    per_animal = df.assign(ok=df["y_true"] == df["y_pred"]).groupby("animal")["ok"].mean()
    acc = per_animal.to_numpy(float)
    return {
        "model": model, "score": score_kind(model), "n_animals": len(held.animals), "n_calls": int(len(df)),
        "loao": {"accuracy_mean": float(acc.mean()),
                 "accuracy_sem": float(acc.std(ddof=1) / np.sqrt(len(acc))) if len(acc) > 1 else None,
                 "per_animal": {str(k): float(v) for k, v in per_animal.items()}},
        "calibration": {"call": call, "recording": rec},
        "curve": curve.to_dict(orient="records"),
        "calls_needed_90": calls_needed(held, call, rec, 0.9, draws=draws, seed=seed),
        "new_animal_check": new_animal_check(held, grid=grid, draws=min(draws, 50), seed=seed),
        "rates": rates.to_dict(orient="records"), "rate_model": rate_model(rates),
    }
