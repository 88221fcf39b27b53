"""Which models feed the per-recording analysis and the bundles (planning: numpy and pandas only).

The workflow reads this when it builds its DAG: for each task, the leave-one-animal-out (LOAO) models whose
predictions exist (networks from :func:`usvflow.classify.tasks.plan_folds`, ridge/SVM from
:func:`usvflow.classify.classical_tasks.plan_tasks`) and the tasks that get a final model and a bundle.
"""

from __future__ import annotations

from typing import Any, Sequence

import pandas as pd

from .classical_tasks import FEATURE_MODELS, SPECTROGRAM_MODELS, encode_labels

#: Network tasks whose label is the animal's (every call of an animal has it): sex, strain. Property tasks
#: (has-break, ...) label calls, not animals.
PER_ANIMAL_NETWORK_TASKS = ("sex", "strain")
#: The models of the accuracy-vs-calls figure (issue 19: the CNN, ridge, SVM and the 9-feature DNN).
FIGURE_MODELS = ["cnn", "ridge", "svm", "dnn9"]


def loao_prediction_files(task: str, train_jobs: Sequence[tuple[str, str, str, str]], classical: dict[str, dict],
                          feature_tasks: Sequence[str]) -> dict[str, dict[str, str]]:
    """``{model: {held-out animal: predictions file}}`` of every LOAO model of ``task`` (no shuffled controls)."""
    out: dict[str, dict[str, str]] = {}
    for t, split, fold, model in train_jobs:
        if t == task and split == "loao" and not model.endswith("_shuffled"):
            out.setdefault(model, {})[fold] = f"results/train/{t}/loao/{fold}/{model}.predictions.parquet"
    plan = classical.get(task)
    if plan and not plan["skipped"]:
        models = SPECTROGRAM_MODELS + (FEATURE_MODELS if task in feature_tasks else [])
        for model in (m for m in models if not m.endswith("_shuffled")):
            for fold in plan["folds"]:
                out.setdefault(model, {})[fold] = f"results/train/{task}/loao/{fold}/{model}.predictions.parquet"
    return out


def per_animal_tasks(train_jobs: Sequence[tuple[str, str, str, str]], classical: dict[str, dict]) -> list[str]:
    """Tasks with LOAO predictions of a per-animal label: planned LOAO networks of sex/strain, runnable ridge/SVM."""
    nets = {t for t, split, _, _ in train_jobs if split == "loao" and t in PER_ANIMAL_NETWORK_TASKS}
    return sorted(nets | {t for t, plan in classical.items() if not plan["skipped"]})


def bundle_tasks(tasks: Sequence[str], train_jobs: Sequence[tuple[str, str, str, str]],
                 classical: dict[str, dict], samples: pd.DataFrame) -> list[str]:
    """Tasks of ``tasks`` that can have a bundle: a LOAO CNN and ridge/SVM folds are planned, and each class has
    at least two animals (so that every LOAO training set holds both classes and the calibration has data)."""
    cnn = {t for t, split, _, model in train_jobs if split == "loao" and model == "cnn"}
    out = []
    for t in tasks:
        if t not in cnn or t not in classical or classical[t]["skipped"]:
            continue
        spec = classical[t]["spec"]
        rows = samples[samples["cohort"] == spec["cohort"]]
        y = encode_labels(rows[spec["column"]], spec)
        if min(rows.loc[y == c, "animal"].nunique() for c in (0, 1)) >= 2:
            out.append(t)
    return out


def classical_candidates(task: str, feature_tasks: Sequence[str]) -> list[str]:
    """The ridge/SVM models a task's final classical model is chosen from (before checking their inputs)."""
    models = SPECTROGRAM_MODELS + (FEATURE_MODELS if task in feature_tasks else [])
    return [m for m in models if not m.endswith("_shuffled")]


def attribution_settings(attribution: dict[str, Any], key: str, preset_sex_minutes: float | None = None
                         ) -> dict[str, Any]:
    """The part of the ``attribution`` block one rule reads: ``aggregation`` (draws, seed) or ``pairs`` (number,
    length, simulator seed, interval level; a length of None is the preset's sex-cohort recording length)."""
    keys = {"aggregation": ("draws", "seed"), "pairs": ("pairs", "pair_minutes", "pair_seed", "level")}
    out = {k: attribution[k] for k in keys[key]}
    if key == "pairs" and out["pair_minutes"] is None:
        out["pair_minutes"] = preset_sex_minutes
    return out
