"""The training loop shared by every network: device, seeds, stages, learning curve, predictions."""

from __future__ import annotations

import contextlib
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
from .runtime import Runtime, autocast, claim_gpu_slot, configure_backends, runtime_from
from .tasks import class_weights


def pick_device(prefer: str | None = None, *, share: bool = True) -> torch.device:
    """CUDA when available, else CPU; ``prefer`` (or ``USVFLOW_DEVICE``) forces one, e.g. ``cpu`` or ``cuda:1``.

    With several GPUs visible (``CUDA_VISIBLE_DEVICES`` is respected: torch numbers only those), a job takes
    device ``slot % device_count`` for the first free slot of :func:`~usvflow.classify.runtime.claim_gpu_slot`
    (``share=False``: device 0), so parallel jobs spread over the GPUs instead of all landing on ``cuda:0``.
    A SLURM job granted one GPU sees one device: it uses that one.
    """
    prefer = prefer or os.environ.get("USVFLOW_DEVICE") or None
    if prefer and not prefer.startswith("cuda"):
        return torch.device(prefer)
    if prefer and not torch.cuda.is_available():
        raise RuntimeError(f"device {prefer!r} requested but CUDA is not available")
    if prefer and prefer != "cuda":
        return torch.device(prefer)  # an explicit index
    if not torch.cuda.is_available():
        return torch.device("cpu")
    n = torch.cuda.device_count()
    if n > 1 and share:
        return torch.device("cuda", claim_gpu_slot() % n)
    return torch.device("cuda", 0) if n > 1 else torch.device("cuda")


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Same seed for Python, numpy and torch; with ``deterministic`` deterministic kernels where torch has
    them (see :mod:`usvflow.classify.runtime` for the CUDA trade-off)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        configure_backends(Runtime(deterministic=True))


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
    runtime: Runtime | None = None


def recalibrate_batch_norm(model: nn.Module, inputs: Sequence[torch.Tensor], idx: np.ndarray | torch.Tensor,
                           batch_size: int = 256, amp: Callable[[], Any] | None = None) -> None:
    """Re-estimate every batch-norm layer's running mean/variance on un-augmented training calls.

    Training sees augmented calls (noise, gain), test calls are clean: running statistics collected during
    training then describe the wrong input distribution, and every test call of an animal shifts the same way.
    One pass over the clean training set (dropout off, weights unchanged) removes that mismatch. ``amp``: the
    precision context predictions are made in (the statistics should describe the same arithmetic).
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
    idx_t = torch.as_tensor(idx, device=device)  # one copy, not one per batch
    with torch.no_grad(), (amp() if amp else contextlib.nullcontext()):
        for i in range(0, len(idx_t), batch_size):
            j = idx_t[i:i + batch_size]
            if len(j) > 1:
                model(*[t[j] for t in inputs])
    for m, mom in zip(bns, momenta):
        m.momentum = mom
    model.train(was)


def _predict_proba(model: nn.Module, inputs: Sequence[torch.Tensor], idx: torch.Tensor, n_classes: int,
                   batch: int = 512, amp: Callable[[], Any] | None = None) -> torch.Tensor:
    """Class probabilities (fp32) of the calls ``idx``, on the model's device; nothing is read back."""
    was = model.training
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(idx), batch):
            j = idx[i:i + batch]
            with amp() if amp else contextlib.nullcontext():
                logits = model(*[t[j] for t in inputs])
            logits = logits.float()
            out.append(torch.sigmoid(logits) if n_classes == 2 else torch.softmax(logits, dim=1))
    model.train(was)
    if not out:
        return torch.zeros(0, 1 if n_classes == 2 else n_classes)
    return torch.cat(out)


def _to_class_proba(p: torch.Tensor, n_classes: int) -> np.ndarray:
    p = p.detach().cpu().double().numpy()
    return np.column_stack([1 - p[:, 0], p[:, 0]]) if n_classes == 2 else p


def _epoch_order(perm: np.ndarray, device: torch.device) -> torch.Tensor:
    """An epoch's call order on the device: one copy per epoch, from pinned memory without waiting (CUDA),
    no copy at all on CPU. Batches are then slices of it (views, no transfer)."""
    t = torch.from_numpy(np.ascontiguousarray(perm))
    if device.type == "cuda":
        return t.pin_memory().to(device, non_blocking=True)
    return t.to(device)


def _flat(params: Sequence[torch.Tensor]) -> torch.Tensor:
    """All parameters as one vector (logical order, whatever their memory format)."""
    return torch.cat([p.reshape(-1) for p in params])


def _to_memory_format(xb: list[torch.Tensor], channels_last: bool) -> list[torch.Tensor]:
    if not channels_last:
        return xb
    return [t.contiguous(memory_format=torch.channels_last) if t.dim() == 4 else t for t in xb]


def train_network(model: nn.Module, inputs: Sequence[torch.Tensor], y: np.ndarray, train_idx: np.ndarray,
                  test_idx: np.ndarray, stages: Sequence[Stage], n_classes: int, seed: int,
                  augment: Callable[[list[torch.Tensor], torch.Generator], list[torch.Tensor]] | None = None,
                  batch_size: int = 64, curve_every: int = 10, device: torch.device | None = None,
                  log: Callable[[str], None] | None = None, recalibrate_bn: bool = True,
                  runtime: Runtime | dict[str, Any] | None = None,
                  class_weight_power: float = 1.0) -> TrainResult:
    """Train ``model`` on ``inputs[*][train_idx]`` with labels ``y`` (class indices) and evaluate on test_idx.

    ``augment(batch_inputs, generator)`` returns the augmented batch (training only). With
    ``recalibrate_bn`` the batch-norm statistics are finally re-estimated on the clean training calls
    (:func:`recalibrate_batch_norm`). The loss weighs classes by :func:`~.tasks.class_weights` with
    ``class_weight_power``. The learning curve
    records, every ``curve_every`` iterations, the test accuracy and the mean L2 norm of the per-iteration
    change of all weights since the previous record.

    ``runtime``: a :class:`~usvflow.classify.runtime.Runtime`, or the ``train`` settings whose ``runtime``
    block is resolved for ``device`` (None: ``auto`` everywhere).

    The device is never waited for inside the loop except at a learning-curve record: losses and weight
    changes add up on the device, batch orders are sliced from one per-epoch copy, and each record reads its
    numbers back in one transfer. So a GPU runs ``curve_every`` iterations ahead of Python.
    """
    device = device or pick_device()
    rt = runtime if isinstance(runtime, Runtime) else runtime_from(runtime, device)
    seed_everything(seed, rt.deterministic)
    configure_backends(rt)
    model.to(device)
    if rt.channels_last:
        model.to(memory_format=torch.channels_last)
    net = torch.compile(model) if rt.compile else model
    amp = (lambda: autocast(rt, device))  # noqa: E731
    inputs = [t.to(device) for t in inputs]
    y_t = torch.as_tensor(y, device=device)
    w = torch.as_tensor(class_weights(y[train_idx], n_classes, class_weight_power), dtype=torch.float32, device=device)
    gen = torch.Generator(device=device).manual_seed(seed)
    order_rng = np.random.default_rng(seed)
    test_t = torch.as_tensor(test_idx, device=device)
    y_test = y_t[test_t]
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=stages[0].lr if stages else 1e-3, fused=device.type == "cuda" or None)
    rows: list[dict[str, Any]] = []
    it, seen, t0, c0 = 0, 0, time.perf_counter(), time.process_time()
    # Running sums on the device, in float64 (the sums a host loop of float() reads would make), read at records.
    zero = torch.zeros((), dtype=torch.float64, device=device)
    loss_acc, dw_acc, dw_n = zero.clone(), zero.clone(), 0
    prev = _flat(params).detach().clone()
    n_train = len(train_idx)
    for s_i, stage in enumerate(stages):
        for g in opt.param_groups:
            g["lr"] = stage.lr
        if hasattr(model, "set_dropout"):
            model.set_dropout(stage.dropout)
        model.train()
        for epoch in range(stage.epochs):
            order = _epoch_order(train_idx[order_rng.permutation(n_train)], device)
            # Drop a last batch of 1: batch norm cannot train on a single example.
            n_batches = max(1, n_train // batch_size + (1 if n_train % batch_size > 1 else 0))
            for b in range(n_batches):
                j = order[b * batch_size:(b + 1) * batch_size]
                xb = [t[j] for t in inputs]
                if augment is not None:
                    xb = augment(xb, gen)
                with amp():
                    logits = net(*_to_memory_format(xb, rt.channels_last))
                logits = logits.float()
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
                    cur = _flat(params)  # a new tensor: no clone needed
                    dw_acc += torch.linalg.vector_norm(cur - prev).double()
                    prev = cur
                    loss_acc += loss.detach().double()
                dw_n += 1
                if it % curve_every == 0:
                    acc = torch.full((), float("nan"), dtype=torch.float64, device=device)
                    if len(test_idx):
                        p = _predict_proba(net, inputs, test_t, n_classes, amp=amp)
                        pred = (p[:, 0] >= 0.5).long() if n_classes == 2 else p.argmax(1)
                        acc = (pred == y_test).float().mean().double()
                    loss_sum, dw_sum, acc_v = torch.stack([loss_acc, dw_acc, acc]).tolist()  # the record's one sync
                    rows.append({"iteration": it, "epoch": sum(s.epochs for s in stages[:s_i]) + epoch + 1,
                                 "stage": s_i + 1, "lr": stage.lr, "train_loss": loss_sum / dw_n,
                                 "test_accuracy": acc_v, "weight_change": dw_sum / dw_n})
                    loss_acc, dw_acc, dw_n = zero.clone(), zero.clone(), 0
            if log:
                log(f"stage {s_i + 1} epoch {epoch + 1}/{stage.epochs}: iteration {it}, "
                    f"last test accuracy {rows[-1]['test_accuracy'] if rows else float('nan'):.3f}")
    if recalibrate_bn and n_train:
        recalibrate_batch_norm(model, inputs, train_idx, batch_size, amp=amp)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - t0
    cpu_seconds = time.process_time() - c0
    proba = _to_class_proba(_predict_proba(model, inputs, test_t, n_classes, amp=amp), n_classes)
    model.cpu()
    if rt.channels_last:
        model.to(memory_format=torch.contiguous_format)
    return TrainResult(proba, pd.DataFrame(rows, columns=["iteration", "epoch", "stage", "lr", "train_loss",
                                                          "test_accuracy", "weight_change"]),
                       seconds, it, seen, str(device), cpu_seconds, rt)
