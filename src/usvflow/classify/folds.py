"""One (task, split, fold, model) trained and tested end to end, its metrics and the skipped-fold record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..errors import InputError
from .inputs import (
    _vector_lengths,
    augmentation_from,
    prepare_images,
    protocol_stages,
    scale_vectors,
    standardize,
)
from .models import build_model
from .tasks import FAMILIES, GPU_FAMILIES, MODELS, TASKS, split_indices, task_labels
from .training import TrainResult, pick_device, seed_everything, train_network

# --------------------------------------------------------------------------------------------- one fold


class FoldSkipped(Exception):
    """A fold that cannot be trained (no test calls, or a training set of one class): reported, not fatal."""

    def __init__(self, reason: str, classes: Sequence[str]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.classes = list(classes)


def skipped_metrics(task: str, split: str, fold: str, model_name: str, reason: str,
                    classes: Sequence[str]) -> dict[str, Any]:
    """Metrics of a skipped fold: accuracy null and the reason, so figures and summaries go on without it."""
    return {"task": task, "split": split, "fold": fold, "model": model_name,
            "shuffled": model_name.endswith("_shuffled"), "n_train": 0, "n_test": 0, "accuracy": None,
            "chance": 1.0 / max(len(classes), 1), "classes": list(classes), "per_class_accuracy": {},
            "balanced_accuracy": None, "test_animals": [fold] if split == "loao" else [], "skipped": reason}


@dataclass
class FoldData:
    """A cohort's inputs for one model family, row-aligned with ``table``."""

    table: pd.DataFrame
    images: np.ndarray | None = None
    features: pd.DataFrame | None = None
    vectors: dict[str, np.ndarray] = field(default_factory=dict)


def feature_matrix(data: FoldData, family: str) -> tuple[np.ndarray, list[str]]:
    """The single-value inputs of the feature networks: the paper's 9 basic features (dnn9: duration, average
    frequency, average volume and the six scored properties) or its 24 (semiconv: 18 extracted + 6 scored)."""
    from ..features.columns import FEATURES_9, FEATURES_24

    feats = data.features
    if feats is None:
        raise InputError("results/features", f"{family} needs the feature table")
    cols = FEATURES_9 if family == "dnn9" else FEATURES_24
    missing = [c for c in cols if c not in feats.columns]
    if missing:
        raise InputError("results/features", f"feature table lacks column(s) {', '.join(missing)}")
    return feats[cols].to_numpy(float), list(cols)


def vector_inputs(vectors: dict[str, np.ndarray], train_idx: np.ndarray) -> list[np.ndarray]:
    """FF line (Hz), time marginal and spectral marginal (power) → three arrays scaled to about [0, 1]:
    powers on a log scale (their range spans decades), 0 where there is no signal (breaks, after the end)."""
    out = []
    for key in ("ff_line", "time_marginal", "spectral_marginal"):
        if key not in vectors:
            raise InputError("results/features", f"vectors file lacks {key!r}")
        v = np.asarray(vectors[key], float)
        if key != "ff_line":
            with np.errstate(divide="ignore", invalid="ignore"):
                v = np.where(v > 0, np.log10(v), np.nan)
        else:
            v = np.where(v > 0, v, np.nan)
        out.append(scale_vectors(v, train_idx))
    return out


def run_fold(task: str, split: str, fold: str, model_name: str, data: FoldData, settings: dict[str, Any],
             device: torch.device | None = None, log: Callable[[str], None] | None = print
             ) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame, nn.Module]:
    """Train and test one (task, split, fold, model). Returns (metrics, predictions, curve, trained model).

    A shuffled-label control on a leave-one-animal-out split whose held-out calls all share one label (sex,
    strain) is trained ``settings['shuffle_repeats']`` times, each on its own permutation (see
    :func:`_shuffled_replicates`); elsewhere once.
    """
    family = model_name.removesuffix("_shuffled")
    shuffled = model_name.endswith("_shuffled")
    repeats = int(settings.get("shuffle_repeats", 1))
    if (shuffled and split == "loao" and repeats > 1 and "shuffle_replicate" not in settings
            and _held_out_share_one_label(data.table, task, split, fold, int(settings.get("seed", 0)))):
        return _shuffled_replicates(task, split, fold, model_name, data, settings, repeats, device, log)
    if family not in FAMILIES:
        raise ValueError(f"unknown model {model_name!r}; choose from {MODELS}")
    if device is None:  # the 9-feature DNN reserves no GPU (rules/train.smk), so it does not use one
        device = pick_device() if family in GPU_FAMILIES else torch.device("cpu")
    table = data.table.reset_index(drop=True)
    seed = int(settings.get("seed", 0))
    y_all, classes = task_labels(table, task)
    train_idx, test_idx = split_indices(table, split, fold, seed)
    train_idx = train_idx[y_all[train_idx] >= 0]
    test_idx = test_idx[y_all[test_idx] >= 0]
    if len(test_idx) < int(settings.get("min_test_calls", 1)):
        raise FoldSkipped(f"{task}/{split}/{fold}: only {len(test_idx)} labelled test call(s)", classes)
    present = sorted(set(y_all[train_idx].tolist()))
    if len(present) < 2:
        raise FoldSkipped(f"{task}/{split}/{fold}: the training set holds one class only "
                          f"({', '.join(classes[c] for c in present) or 'no labelled calls'})", classes)
    y = y_all.copy()
    if shuffled:
        # Control: the same training on labels permuted across the training calls; the test labels stay true.
        # Replicate 0 keeps the permutation of a single-permutation run; later ones step by a large prime.
        perm_seed = seed + 7919 + 104_729 * int(settings.get("shuffle_replicate", 0))
        y[train_idx] = y_all[train_idx][np.random.default_rng(perm_seed).permutation(len(train_idx))]
    n_classes = len(classes)
    fold_seed = seed * 1_000_003 + sum(map(ord, f"{task}/{split}/{fold}/{family}")) * 7  # stable across runs
    aug = augmentation_from(settings)
    protocol = TASKS[task].protocol if family == "cnn" else family
    stages = protocol_stages(settings, protocol)
    arch = dict(settings.get(family, {}) or {})
    seed_everything(fold_seed)  # before the network is built: the Xavier draws are part of the run

    if family == "cnn":
        x, lengths = prepare_images(data.images, int(arch.get("input_size", 100)))
        inputs = [x, lengths]
        model = build_model("cnn", n_classes, arch)

        def augment(batch: list[torch.Tensor], gen: torch.Generator) -> list[torch.Tensor]:
            return [aug.images(batch[0], batch[1], gen)]

        inputs_eval = [x]
    else:
        X, cols = feature_matrix(data, family)
        Xtr_all = standardize(X[train_idx], X)[1]
        if family == "dnn9":
            arch["n_features"] = X.shape[1]
            model = build_model("dnn9", n_classes, arch)
            inputs = inputs_eval = [torch.from_numpy(Xtr_all)]
            augment = None
        else:
            vecs = vector_inputs(data.vectors, train_idx)
            arch["n_features"] = X.shape[1]
            arch["vector_lengths"] = [v.shape[1] for v in vecs]
            model = build_model("semiconv", n_classes, arch)
            tv = [torch.from_numpy(v) for v in vecs]
            lens = [_vector_lengths(t) for t in tv[:2]]
            inputs = [torch.from_numpy(Xtr_all), *tv, *lens]
            inputs_eval = [torch.from_numpy(Xtr_all), *tv]

            def augment(batch: list[torch.Tensor], gen: torch.Generator) -> list[torch.Tensor]:
                f, ff, tm, sm, l_ff, l_tm = batch
                return [f, aug.line(ff, l_ff, gen), aug.line(tm, l_tm, gen), aug.marginal(sm, gen)]

    result = _train_with_aux(model, inputs, inputs_eval, augment, y, train_idx, test_idx, stages, n_classes,
                             fold_seed, settings, device, log)
    proba = result.probabilities
    y_pred = proba.argmax(1) if n_classes > 2 else (proba[:, 1] >= 0.5).astype(int)
    y_true = y_all[test_idx]
    predictions = pd.DataFrame({"call_uid": table["call_uid"].to_numpy()[test_idx], "y_true": y_true,
                                "y_pred": y_pred,
                                "score": proba[:, 1] if n_classes == 2 else proba[np.arange(len(y_pred)), y_pred]})
    if n_classes > 2:
        for k, c in enumerate(classes):
            predictions[f"p_{c}"] = proba[:, k]
    metrics = fold_metrics(y_true, y_pred, classes)
    metrics.update({
        "task": task, "split": split, "fold": fold, "model": model_name, "shuffled": shuffled,
        "n_train": int(len(train_idx)), "n_test": int(len(test_idx)),
        "test_animals": sorted(map(str, table["animal"].iloc[test_idx].unique())),
        "train_class_counts": np.bincount(y[train_idx], minlength=n_classes).tolist(),
        "device": result.device, "runtime": vars(result.runtime),
        "seconds": round(result.seconds, 3), "iterations": result.iterations,
        "cpu_seconds": round(result.cpu_seconds, 3), "threads": torch.get_num_threads(),
        "calls_per_second": result.train_calls_seen / result.seconds if result.seconds > 0 else None,
        "protocol": protocol, "stages": [vars(s) for s in stages], "architecture": model.config.__dict__,
        "seed": fold_seed, "preset": settings.get("preset"), "skipped": "",
    })
    return metrics, predictions, result.curve, model


def _held_out_share_one_label(table: pd.DataFrame, task: str, split: str, fold: str, seed: int) -> bool:
    """Whether every labelled test call of this fold has the same label: true for the animal-level tasks
    (sex, strain) on leave-one-animal-out folds, false for a call property such as ``has_break``, whose held-out
    animal has calls of both classes. Only in the first case does one shuffled replicate land near 0 or 100 %
    by luck (:func:`_shuffled_replicates`); in the second a single permutation already scores near chance, as on
    the random splits, and the control is trained once."""
    table = table.reset_index(drop=True)
    y, _ = task_labels(table, task)
    _, test_idx = split_indices(table, split, fold, seed)
    return len(np.unique(y[test_idx][y[test_idx] >= 0])) <= 1


def _shuffled_replicates(task: str, split: str, fold: str, model_name: str, data: FoldData,
                         settings: dict[str, Any], repeats: int, device: torch.device | None,
                         log: Callable[[str], None] | None) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame, nn.Module]:
    """A shuffled-label control trained on ``repeats`` label permutations, pooled.

    Why: every call of a held-out animal has the same label, and a network trained on shuffled labels gives
    nearly the same output for every call, so one replicate scores close to 0 % or 100 % on that animal by
    the luck of its last update. The mean over folds of single replicates then strays far from 50 % with a
    handful of animals; pooling a few permutations estimates the control's level, not one draw of it.
    Accuracy is over the pooled predictions (a ``replicate`` column tells them apart); the model and
    learning curve kept are the first replicate's.
    """
    runs = [run_fold(task, split, fold, model_name, data, {**settings, "shuffle_replicate": r}, device, log)
            for r in range(repeats)]
    metrics, _, curve, model = runs[0]
    predictions = pd.concat([p.assign(replicate=r) for r, (_, p, _, _) in enumerate(runs)], ignore_index=True)
    classes = metrics["classes"]
    y_true = predictions["y_true"].to_numpy()
    metrics = {**metrics, **fold_metrics(y_true, predictions["y_pred"].to_numpy(), classes),
               "replicates": repeats, "replicate_accuracies": [m["accuracy"] for m, _, _, _ in runs],
               "class_counts_test": runs[0][0]["class_counts_test"],
               "seconds": round(sum(m["seconds"] for m, _, _, _ in runs), 3),
               "cpu_seconds": round(sum(m["cpu_seconds"] for m, _, _, _ in runs), 3),
               "iterations": sum(m["iterations"] for m, _, _, _ in runs)}
    return metrics, predictions, curve, model


def _train_with_aux(model, inputs, inputs_eval, augment, y, train_idx, test_idx, stages, n_classes, seed,
                    settings, device, log) -> TrainResult:
    """Run :func:`train_network` where training batches carry helper tensors (lengths) after the network's
    inputs: the network is wrapped so evaluation sees only the real inputs."""
    n_real = len(inputs_eval)

    class _Wrap(nn.Module):
        def __init__(self, inner: nn.Module) -> None:
            super().__init__()
            self.inner = inner
            self.n_classes = inner.n_classes

        def forward(self, *xs: torch.Tensor) -> torch.Tensor:
            return self.inner(*xs[:n_real])

        def set_dropout(self, p: float) -> None:
            self.inner.set_dropout(p)

    wrapped = _Wrap(model)

    def aug(batch: list[torch.Tensor], gen: torch.Generator) -> list[torch.Tensor]:
        out = augment(batch, gen) if augment is not None else batch[:n_real]
        return list(out) + list(batch[n_real:])  # keep helpers so positions stay aligned (forward drops them)

    return train_network(wrapped, inputs, y, train_idx, test_idx, stages, n_classes, seed,
                         augment=aug, batch_size=int(settings.get("batch_size", 64)),
                         curve_every=int(settings.get("curve_every", 10)), device=device, log=log,
                         runtime=settings,
                         class_weight_power=float(settings.get("class_weight_power", 1.0)))


def write_json(path: str, obj: dict[str, Any]) -> None:
    """JSON of a metrics dict: numpy scalars/arrays → Python, NaN → null."""
    import json

    def plain(o: Any) -> Any:
        if isinstance(o, dict):
            return {str(k): plain(v) for k, v in o.items()}
        if isinstance(o, (list, tuple, np.ndarray)):
            return [plain(v) for v in (o.tolist() if isinstance(o, np.ndarray) else o)]
        if isinstance(o, (bool, np.bool_)):
            return bool(o)
        if isinstance(o, (int, np.integer)):
            return int(o)
        if isinstance(o, (float, np.floating)):
            return float(o) if np.isfinite(o) else None
        return o

    with open(path, "w") as fh:
        json.dump(plain(obj), fh, indent=2)


def fold_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
    """Accuracy, chance (1/K: the classifiers are trained class-balanced), per-class and balanced accuracy."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    per_class = {}
    for k, c in enumerate(classes):
        m = y_true == k
        per_class[str(c)] = float((y_pred[m] == k).mean()) if m.any() else None
    present = [v for v in per_class.values() if v is not None]
    return {"accuracy": float((y_true == y_pred).mean()) if len(y_true) else None,
            "chance": 1.0 / len(classes), "classes": list(map(str, classes)),
            "per_class_accuracy": per_class,
            "balanced_accuracy": float(np.mean(present)) if present else None,
            "class_counts_test": np.bincount(y_true, minlength=len(classes)).tolist()}
