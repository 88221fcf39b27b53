"""Which ridge / SVM models run on what: tasks, labels and leave-one-animal-out folds (no scikit-learn).

See :mod:`usvflow.classify.classical` for the protocol.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

#: task → which cohort, which sample-sheet column, and the label coded 1 / 0.
TASKS: dict[str, dict[str, str]] = {
    "sex": {"cohort": "sex", "column": "sex", "positive": "M", "negative": "F"},
    "strain": {"cohort": "strain", "column": "strain", "positive": "cortexless", "negative": "WT"},
}
INPUTS = ("spectrogram", "feat9", "semiconv")
#: model name → (estimator, input)
MODELS: dict[str, tuple[str, str]] = {
    "ridge": ("ridge", "spectrogram"), "svm": ("svm_quadratic", "spectrogram"),
    "ridge_feat9": ("ridge", "feat9"), "svm_feat9": ("svm_linear", "feat9"),
    "ridge_semiconv": ("ridge", "semiconv"), "svm_semiconv": ("svm_linear", "semiconv"),
}
SPECTROGRAM_MODELS = ["ridge", "svm", "ridge_shuffled", "svm_shuffled"]
FEATURE_MODELS = ["ridge_feat9", "svm_feat9", "ridge_semiconv", "svm_semiconv",
                  "ridge_feat9_shuffled", "svm_feat9_shuffled", "ridge_semiconv_shuffled", "svm_semiconv_shuffled"]
ALL_MODELS = SPECTROGRAM_MODELS + FEATURE_MODELS

#: Candidate regularisation values, chosen per fold by nested leave-one-animal-out (a number: fixed).
RIDGE_ALPHAS = [10.0 ** k for k in range(-2, 7)]
SVM_CS = [10.0 ** k for k in range(-4, 1)]

DEFAULT_PARAMS: dict[str, Any] = {
    "ridge_alpha": RIDGE_ALPHAS,
    "svm_c": SVM_CS,
    "svm_max_iter": 100_000,  # libsvm iterations per fit (a bound, counted in the metrics when reached)
    "seed": 20200,
    "min_test_calls": 10,  # a held-out animal with fewer calls is skipped (too few to estimate accuracy)
    "min_train_per_class": 5,
    "max_train_per_class": 0,  # 0 = no cap; a cap keeps SVM fits short on the paper-size cohort
    "shuffle_repeats": 1,  # label permutations per shuffled control, pooled (usvflow.classify.folds explains why)
}


def task_spec(task: str, overrides: dict | None = None) -> dict[str, str]:
    """The label definition of ``task`` (config overrides win)."""
    spec = dict(TASKS.get(task, {}))
    spec.update((overrides or {}).get(task, {}))
    missing = {"cohort", "column", "positive", "negative"} - set(spec)
    if missing:
        raise ValueError(f"task {task!r} needs {sorted(missing)} in classical.tasks")
    return spec


def encode_labels(labels: pd.Series, spec: dict[str, str]) -> np.ndarray:
    """1 for ``positive``, 0 for ``negative``, -1 for anything else (left out of training and testing)."""
    s = labels.astype(str)
    return np.where(s == spec["positive"], 1, np.where(s == spec["negative"], 0, -1)).astype(int)


def loao_folds(samples: pd.DataFrame, spec: dict[str, str]) -> tuple[list[str], str]:
    """Held-out animals of a task's cohort, and why the task cannot run ('' when it can).

    A cohort needs animals of both classes; otherwise there is nothing to classify (one clear line, no folds).
    """
    sub = samples[samples["cohort"] == spec["cohort"]]
    if sub.empty:
        return [], f"no recordings of cohort {spec['cohort']!r}"
    y = encode_labels(sub[spec["column"]], spec)
    have = {spec["positive"]: int((y == 1).sum()), spec["negative"]: int((y == 0).sum())}
    if min(have.values()) == 0:
        only = ", ".join(f"{k}: {v} recording(s)" for k, v in have.items())
        return [], (f"cohort {spec['cohort']!r} has {spec['column']} of one class only ({only}); "
                    f"leave-one-animal-out classification needs both")
    animals = sorted(sub.loc[y >= 0, "animal"].astype(str).unique())
    return animals, ""


def plan_tasks(samples: pd.DataFrame, tasks: dict[str, dict] | None, cohorts: Sequence[str]) -> dict[str, dict]:
    """For each configured task whose cohort exists: its folds (held-out animals) and, if it cannot run, why."""
    plan = {}
    for task in (tasks or TASKS):
        spec = task_spec(task, tasks)
        if spec["cohort"] not in cohorts:
            continue
        folds, reason = loao_folds(samples, spec)
        plan[task] = {"spec": spec, "folds": folds, "skipped": reason}
    return plan
