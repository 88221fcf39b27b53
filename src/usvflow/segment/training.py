"""Training and inference of the segmentation models (see :mod:`usvflow.segment.models`), on a chosen device.

The device is chosen as the classifiers choose theirs (:func:`usvflow.classify.training.pick_device`: CUDA
when present, ``USVFLOW_DEVICE`` overrides); model, batches, augmentations and validation all run there.

Budget. An "epoch" is one validation check: ``batches_per_epoch`` parameter updates (None: one pass over the
training set, the paper's epoch), so two models given the same ``max_epochs`` × ``batches_per_epoch`` get the
same number of updates and the same plateau / early-stopping rules in the same units. Batches come from one
continuing shuffled stream (every training image is used before any repeats), whose order depends on the seed
only: two architectures trained with the same seed see the same batches and, when augmented, the same
augmentation draws.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np
import torch
import torch.nn as nn

from ..classify.training import pick_device
from .augment import Augmenter
from .models import build_model, hybrid_loss

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class TrainConfig:
    """Optimisation settings (the paper's unless noted)."""

    lr: float = 1e-4
    batch_size: int = 8
    max_epochs: int = 200
    plateau_patience: int = 5  # validation checks without improvement before the learning rate drops
    plateau_factor: float = 0.1
    early_stop_patience: int = 15  # validation checks without improvement before training stops
    alpha: float = 0.3
    gamma: float = 2.0
    augment: bool = True
    seed: int = 0
    batches_per_epoch: int | None = None  # updates between validation checks (None: one pass over the data)
    tile: int = 0  # train on fixed tile × tile windows of each crop (see :func:`tile_crops`); 0: whole crops
    time_limit_s: float | None = None  # stop after the check that passes this wall-clock budget


@dataclass
class TrainHistory:
    """What one training run did: one row per validation check, the best check, why it stopped."""

    epochs: list[dict] = field(default_factory=list)
    best_epoch: int = -1
    seconds: float = 0.0
    stopped: str = ""
    updates: int = 0
    max_updates: int = 0
    lr_drops: list[int] = field(default_factory=list)  # checks after which the plateau rule cut the learning rate
    device: str = ""


def to_tensor(images: np.ndarray, device: torch.device | str | None = None) -> torch.Tensor:
    """uint8 (n, H, W) grayscale crops (or masks, or floats) → float (n, 1, H, W) in [0, 1] on ``device``."""
    x = torch.from_numpy(np.ascontiguousarray(images))
    if device is not None:
        x = x.to(device)
    x = x.float() / 255.0 if images.dtype == np.uint8 else x.float()
    return x.unsqueeze(1)


def tile_offsets(n: int, tile: int) -> list[int]:
    """Start positions of the fewest ``tile``-long windows that cover ``n`` pixels, evenly spread (overlapping)."""
    if tile <= 0 or tile >= n:
        return [0]
    k = math.ceil(n / tile)
    return sorted({int(round(v)) for v in np.linspace(0, n - tile, k)})


def tile_crops(images: np.ndarray, masks: np.ndarray, tile: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut every (H, W) crop into the same fixed ``tile`` × ``tile`` windows that together cover it.

    A fully convolutional network trained on windows segments whole crops at test time, and an update on a
    64 × 64 window costs under half of one on a 96 × 96 crop. The windows are fixed (no random shift), so
    this adds no augmentation: the models not augmented see exactly these pixels in every pass.
    """
    if tile <= 0:
        return images, masks
    h, w = images.shape[1:]
    rows, cols = tile_offsets(h, tile), tile_offsets(w, tile)
    th, tw = min(tile, h), min(tile, w)
    xs = [images[:, r:r + th, c:c + tw] for r in rows for c in cols]
    ys = [masks[:, r:r + th, c:c + tw] for r in rows for c in cols]
    # Crop-major order: the tiles of one crop are adjacent, so a shuffle mixes crops and positions alike.
    return np.stack(xs, 1).reshape(-1, th, tw), np.stack(ys, 1).reshape(-1, th, tw)


def validation_subset(rows: np.ndarray, k: int | None) -> np.ndarray:
    """``k`` evenly spaced entries of ``rows`` (all of them when ``k`` is None or not smaller): the crops the
    validation checks score, the same for every model and seed."""
    rows = np.asarray(rows)
    if k is None or k >= rows.size:
        return rows
    return rows[np.unique(np.linspace(0, rows.size - 1, k).round().astype(int))]


def batch_stream(n: int, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Endless batches of indices: a fresh permutation each pass, every index once per pass."""
    while True:
        order = rng.permutation(n)
        for i in range(0, n - batch_size + 1 if n >= batch_size else 1, batch_size):
            yield order[i:i + batch_size]


def model_device(model: nn.Module) -> torch.device:
    """The device of a model's parameters (CPU for a model without any, such as the null model)."""
    p = next(iter(model.parameters()), None)
    return p.device if p is not None else torch.device("cpu")


def train_segmenter(model: nn.Module, train_x: np.ndarray, train_y: np.ndarray, val_x: np.ndarray,
                    val_y: np.ndarray, cfg: TrainConfig, loss_fn: Loss | None = None,
                    log: Callable[[str], None] = print, device: torch.device | str | None = None) -> TrainHistory:
    """Train ``model`` in place on ``device`` (default :func:`pick_device`); keep the best validation weights.

    The learning rate drops ×``plateau_factor`` after ``plateau_patience`` checks without a better validation
    loss; training stops after ``early_stop_patience`` such checks (or ``max_epochs`` checks, or
    ``time_limit_s``). The model is left on ``device``.
    """
    device = torch.device(device) if device is not None else pick_device()
    model.to(device)
    rng = np.random.default_rng(cfg.seed)
    loss_fn = loss_fn or (lambda lo, t: hybrid_loss(lo, t, cfg.alpha, cfg.gamma))
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=cfg.plateau_factor,
                                                       patience=cfg.plateau_patience)
    aug = Augmenter(seed=cfg.seed) if cfg.augment else None
    train_x, train_y = tile_crops(train_x, train_y, cfg.tile)
    per_epoch = cfg.batches_per_epoch or max(1, len(train_x) // cfg.batch_size)
    stream = batch_stream(len(train_x), cfg.batch_size, rng)
    hist = TrainHistory(max_updates=cfg.max_epochs * per_epoch, device=str(device))
    best, best_state, bad, t0 = math.inf, None, 0, time.perf_counter()
    for epoch in range(cfg.max_epochs):
        model.train()
        total, seen = 0.0, 0
        for _ in range(per_epoch):
            idx = next(stream)
            xb, yb = to_tensor(train_x[idx], device), to_tensor(train_y[idx], device)
            if aug is not None:
                xb, yb, _ = aug(xb, yb)
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
            seen += len(idx)
            hist.updates += 1
        val = evaluate_loss(model, val_x, val_y, loss_fn, device=device)
        lr_before = opt.param_groups[0]["lr"]
        sched.step(val)
        lr = opt.param_groups[0]["lr"]
        if lr < lr_before:
            hist.lr_drops.append(epoch)
        hist.epochs.append(dict(epoch=epoch, updates=hist.updates, train_loss=total / max(1, seen), val_loss=val,
                                lr=lr, seconds=time.perf_counter() - t0))
        log(f"check {epoch} ({hist.updates} updates): train {hist.epochs[-1]['train_loss']:.4f} val {val:.4f} "
            f"lr {lr:.1e} ({hist.epochs[-1]['seconds']:.0f} s, {device})")
        if val < best - 1e-6:
            best, best_state, bad, hist.best_epoch = val, copy.deepcopy(model.state_dict()), 0, epoch
        else:
            bad += 1
        if bad >= cfg.early_stop_patience:
            hist.stopped = "early stopping"
            break
        if cfg.time_limit_s is not None and time.perf_counter() - t0 > cfg.time_limit_s:
            hist.stopped = "time budget"
            break
    else:
        hist.stopped = "max epochs"
    if best_state is not None:
        model.load_state_dict(best_state)
    hist.seconds = time.perf_counter() - t0
    return hist


@torch.no_grad()
def evaluate_loss(model: nn.Module, x: np.ndarray, y: np.ndarray, loss_fn: Loss, batch: int = 32,
                  device: torch.device | str | None = None) -> float:
    """Mean loss over a data set (arrays as :func:`to_tensor` takes them), in evaluation mode, on ``device``."""
    model.eval()
    if len(x) == 0:
        return float("nan")
    device = device if device is not None else model_device(model)
    tot = 0.0
    for i in range(0, len(x), batch):
        xb, yb = to_tensor(x[i:i + batch], device), to_tensor(y[i:i + batch], device)
        tot += float(loss_fn(model(xb), yb)) * len(xb)
    return tot / len(x)


@torch.no_grad()
def predict_proba(model: nn.Module, images: np.ndarray, batch: int = 32,
                  device: torch.device | str | None = None) -> np.ndarray:
    """Probability maps (n, H, W) float32 for uint8 or [0, 1] float crops, computed on ``device``
    (default: where the model is)."""
    model.eval()
    device = device if device is not None else model_device(model)
    model.to(device)
    out = [torch.sigmoid(model(to_tensor(images[i:i + batch], device)))[:, 0].float().cpu().numpy()
           for i in range(0, len(images), batch)]
    return np.concatenate(out) if out else np.zeros((0,) + images.shape[1:], np.float32)


def predict_masks(model: nn.Module, images: np.ndarray, threshold: float = 0.5, batch: int = 32,
                  device: torch.device | str | None = None) -> np.ndarray:
    """Binary masks (n, H, W) from a trained model."""
    return predict_proba(model, images, batch, device) >= threshold


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def inference_seconds(model: nn.Module, shape: tuple[int, int], batch: int = 64, repeats: int = 3,
                      device: torch.device | str = "cpu") -> float:
    """Median seconds for one forward pass of a batch of ``batch`` (H, W) images (after one warm-up)."""
    device = torch.device(device)
    model = model.to(device).eval()
    x = torch.rand((batch, 1) + tuple(shape), device=device)
    times = []
    with torch.no_grad():
        for i in range(repeats + 1):
            _sync(device)
            t0 = time.perf_counter()
            model(x)
            _sync(device)
            if i:
                times.append(time.perf_counter() - t0)
    return float(np.median(times))


def epoch_seconds(model: nn.Module, shape: tuple[int, int], n_images: int, batch: int = 8, augment: bool = True,
                  device: torch.device | str = "cpu", seed: int = 0) -> float:
    """Seconds for one training epoch of ``n_images`` random (H, W) images on ``device`` (after one warm-up
    update): the paper's loss, Adam, and the augmentations when ``augment``."""
    device = torch.device(device)
    model = model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    aug = Augmenter(seed=seed) if augment else None
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand((batch, 1) + tuple(shape), generator=gen).to(device)
    y = (torch.rand((batch, 1) + tuple(shape), generator=gen) > 0.95).float().to(device)
    n_batches = max(1, n_images // batch)
    t0 = 0.0
    for i in range(n_batches + 1):
        if i == 1:
            _sync(device)
            t0 = time.perf_counter()
        xb, yb = aug(x, y)[:2] if aug is not None else (x, y)
        opt.zero_grad()
        hybrid_loss(model(xb), yb).backward()
        opt.step()
    _sync(device)
    return time.perf_counter() - t0


def load_model(path: str, device: torch.device | str | None = None) -> nn.Module:
    """A model saved by the training rule (``{"name", "state_dict", "settings"}``), in evaluation mode, on
    ``device`` (default :func:`pick_device`)."""
    device = torch.device(device) if device is not None else pick_device()
    ckpt = torch.load(path, map_location=device, weights_only=False)
    s = ckpt["settings"]
    model = build_model(ckpt["name"], width=s["squeakout_width"], last_channels=s["squeakout_last_channels"],
                        unet_base=s["unet_base"], unet_depth=s["unet_depth"])
    model.load_state_dict(ckpt["state_dict"])
    return model.to(device).eval()
