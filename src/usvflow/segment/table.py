"""Table 1 over training seeds: mean ± SEM over seeds and over test images, and paired tests of two models.

Scores are per image and per seed: arrays (n_seeds, n_images) of Dice or pixel accuracy in [0, 1]. A model's
number is the mean over seeds of its mean over the test images; its SEM over seeds says how much a retraining
moves it, its SEM over images (of the per-image scores averaged over seeds) how much the test set does. Two
models are compared on the same test images: Wilcoxon signed-rank test of their per-image scores averaged over
seeds, and how many seeds each wins.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .settings import BASELINES, MODELS, PAIRS


def _sem(v: np.ndarray) -> float:
    v = np.asarray(v, float)
    return float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else float("nan")


def summarise(scores: np.ndarray) -> dict[str, float]:
    """``mean``, ``sem_seeds`` and ``sem_images`` (×100) of per-image scores shaped (n_seeds, n_images)."""
    s = np.atleast_2d(np.asarray(scores, float)) * 100
    per_seed, per_image = s.mean(1), s.mean(0)
    return {"mean": float(per_seed.mean()), "sem_seeds": _sem(per_seed), "sem_images": _sem(per_image),
            "per_seed": [float(v) for v in per_seed]}


def paired_test(a: np.ndarray, b: np.ndarray) -> dict:
    """Model ``a`` against ``b`` on the same test images (arrays (n_seeds, n_images), same seeds).

    Returns the mean difference (×100), the two-sided Wilcoxon signed-rank p over images of the seed-averaged
    per-image scores, the number of images each is better on, and the seeds on which ``a``'s mean is higher.
    """
    a, b = np.atleast_2d(np.asarray(a, float)), np.atleast_2d(np.asarray(b, float))
    if a.shape != b.shape:
        raise ValueError(f"paired test needs the same seeds and images: {a.shape} vs {b.shape}")
    da, db = a.mean(0), b.mean(0)
    diff = da - db
    p = float(stats.wilcoxon(da, db).pvalue) if np.any(diff != 0) else 1.0
    return {"difference": float(diff.mean() * 100), "p": p, "n_images": int(diff.size),
            "images_a_better": int((diff > 0).sum()), "images_b_better": int((diff < 0).sum()),
            "seeds_a_better": int((a.mean(1) > b.mean(1)).sum()), "n_seeds": int(a.shape[0])}


def build_table(dice: dict[str, np.ndarray], accuracy: dict[str, np.ndarray], runs: dict[str, list[dict]],
                parameters: dict[str, int]) -> tuple[pd.DataFrame, dict]:
    """Table 1 rows (trained models, then baselines) and the paired comparisons of :data:`PAIRS`.

    ``dice``/``accuracy`` map each model key of :data:`MODELS` and :data:`BASELINES` to (n_seeds, n_images)
    scores (a baseline's single row is repeated for every seed: it is deterministic, so its SEM over seeds is
    0); ``runs`` gives each trained model's per-seed training summaries (``updates``, ``lr_drops``,
    ``stopped``); ``parameters`` each trained model's size.
    """
    tests = {f"{a} vs {b}": paired_test(dice[a], dice[b]) for a, b in PAIRS}
    partner = {a: b for a, b in PAIRS} | {b: a for a, b in PAIRS}
    rows = []
    for key in list(MODELS) + list(BASELINES):
        d, acc = summarise(dice[key]), summarise(accuracy[key])
        trained = key in MODELS
        row = dict(model=MODELS[key].label if trained else BASELINES[key], seeds=int(np.atleast_2d(dice[key]).shape[0]),
                   trained=trained, parameters=parameters.get(key, 0),
                   updates=float(np.mean([r["updates"] for r in runs[key]])) if trained else 0.0,
                   lr_drop_seeds=sum(bool(r["lr_drops"]) for r in runs[key]) if trained else 0,
                   early_stop_seeds=sum(r["stopped"] == "early stopping" for r in runs[key]) if trained else 0,
                   dice_mean=d["mean"], dice_sem_seeds=d["sem_seeds"], dice_sem_images=d["sem_images"],
                   accuracy_mean=acc["mean"], accuracy_sem_seeds=acc["sem_seeds"],
                   accuracy_sem_images=acc["sem_images"], compared_with="", dice_difference=np.nan,
                   wilcoxon_p=np.nan)
        if key in partner:
            other = partner[key]
            t = paired_test(dice[key], dice[other])
            row.update(compared_with=MODELS[other].label, dice_difference=t["difference"], wilcoxon_p=t["p"])
        rows.append(row)
    return pd.DataFrame(rows), tests


def schedule_summary(runs: dict[str, list[dict]]) -> dict:
    """How the plateau and early-stopping rules operated over all training runs (for the caption)."""
    flat = [r for rs in runs.values() for r in rs]
    return {"runs": len(flat), "runs_with_lr_drop": sum(bool(r["lr_drops"]) for r in flat),
            "runs_early_stopped": sum(r["stopped"] == "early stopping" for r in flat),
            "updates_min": int(min(r["updates"] for r in flat)), "updates_max": int(max(r["updates"] for r in flat)),
            "max_updates": int(max(r["max_updates"] for r in flat))}
