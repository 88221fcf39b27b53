"""Which networks are trained on what: tasks, splits, folds and settings (Ivanenko et al. 2020, Methods).

numpy and pandas only: the workflow plans every training job from this module without importing torch.
See :mod:`usvflow.classify` for the protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError

# --------------------------------------------------------------------------------------------- tasks


@dataclass(frozen=True)
class Task:
    """One classification target: which cohort it is learnt on and which protocol (paper Tables 4–7)."""

    name: str
    cohort: str
    protocol: str
    description: str


TASKS: dict[str, Task] = {t.name: t for t in [
    Task("sex", "sex", "spectrogram", "emitter's sex (M = 1, F = 0)"),
    Task("strain", "strain", "spectrogram", "emitter's strain (cortexless = 1, WT = 0)"),
    Task("individual", "sex", "spectrogram", "emitting animal, sex cohort"),
    Task("individual_strain", "strain", "spectrogram", "emitting animal, strain cohort"),
    Task("has_break", "sex", "properties", "call has at least one break"),
    Task("direction", "sex", "properties", "direction: -1 down, 0 flat, 1 up"),
    Task("breaks", "sex", "properties", "number of breaks: 0, 1, 2, 3+"),
    Task("peaks", "sex", "properties", "number of peaks: 0, 1, 2, 3+"),
    Task("broadband", "sex", "properties", "broadband (1) or narrow (0)"),
]}
PROPERTY_TASKS = ["has_break", "direction", "breaks", "peaks", "broadband"]
SPLITS = ["loao", "random10"]
N_RANDOM_FOLDS = 10
FAMILIES = ["cnn", "dnn9", "semiconv"]
#: Families whose training jobs reserve a GPU (``gpu=1``); the 9-feature DNN (a few thousand weights) runs on
#: the CPU, where it is as fast, and leaves the GPUs to the convolutional networks.
GPU_FAMILIES = ("cnn", "semiconv")
MODELS = [f"{f}{s}" for f in FAMILIES for s in ("", "_shuffled")]
# The paper's four training protocols (Tables 4-7) by model family / task group.
PROTOCOL_TABLES = {"spectrogram": 4, "properties": 5, "dnn9": 6, "semiconv": 7}

# Which (task, split) pairs are trained, and with which models: the paper's figures.
PLAN: dict[tuple[str, str], list[str]] = {
    ("sex", "loao"): MODELS,                                  # Fig 3D/E, 4G/H, 4K/L, S1A
    ("has_break", "loao"): ["cnn", "cnn_shuffled"],           # Fig 3F (paired with sex per animal)
    ("strain", "loao"): ["cnn", "cnn_shuffled"],              # Fig 5
    ("sex", "random10"): ["cnn", "cnn_shuffled"],             # S1B
    ("individual", "random10"): ["cnn", "cnn_shuffled"],      # S1C
    ("strain", "random10"): ["cnn", "cnn_shuffled"],          # S2B
    ("individual_strain", "random10"): ["cnn", "cnn_shuffled"],  # S2C
    **{(p, "random10"): ["cnn", "cnn_shuffled"] for p in ["direction", "breaks", "peaks", "broadband"]},  # Fig 4B-E
}


def _strain_classes(values: Sequence[str]) -> list[str]:
    """Two strains: the wild type (a name like WT / wild type) first, so the mutant is class 1."""
    uniq = sorted({str(v) for v in values if isinstance(v, str) and v})
    wt = [s for s in uniq if s.lower().replace("-", "").replace(" ", "") in ("wt", "wildtype", "c57bl/6", "c57bl6")]
    return wt + [s for s in uniq if s not in wt]


def task_labels(table: pd.DataFrame, task: str) -> tuple[np.ndarray, list[str]]:
    """Integer class per call (-1 where the call has no label, e.g. no reference property) and class names."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose from {sorted(TASKS)}")
    n = len(table)
    y = np.full(n, -1, np.int64)
    if task == "sex":
        classes = ["F", "M"]
        s = table["sex"].astype(str).str.upper()
        y[s.eq("F").to_numpy()] = 0
        y[s.eq("M").to_numpy()] = 1
    elif task == "strain":
        classes = _strain_classes(table["strain"].tolist())
        for i, c in enumerate(classes):
            y[table["strain"].astype(str).eq(c).to_numpy()] = i
    elif task in ("individual", "individual_strain"):
        classes = sorted(map(str, table["animal"].unique()))
        y = table["animal"].astype(str).map({c: i for i, c in enumerate(classes)}).to_numpy(np.int64)
    else:
        col = {"has_break": "breaks"}.get(task, task)
        v = pd.to_numeric(table[col], errors="coerce").to_numpy(float)
        ok = np.isfinite(v)
        if task == "has_break":
            classes = ["no break", "break"]
            y[ok] = (v[ok] > 0).astype(np.int64)
        elif task == "direction":
            classes = ["-1", "0", "1"]
            y[ok] = np.clip(np.rint(v[ok]), -1, 1).astype(np.int64) + 1
        elif task in ("breaks", "peaks"):
            classes = ["0", "1", "2", "3+"]
            y[ok] = np.clip(np.rint(v[ok]), 0, 3).astype(np.int64)
        else:  # broadband: scored in [0, 1]
            classes = ["0", "1"]
            y[ok] = (v[ok] >= 0.5).astype(np.int64)
    return y, classes


# --------------------------------------------------------------------------------------------- folds


def loao_folds(animals: Sequence[str]) -> list[str]:
    """Leave-one-animal-out fold ids: one per animal (sorted, as strings)."""
    return sorted({str(a) for a in animals})


def random_fold_ids(n_folds: int = N_RANDOM_FOLDS) -> list[str]:
    """Fold ids of the random split: ``k0`` … ``k{n-1}``."""
    return [f"k{i}" for i in range(n_folds)]


def random_fold_of(call_uids: Sequence[str], seed: int, k: int = N_RANDOM_FOLDS) -> np.ndarray:
    """Fold index (0..k-1) of every call: a seeded permutation cut into k non-overlapping test sets.

    Depends on the call ids and the seed only, so every task on a cohort shares the same partition.
    """
    order = np.argsort(np.asarray(call_uids, dtype=str), kind="stable")
    perm = np.random.default_rng(seed).permutation(len(order))
    fold = np.empty(len(order), np.int64)
    fold[order[perm]] = np.arange(len(order)) % k
    return fold


def split_indices(table: pd.DataFrame, split: str, fold: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Training and test row indices of one fold (before dropping unlabelled calls)."""
    if split == "loao":
        test = table["animal"].astype(str).eq(str(fold)).to_numpy()
        if not test.any():
            raise InputError("results/dataset", f"fold {fold}: no calls of animal {fold} in this cohort")
    elif split == "random10":
        if not (fold.startswith("k") and fold[1:].isdigit() and int(fold[1:]) < N_RANDOM_FOLDS):
            raise ValueError(f"random10 folds are k0..k{N_RANDOM_FOLDS - 1}, got {fold!r}")
        test = random_fold_of(table["call_uid"].tolist(), seed) == int(fold[1:])
    else:
        raise ValueError(f"unknown split {split!r}; choose from {SPLITS}")
    return np.flatnonzero(~test), np.flatnonzero(test)


def balanced_subsample(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices of a class-balanced subset: every class cut to the size of the rarest (ridge/SVM practice)."""
    classes = [c for c in np.unique(y) if c >= 0]
    m = min((y == c).sum() for c in classes)
    keep = np.concatenate([rng.choice(np.flatnonzero(y == c), m, replace=False) for c in classes])
    return np.sort(keep)


def class_weights(y: np.ndarray, n_classes: int, power: float = 1.0) -> np.ndarray:
    """Loss weight per class, ``(1 / frequency) ** power`` scaled to a mean weight of 1 over the calls; 0 for
    absent classes. ``power`` 1: inverse frequency (every class weighs the same in the loss); 0.5: tempered
    (square root; a rare class gains weight without a 60-fold ratio that makes the network call common calls
    rare); 0: unweighted."""
    counts = np.bincount(y, minlength=n_classes).astype(float)
    w = np.zeros(n_classes)
    present = counts > 0
    w[present] = (len(y) / (present.sum() * counts[present])) ** float(power)
    return w * len(y) / max(float(counts @ w), 1e-12)


def plan_folds(samples: pd.DataFrame, settings: dict[str, Any], simulated: bool) -> list[tuple[str, str, str, str]]:
    """Every (task, split, fold, model) to train, from the sample sheet alone (known when the DAG is built).

    A task is planned only when its cohort exists with at least two classes; property tasks only where the
    calls have a reference (simulated truth, or a lab's annotations in the sample sheet); leave-one-animal-out
    folds are the cohort's animals; random folds ``k0`` … up to ``settings['random_folds']``.
    """
    jobs = []
    n_random = int(settings.get("random_folds", N_RANDOM_FOLDS))
    for (task, split), models in PLAN.items():
        t = TASKS[task]
        rows = samples[samples["cohort"] == t.cohort]
        if rows.empty:
            continue
        if task == "sex" and not {"F", "M"} <= set(rows["sex"].astype(str).str.upper()):
            continue
        if task == "strain" and len(_strain_classes(rows["strain"].tolist())) < 2:
            continue
        if task.startswith("individual") and rows["animal"].nunique() < 2:
            continue
        if task in PROPERTY_TASKS and not simulated and (
                "annotations" not in rows or not rows["annotations"].fillna("").astype(bool).any()):
            continue
        folds = loao_folds(rows["animal"]) if split == "loao" else random_fold_ids(n_random)
        jobs += [(task, split, fold, model) for fold in folds for model in models]
    return jobs


def fold_paths(jobs: Sequence[tuple[str, str, str, str]], kinds: Sequence[str] = ("metrics",),
               task: str | None = None, split: str | None = None, models: Sequence[str] | None = None) -> list[str]:
    """Result files of planned folds, filtered by task/split/models: ``results/train/{task}/{split}/{fold}/{model}.{kind}``."""
    ext = {"metrics": "metrics.json", "predictions": "predictions.parquet", "curve": "curve.csv", "model": "pt"}
    out = []
    for t, s, f, m in jobs:
        if (task is None or t == task) and (split is None or s == split) and (models is None or m in models):
            out += [f"results/train/{t}/{s}/{f}/{m}.{ext[k]}" for k in kinds]
    return out


def train_settings(config: dict[str, Any]) -> dict[str, Any]:
    """The ``train:`` block of config.yaml merged with its preset (``train.presets[config['preset']]``,
    falling back to ``default``)."""
    block = dict(config.get("train", {}))
    presets = block.pop("presets", {})
    preset = presets.get(config.get("preset", "default"), presets.get("default", {}))
    merged = {**block, **preset}
    merged["preset"] = config.get("preset", "default")
    return merged


# --------------------------------------------------------------------------------------------- device, seeds
