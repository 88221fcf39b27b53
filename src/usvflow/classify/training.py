"""The training loop shared by every network: device, seeds, stages, learning curve, predictions."""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .inputs import Stage
from .tasks import class_weights


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
                  log: Callable[[str], None] | None = None, recalibrate_bn: bool = True,
                  class_weight_power: float = 1.0) -> TrainResult:
    """Train ``model`` on ``inputs[*][train_idx]`` with labels ``y`` (class indices) and evaluate on test_idx.

    ``augment(batch_inputs, generator)`` returns the augmented batch (training only). With
    ``recalibrate_bn`` the batch-norm statistics are finally re-estimated on the clean training calls
    (:func:`recalibrate_batch_norm`). The loss weighs classes by :func:`~.tasks.class_weights` with
    ``class_weight_power``. The learning curve
    records, every ``curve_every`` iterations, the test accuracy and the mean L2 norm of the per-iteration
    change of all weights since the previous record.
    """
    device = device or pick_device()
    seed_everything(seed)
    model.to(device)
    inputs = [t.to(device) for t in inputs]
    y_t = torch.as_tensor(y, device=device)
    w = torch.as_tensor(class_weights(y[train_idx], n_classes, class_weight_power), dtype=torch.float32, device=device)
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
