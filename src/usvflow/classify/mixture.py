"""Who emitted how many calls in a mixed recording: the share of each class, corrected for the classifier's errors.

In a recording of two animals (one of each class), the fraction ``q`` of calls the classifier assigns to class 1
is not the true share ``pi`` of class-1 calls: ``q = pi * t + (1 - pi) * f`` with ``t`` the share of a class-1
animal's calls called class 1 (sensitivity) and ``f`` the share of a class-0 animal's calls called class 1 (1 -
specificity). The misclassification-corrected estimate (Rogan & Gladen 1978) inverts it:
``pi = (q - f) / (t - f)``, clipped to [0, 1].

``t`` and ``f`` come from the leave-one-animal-out predictions, per held-out animal, and they differ from animal
to animal: for a new pair, what matters is the rate of *these* two animals, which are new. The interval therefore
draws, many times over,

* ``q`` from its posterior given the counts (Beta(k + 1/2, n - k + 1/2), Jeffreys),
* ``t`` and ``f`` from the predictive distribution of a new animal's rate: per class, the held-out animals'
  rates on the logit scale are normal with the sample mean and SD, and a new animal's rate is drawn from the
  Student-t predictive (``mean + sd * sqrt(1 + 1/k) * t_{k-1}``, k animals), which carries both the spread
  between animals and the uncertainty of the mean from a handful of them,

and reports the percentiles of ``pi``. Where ``t - f`` falls below :data:`MIN_SEPARATION` in a draw, that draw
knows nothing about ``pi`` and contributes a uniform value.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, logit

#: Draws whose t - f is below this carry no information on the share (uniform draw instead).
MIN_SEPARATION = 0.02
#: The SD of a class's logit rates when it has a single held-out animal (no spread can be measured).
FALLBACK_LOGIT_SD = 1.0


def rate_model(rates: pd.DataFrame) -> dict[str, Any]:
    """Per class (0/1), the held-out animals' share of calls called class 1, on the logit scale: mean, SD and
    number of animals. ``rates``: :func:`usvflow.classify.aggregate.animal_rates` (``label``, ``n_calls``,
    ``share_class1``)."""
    out: dict[str, Any] = {}
    for c in (0, 1):
        g = rates[rates["label"] == c]
        if g.empty:
            raise ValueError(f"no held-out animal of class {c}: the confusion rates are unknown")
        n = g["n_calls"].to_numpy(float)
        k1 = g["share_class1"].to_numpy(float) * n
        z = logit((k1 + 0.5) / (n + 1.0))  # bounded away from 0 and 1
        sd = float(np.std(z, ddof=1)) if len(z) > 1 else FALLBACK_LOGIT_SD
        out[str(c)] = {"mean_logit": float(z.mean()), "sd_logit": sd, "n_animals": int(len(z)),
                       "mean_rate": float(np.mean(k1 / np.maximum(n, 1)))}
    return out


def _predictive_rate(model: dict[str, Any], size: int, rng: np.random.Generator) -> np.ndarray:
    k = model["n_animals"]
    spread = model["sd_logit"] * np.sqrt(1.0 + 1.0 / k)
    t = rng.standard_t(k - 1, size) if k > 1 else rng.standard_normal(size)
    return expit(model["mean_logit"] + spread * t)


def class_share(n_class1: int, n_calls: int, model: dict[str, Any], level: float = 0.95, draws: int = 20000,
                seed: int = 0) -> dict[str, float]:
    """Estimated share of class-1 calls among ``n_calls`` of which ``n_class1`` were called class 1.

    Returns ``share`` (misclassification-corrected point estimate, from the classes' mean held-out rates),
    ``low`` and ``high`` (the ``level`` interval), ``naive`` (the uncorrected fraction called class 1), and the
    rates used (``sensitivity`` = mean t, ``false_positive_rate`` = mean f).
    """
    if n_calls <= 0:
        return {"share": float("nan"), "low": 0.0, "high": 1.0, "naive": float("nan"), "n_calls": 0,
                "n_class1": 0, "level": level, "sensitivity": model["1"]["mean_rate"],
                "false_positive_rate": model["0"]["mean_rate"]}
    rng = np.random.default_rng(seed)
    q = rng.beta(n_class1 + 0.5, n_calls - n_class1 + 0.5, draws)
    t = _predictive_rate(model["1"], draws, rng)
    f = _predictive_rate(model["0"], draws, rng)
    sep = t - f
    ok = sep >= MIN_SEPARATION
    pi = np.where(ok, np.clip((q - f) / np.where(ok, sep, 1.0), 0.0, 1.0), rng.random(draws))
    t_mean, f_mean = model["1"]["mean_rate"], model["0"]["mean_rate"]
    naive = n_class1 / n_calls
    point = float(np.clip((naive - f_mean) / (t_mean - f_mean), 0, 1)) if t_mean - f_mean >= MIN_SEPARATION \
        else float("nan")
    alpha = (1.0 - level) / 2
    return {"share": point, "low": float(np.quantile(pi, alpha)), "high": float(np.quantile(pi, 1 - alpha)),
            "naive": float(naive), "n_calls": int(n_calls), "n_class1": int(n_class1), "level": level,
            "sensitivity": float(t_mean), "false_positive_rate": float(f_mean)}
