"""Training and cross-validation of the paper's networks (Ivanenko et al. 2020, Methods).

* **Tasks** (:data:`TASKS`): the emitter's sex (M = 1, F = 0) and strain (cortexless = 1, WT = 0), the
  individual animal, and properties of the call (has-break, direction, breaks and peaks in classes
  0, 1, 2, 3+, broadband), each from the call's spectrogram; sex also from the 9 basic features (dense DNN)
  and from 24 features + 3 vectors (semi-convolutional DNN).
* **Splits**: leave-one-animal-out (``loao``; fold = the held-out animal) and random 10-fold (``random10``;
  fold ``k0`` … ``k9``, non-overlapping test sets of a seeded permutation, so individual properties are seen
  in training). A ``*_shuffled`` model is the same training on labels permuted across the training set: the
  control that must stay at chance.
* **Protocol**: Adam, class-weighted cross-entropy (weights inverse to class frequency in the training set),
  batch 64, stages with their own epochs / learning rate / dropout, on-the-fly augmentation as the paper
  (start/end clipping up to 10 % of the call, gain 0.5–1.5, Gaussian noise of variance 0–0.01).
* **Device**: CUDA when present, else CPU (:func:`pick_device`); seeds fixed so a fold reruns identically
  on the same device.

Each fold yields per-call probabilities, a learning curve (test accuracy and weight change per iteration,
recorded every ``curve_every`` iterations) and the trained network.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .errors import InputError
from .models import build_model

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


def class_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    """Loss weight per class, inverse to its frequency (mean weight 1 over the calls); 0 for absent classes."""
    counts = np.bincount(y, minlength=n_classes).astype(float)
    w = np.zeros(n_classes)
    present = counts > 0
    w[present] = len(y) / (present.sum() * counts[present])
    return w


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


def pick_device(prefer: str | None = None) -> torch.device:
    """CUDA when available, else CPU; ``prefer`` (or ``USVFLOW_DEVICE``) forces one, e.g. ``cpu``."""
    prefer = prefer or os.environ.get("USVFLOW_DEVICE") or None
    if prefer:
        if prefer.startswith("cuda") and not torch.cuda.is_available():
            raise RuntimeError(f"device {prefer!r} requested but CUDA is not available")
        return torch.device(prefer)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int) -> None:
    """Same seed for Python, numpy and torch; deterministic kernels where torch has them."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    torch.use_deterministic_algorithms(True, warn_only=True)


# --------------------------------------------------------------------------------------------- inputs


def prepare_images(images: np.ndarray, input_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (n, 100, 100) call images → float (n, 1, s, s) in [0, 1] (average-pooled when s < 100) and
    each call's length in columns (time is the last axis, left-aligned: the last non-zero column ends it)."""
    x = torch.from_numpy(np.ascontiguousarray(images)).float().div_(255.0).unsqueeze(1)
    factor = images.shape[-1] // input_size
    if factor > 1:
        x = F.avg_pool2d(x, factor)
    lengths = _vector_lengths(x.amax(dim=2).squeeze(1))
    return x, lengths


def _vector_lengths(v: torch.Tensor) -> torch.Tensor:
    """Left-aligned signals (n, L): index after the last non-zero entry (at least 1)."""
    nz = v != 0
    idx = torch.arange(v.shape[-1], device=v.device).expand_as(v)
    return torch.where(nz, idx + 1, torch.zeros_like(idx)).amax(dim=-1).clamp(min=1)


def clip_start_end(x: torch.Tensor, lengths: torch.Tensor, max_fraction: float, gen: torch.Generator) -> torch.Tensor:
    """Cut up to ``max_fraction`` of each call's length from its start and from its end (independently),
    then left-align again and zero the rest. ``x``: (..., L) with time last, batch first."""
    b, width = x.shape[0], x.shape[-1]
    lf = lengths.to(x.device).float()
    cut_start = torch.floor(torch.rand(b, generator=gen, device=x.device) * max_fraction * lf).long()
    cut_end = torch.floor(torch.rand(b, generator=gen, device=x.device) * max_fraction * lf).long()
    new_len = (lengths.to(x.device) - cut_start - cut_end).clamp(min=1)
    cols = torch.arange(width, device=x.device)
    src = (cols[None, :] + cut_start[:, None]).clamp(max=width - 1)          # (b, L)
    keep = cols[None, :] < new_len[:, None]
    shape = (b,) + (1,) * (x.dim() - 2) + (width,)
    src = src.view(shape).expand_as(x)
    out = torch.gather(x, -1, src)
    return out * keep.view(shape).to(x.dtype)


def gain_and_noise(x: torch.Tensor, gain: tuple[float, float] | None, noise_var: tuple[float, float],
                   gen: torch.Generator, clip_noise: bool = False) -> torch.Tensor:
    """Multiply each example by a gain drawn from ``gain`` (None: no amplification; the result saturates at 1)
    and add Gaussian noise whose variance is drawn per example from ``noise_var``.

    The noise is not clipped at 0 by default (scikit-image's ``random_noise`` clips): clipping brightens the
    silent parts of every training image by up to ~0.04 on average, a shift that test images never get, and
    the networks then misread the background level (a cue of the call's loudness) on every test call.
    """
    b = x.shape[0]
    shape = (b,) + (1,) * (x.dim() - 1)
    if gain is not None:
        g = gain[0] + (gain[1] - gain[0]) * torch.rand(b, generator=gen, device=x.device)
        x = (x * g.view(shape)).clamp(max=1.0)
    var = noise_var[0] + (noise_var[1] - noise_var[0]) * torch.rand(b, generator=gen, device=x.device)
    x = x + torch.randn(x.shape, generator=gen, device=x.device) * var.sqrt().view(shape)
    return x.clamp(0.0, 1.0) if clip_noise else x


@dataclass(frozen=True)
class Augmentation:
    """On-the-fly augmentation of the paper (Methods, "Input data preparation and augmentation")."""

    clip_fraction: float = 0.1
    gain: tuple[float, float] = (0.5, 1.5)
    noise_var: tuple[float, float] = (0.0, 0.01)
    marginal_gain: tuple[float, float] = (0.8, 1.2)
    # The call images hold dB relative to the call's maximum over this range (usvflow.detect); an amplitude
    # gain g is then a shift of 10 log10(g) dB of the call's pixels. None: multiply pixel values instead.
    image_dynamic_range_db: float | None = 60.0

    def images(self, x: torch.Tensor, lengths: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Spectrograms: start/end clip, gain (volume), noise."""
        if self.clip_fraction > 0:
            x = clip_start_end(x, lengths, self.clip_fraction, gen)
        if self.image_dynamic_range_db:
            g = self.gain[0] + (self.gain[1] - self.gain[0]) * torch.rand(x.shape[0], generator=gen, device=x.device)
            shift = (10.0 * torch.log10(g) / self.image_dynamic_range_db).view((-1,) + (1,) * (x.dim() - 1))
            x = torch.where(x > 0, (x + shift).clamp(0.0, 1.0), x)  # the silent padding after the call stays 0
            return gain_and_noise(x, None, self.noise_var, gen)
        return gain_and_noise(x, self.gain, self.noise_var, gen)

    def line(self, x: torch.Tensor, lengths: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """FF line and time marginal: start/end clip and noise, no amplification."""
        if self.clip_fraction > 0:
            x = clip_start_end(x, lengths, self.clip_fraction, gen)
        return gain_and_noise(x, None, self.noise_var, gen)

    def marginal(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Spectral marginal: gain 0.8–1.2 and noise only."""
        return gain_and_noise(x, self.marginal_gain, self.noise_var, gen)


def augmentation_from(settings: dict[str, Any]) -> Augmentation:
    a = settings.get("augmentation", {}) or {}
    return Augmentation(clip_fraction=float(a.get("clip_fraction", 0.1)),
                        gain=tuple(a.get("gain", (0.5, 1.5))),
                        noise_var=tuple(a.get("noise_var", (0.0, 0.01))),
                        marginal_gain=tuple(a.get("marginal_gain", (0.8, 1.2))),
                        image_dynamic_range_db=a.get("image_dynamic_range_db", 60.0))


def standardize(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """z-score with the training set's mean and SD per column; NaN → 0 (the training mean)."""
    mu = np.nanmean(train, axis=0)
    sd = np.nanstd(train, axis=0)
    mu = np.where(np.isfinite(mu), mu, 0.0)
    sd = np.where(np.isfinite(sd) & (sd > 0), sd, 1.0)
    return [np.nan_to_num((a - mu) / sd, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32) for a in (train, *others)]


def scale_vectors(v: np.ndarray, train_idx: np.ndarray) -> np.ndarray:
    """1-D vectors to [0, ~1] so the paper's noise variances keep their meaning: finite values map linearly
    from the training set's minimum (→ 0.1) to its 99th percentile (→ 1), NaN (no signal) → 0; the gap
    keeps 'no signal' apart from the quietest signal."""
    v = np.asarray(v, float)
    finite = v[train_idx][np.isfinite(v[train_idx])]
    if finite.size == 0:
        return np.zeros_like(v, np.float32)
    lo, hi = float(np.min(finite)), float(np.percentile(finite, 99))
    out = 0.1 + 0.9 * (v - lo) / (hi - lo if hi > lo else 1.0)
    out = np.where(np.isfinite(out), np.clip(out, 0.1, None), 0.0)
    return out.astype(np.float32)


# --------------------------------------------------------------------------------------------- training


@dataclass
class Stage:
    """One stage of a staged training protocol (paper Tables 4–7)."""

    epochs: int
    lr: float
    dropout: float


def protocol_stages(settings: dict[str, Any], protocol: str) -> list[Stage]:
    """The stages of ``protocol`` (spectrogram, properties, dnn9, semiconv) from the train settings."""
    try:
        stages = settings["protocols"][protocol]
    except KeyError:
        raise InputError("config.yaml", f"train: no stages for protocol {protocol!r} (train.presets.<preset>.protocols)") from None
    return [Stage(int(s["epochs"]), float(s["lr"]), float(s["dropout"])) for s in stages]


@dataclass
class TrainResult:
    """What one training run leaves: test probabilities (n_test, n_classes), the learning curve and timing."""

    probabilities: np.ndarray
    curve: pd.DataFrame
    seconds: float
    iterations: int
    train_calls_seen: int
    device: str
    cpu_seconds: float = float("nan")


def recalibrate_batch_norm(model: nn.Module, inputs: Sequence[torch.Tensor], idx: np.ndarray,
                           batch_size: int = 256) -> None:
    """Re-estimate every batch-norm layer's running mean/variance on un-augmented training calls.

    Training sees augmented calls (noise, gain), test calls are clean: running statistics collected during
    training then describe the wrong input distribution, and every test call of an animal shifts the same way.
    One pass over the clean training set (dropout off, weights unchanged) removes that mismatch.
    """
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    was = model.training
    model.eval()
    momenta = []
    for m in bns:
        momenta.append(m.momentum)
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the pass
        m.train()
    device = next(model.parameters()).device
    with torch.no_grad():
        for i in range(0, len(idx), batch_size):
            j = torch.as_tensor(idx[i:i + batch_size], device=device)
            if len(j) > 1:
                model(*[t[j] for t in inputs])
    for m, mom in zip(bns, momenta):
        m.momentum = mom
    model.train(was)


def _predict_proba(model: nn.Module, inputs: Sequence[torch.Tensor], idx: torch.Tensor, n_classes: int,
                   batch: int = 512) -> torch.Tensor:
    was = model.training
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(idx), batch):
            j = idx[i:i + batch]
            logits = model(*[t[j] for t in inputs])
            out.append(torch.sigmoid(logits) if n_classes == 2 else torch.softmax(logits, dim=1))
    model.train(was)
    if not out:
        return torch.zeros(0, 1 if n_classes == 2 else n_classes)
    return torch.cat(out)


def _to_class_proba(p: torch.Tensor, n_classes: int) -> np.ndarray:
    p = p.detach().cpu().double().numpy()
    return np.column_stack([1 - p[:, 0], p[:, 0]]) if n_classes == 2 else p


def train_network(model: nn.Module, inputs: Sequence[torch.Tensor], y: np.ndarray, train_idx: np.ndarray,
                  test_idx: np.ndarray, stages: Sequence[Stage], n_classes: int, seed: int,
                  augment: Callable[[list[torch.Tensor], torch.Generator], list[torch.Tensor]] | None = None,
                  batch_size: int = 64, curve_every: int = 10, device: torch.device | None = None,
                  log: Callable[[str], None] | None = None, recalibrate_bn: bool = True) -> TrainResult:
    """Train ``model`` on ``inputs[*][train_idx]`` with labels ``y`` (class indices) and evaluate on test_idx.

    ``augment(batch_inputs, generator)`` returns the augmented batch (training only). With
    ``recalibrate_bn`` the batch-norm statistics are finally re-estimated on the clean training calls
    (:func:`recalibrate_batch_norm`). The learning curve
    records, every ``curve_every`` iterations, the test accuracy and the mean L2 norm of the per-iteration
    change of all weights since the previous record.
    """
    device = device or pick_device()
    seed_everything(seed)
    model.to(device)
    inputs = [t.to(device) for t in inputs]
    y_t = torch.as_tensor(y, device=device)
    w = torch.as_tensor(class_weights(y[train_idx], n_classes), dtype=torch.float32, device=device)
    gen = torch.Generator(device=device).manual_seed(seed)
    order_rng = np.random.default_rng(seed)
    test_t = torch.as_tensor(test_idx, device=device)
    opt = torch.optim.Adam(model.parameters(), lr=stages[0].lr if stages else 1e-3)
    params = [p for p in model.parameters() if p.requires_grad]
    rows: list[dict[str, Any]] = []
    it, seen, t0, c0 = 0, 0, time.perf_counter(), time.process_time()
    prev = torch.nn.utils.parameters_to_vector(params).detach().clone()
    dw_sum, dw_n, loss_sum = 0.0, 0, 0.0
    n_train = len(train_idx)
    for s_i, stage in enumerate(stages):
        for g in opt.param_groups:
            g["lr"] = stage.lr
        if hasattr(model, "set_dropout"):
            model.set_dropout(stage.dropout)
        model.train()
        for epoch in range(stage.epochs):
            perm = train_idx[order_rng.permutation(n_train)]
            # Drop a last batch of 1: batch norm cannot train on a single example.
            n_batches = max(1, n_train // batch_size + (1 if n_train % batch_size > 1 else 0))
            for b in range(n_batches):
                j = torch.as_tensor(perm[b * batch_size:(b + 1) * batch_size], device=device)
                xb = [t[j] for t in inputs]
                if augment is not None:
                    xb = augment(xb, gen)
                logits = model(*xb)
                yb = y_t[j]
                if n_classes == 2:
                    per = F.binary_cross_entropy_with_logits(logits[:, 0], yb.float(), reduction="none")
                    wb = w[yb]
                    loss = (per * wb).sum() / wb.sum().clamp(min=1e-12)
                else:
                    loss = F.cross_entropy(logits, yb, weight=w)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                it += 1
                seen += len(j)
                with torch.no_grad():
                    cur = torch.nn.utils.parameters_to_vector(params)
                    dw_sum += float(torch.linalg.vector_norm(cur - prev))
                    prev = cur.clone()
                dw_n += 1
                loss_sum += float(loss.detach())
                if it % curve_every == 0:
                    acc = float("nan")
                    if len(test_idx):
                        p = _predict_proba(model, inputs, test_t, n_classes)
                        pred = (p[:, 0] >= 0.5).long() if n_classes == 2 else p.argmax(1)
                        acc = float((pred == y_t[test_t]).float().mean())
                    rows.append({"iteration": it, "epoch": sum(s.epochs for s in stages[:s_i]) + epoch + 1,
                                 "stage": s_i + 1, "lr": stage.lr, "train_loss": loss_sum / dw_n,
                                 "test_accuracy": acc, "weight_change": dw_sum / dw_n})
                    dw_sum, dw_n, loss_sum = 0.0, 0, 0.0
            if log:
                log(f"stage {s_i + 1} epoch {epoch + 1}/{stage.epochs}: iteration {it}, "
                    f"last test accuracy {rows[-1]['test_accuracy'] if rows else float('nan'):.3f}")
    if recalibrate_bn and n_train:
        recalibrate_batch_norm(model, inputs, train_idx, batch_size)
    seconds = time.perf_counter() - t0
    cpu_seconds = time.process_time() - c0
    proba = _to_class_proba(_predict_proba(model, inputs, test_t, n_classes), n_classes)
    model.cpu()
    return TrainResult(proba, pd.DataFrame(rows, columns=["iteration", "epoch", "stage", "lr", "train_loss",
                                                          "test_accuracy", "weight_change"]),
                       seconds, it, seen, str(device), cpu_seconds)


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
    from .features import FEATURES_9, FEATURES_24  # features imports scikit-image; only needed here

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

    A shuffled-label control on a leave-one-animal-out split is trained ``settings['shuffle_repeats']`` times,
    each on its own permutation (see :func:`_shuffled_replicates`).
    """
    family = model_name.removesuffix("_shuffled")
    shuffled = model_name.endswith("_shuffled")
    repeats = int(settings.get("shuffle_repeats", 1))
    if shuffled and split == "loao" and repeats > 1 and "shuffle_replicate" not in settings:
        return _shuffled_replicates(task, split, fold, model_name, data, settings, repeats, device, log)
    if family not in FAMILIES:
        raise ValueError(f"unknown model {model_name!r}; choose from {MODELS}")
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
        "device": result.device, "seconds": round(result.seconds, 3), "iterations": result.iterations,
        "cpu_seconds": round(result.cpu_seconds, 3), "threads": torch.get_num_threads(),
        "calls_per_second": result.train_calls_seen / result.seconds if result.seconds > 0 else None,
        "protocol": protocol, "stages": [vars(s) for s in stages], "architecture": model.config.__dict__,
        "seed": fold_seed, "preset": settings.get("preset"), "skipped": "",
    })
    return metrics, predictions, result.curve, model


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
                         curve_every=int(settings.get("curve_every", 10)), device=device, log=log)


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


def network_tables(settings: dict[str, Any]) -> dict[int, pd.DataFrame]:
    """The paper's Tables 1–7 for the networks and protocols these settings build: 1 spectrogram CNN,
    2 9-feature DNN, 3 semi-convolutional DNN (layer by layer, from the instantiated model), 4–7 the training
    protocols (spectrogram tasks, property tasks, 9-feature DNN, semi-convolutional DNN)."""
    from .models import count_parameters, describe_layers

    tables: dict[int, pd.DataFrame] = {}
    arch = {"cnn": dict(settings.get("cnn", {}) or {}), "dnn9": {**(settings.get("dnn9", {}) or {}), "n_features": 9},
            "semiconv": {**(settings.get("semiconv", {}) or {}), "n_features": 24, "vector_lengths": [100, 100, 233]}}
    for number, family in [(1, "cnn"), (2, "dnn9"), (3, "semiconv")]:
        model = build_model(family, 2, arch[family])
        rows = pd.DataFrame(describe_layers(model))
        rows.insert(0, "network", {"cnn": "Spectrogram-to-Sex / -Strain / -Individual / -Features",
                                   "dnn9": "Features-to-Sex (9 features)",
                                   "semiconv": "Extended features-to-Sex (semi-convolutional)"}[family])
        rows["total_parameters"] = count_parameters(model)
        rows["output_note"] = ("1 sigmoid unit for two classes (sex, strain, has-break, broadband); softmax over "
                               "3 (direction), 4 (breaks, peaks: 0, 1, 2, 3+) or one per animal (individual)"
                               if family == "cnn" else "1 sigmoid unit (P(male))")
        tables[number] = rows
    aug = augmentation_from(settings)
    gain_text = (f"gain {aug.gain[0]}–{aug.gain[1]} (a dB shift on the {aug.image_dynamic_range_db:g} dB images)"
                 if aug.image_dynamic_range_db else f"gain {aug.gain[0]}–{aug.gain[1]}")
    aug_text = {"spectrogram": f"start/end clip ≤ {aug.clip_fraction:.0%}, {gain_text}, "
                               f"noise variance {aug.noise_var[0]}–{aug.noise_var[1]}",
                "dnn9": "none"}
    aug_text["properties"] = aug_text["spectrogram"]
    aug_text["semiconv"] = (f"FF line / time marginal: clip ≤ {aug.clip_fraction:.0%} + noise; spectral marginal: "
                            f"gain {aug.marginal_gain[0]}–{aug.marginal_gain[1]} + noise")
    names = {"spectrogram": "Spectrogram-to-Sex / -Strain / -Individual", "properties": "Spectrogram-to-Features "
             "(direction, breaks, peaks, broadband, has-break)", "dnn9": "Features-to-Sex",
             "semiconv": "Extended features-to-Sex"}
    for protocol, number in PROTOCOL_TABLES.items():
        stages = protocol_stages(settings, protocol)
        tables[number] = pd.DataFrame([{
            "network": names[protocol], "stage": i + 1, "epochs": s.epochs, "learning_rate": s.lr,
            "dropout": s.dropout, "batch_size": int(settings.get("batch_size", 64)), "optimizer": "Adam",
            "loss": "class-weighted cross-entropy", "augmentation": aug_text[protocol],
            "preset": settings.get("preset", "")} for i, s in enumerate(stages)])
    return tables
