"""The paper's automated dataset refinement (Santana & Dietrich 2024): autoencoder masks and erosion."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import scipy.ndimage as ndi

from .dataset import mean_sem_pct, score_masks

# --------------------------------------------------------------------------------------------
# Erosion (the paper's border thinning)
# --------------------------------------------------------------------------------------------


def _median_thickness(seg: np.ndarray) -> float:
    """Median number of rows a segment covers in the columns (time frames) it occupies."""
    per_col = seg.sum(axis=0)
    return float(np.median(per_col[per_col > 0])) if per_col.any() else 0.0


def erode_large_segments(mask: np.ndarray, kernel: tuple[int, int] = (4, 2), min_factor: float = 4.0,
                         min_thickness: float = 0.0) -> tuple[np.ndarray, int]:
    """Erode each connected segment of at least ``min_factor`` × kernel area pixels with a ``kernel`` rectangle.

    ``kernel`` is (frequency rows, time columns). A segment that the erosion would erase entirely is kept as
    it is (erosion "cannot be applied" to it), and so is one that would come out thinner than
    ``min_thickness`` rows (median over its time frames): the paper protects small segments by area, which
    does not protect a long call a few bins thick (0 turns this guard off). Returns the new mask and how many
    segments were eroded; 0 means the paper's loop has converged.
    """
    mask = np.asarray(mask, bool)
    lab, n = ndi.label(mask, structure=np.ones((3, 3), bool))
    if n == 0:
        return mask.copy(), 0
    out = mask.copy()
    st = np.ones(kernel, bool)
    eroded = ndi.binary_erosion(mask, structure=st, border_value=1)
    min_area = min_factor * st.size
    areas = ndi.sum_labels(mask, lab, index=np.arange(1, n + 1))
    kept = ndi.sum_labels(eroded, lab, index=np.arange(1, n + 1))
    applied = 0
    for i in np.flatnonzero((areas >= min_area) & (kept > 0)):
        seg = lab == i + 1
        new = eroded & seg
        if min_thickness > 0 and _median_thickness(new) < min_thickness:
            continue
        out[seg] = new[seg]
        applied += 1
    return out, applied


# --------------------------------------------------------------------------------------------
# The paper's automated refinement
# --------------------------------------------------------------------------------------------


@dataclass
class RefineConfig:
    """Sizes of the refinement loop (the U-Net autoencoder and how long each task trains) and its erosion."""

    unet_base: int = 8
    unet_depth: int = 3
    pretrain_epochs: int = 1
    call_epochs: int = 2
    noise_epochs: int = 1
    max_rounds: int = 4
    lr: float = 1e-3
    batch_size: int = 8
    kernel: tuple[int, int] = (4, 2)
    min_factor: float = 4.0
    # Rows an eroded segment keeps at least (0: the paper's area rule alone). A tone through the 1 ms Hann window
    # is 4 bins (kHz) wide at its main lobe, so no call mask on the native grid is thinner than that.
    min_thickness: float = 4.0
    seed: int = 0
    batches_per_epoch: int | None = None
    noise_rehearsal: float = 1.0  # call crops mixed into the noise task, per noise crop (0: noise alone)
    restart_rounds: bool = False  # each round restarts from the reconstruction weights (False: continues training)
    score_each_task: bool = True  # also score the masks between the call and the noise task


@dataclass
class RefineResult:
    masks: np.ndarray  # final masks of the call crops
    steps: list[dict] = field(default_factory=list)  # one row per step, scored against the truth
    examples: dict[str, np.ndarray] = field(default_factory=dict)  # step name -> masks of a few example crops
    threshold_masks: np.ndarray | None = None  # the starting masks of the call crops


def _score_step(name: str, rnd: int, masks: np.ndarray, truth: np.ndarray | None, noise_pred: np.ndarray | None,
                extra: dict | None = None) -> dict:
    row = dict(step=name, round=rnd, **(extra or {}))
    if truth is not None:
        s = score_masks(masks, truth)
        row["accuracy_mean"], row["accuracy_sem"] = mean_sem_pct(s["accuracy"])
        row["dice_mean"], row["dice_sem"] = mean_sem_pct(s["dice"])
    if noise_pred is not None and len(noise_pred):
        empty = ~noise_pred.reshape(len(noise_pred), -1).any(1)
        row["noise_empty_pct"] = float(empty.mean() * 100)  # noise crops left with no segment at all
    return row


def erode_all(masks: np.ndarray, cfg: RefineConfig) -> tuple[np.ndarray, int]:
    """:func:`erode_large_segments` on every mask of a stack; returns the masks and the segments eroded."""
    out = np.empty_like(masks)
    applied = 0
    for i in range(len(masks)):
        out[i], a = erode_large_segments(masks[i], cfg.kernel, cfg.min_factor, cfg.min_thickness)
        applied += a
    return out, applied


def refine_masks(images: np.ndarray, start_masks: np.ndarray, is_noise: np.ndarray, truth: np.ndarray | None,
                 cfg: RefineConfig, example_idx: np.ndarray | None = None,
                 log: Callable[[str], None] = print, device=None) -> RefineResult:
    """Reproduce the paper's automated refinement; score every step against ``truth`` when given.

    ``images``/``start_masks`` hold all crops (calls and noise); ``is_noise`` marks the noise crops, whose
    target is always empty. Steps: (1) the U-Net is pre-trained to reconstruct spectrograms through its
    bottleneck (skips off); then each round (2) trains it to segment call crops with the current masks,
    (3) trains it to segment noise crops (empty targets), (4) predicts new masks for the call crops, and erodes
    them (4×2 kernel, segments ≥ 4× its size and, with ``min_thickness``, thick enough to stay so). Rounds
    repeat until no segment can be eroded or ``max_rounds``. Training and inference run on ``device``
    (default :func:`usvflow.classify.training.pick_device`).
    """
    import torch

    from ..classify.training import pick_device
    from .models import UNet
    from .training import TrainConfig, predict_masks, to_tensor, train_segmenter

    device = torch.device(device) if device is not None else pick_device()
    torch.manual_seed(cfg.seed)
    calls = np.flatnonzero(~is_noise)
    noise = np.flatnonzero(is_noise)
    call_truth = truth[calls] if truth is not None else None
    ex = example_idx if example_idx is not None else np.arange(min(4, calls.size))
    res = RefineResult(masks=start_masks[calls].copy(), threshold_masks=start_masks[calls].copy())
    noise_thr = start_masks[noise]
    res.steps.append(_score_step("threshold", 0, res.masks, call_truth, noise_thr))
    res.examples["threshold"] = res.masks[ex].copy()
    log(f"threshold masks: {res.steps[-1]}")

    rng = np.random.default_rng(cfg.seed)

    def split(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        perm = rng.permutation(idx)
        k = max(1, int(round(0.1 * perm.size)))
        return perm[k:], perm[:k]

    def segment(rows: np.ndarray) -> np.ndarray:
        return predict_masks(model, images[rows], device=device) if rows.size else np.zeros((0,) + images.shape[1:], bool)

    model = UNet(base=cfg.unet_base, depth=cfg.unet_depth)
    # (1) Reconstruction through the bottleneck: the skips are zeroed so the network cannot copy its input.
    tr, va = split(np.arange(len(images)))
    recon_cfg = TrainConfig(lr=cfg.lr, batch_size=cfg.batch_size, max_epochs=cfg.pretrain_epochs, augment=False,
                            seed=cfg.seed, batches_per_epoch=cfg.batches_per_epoch)

    class _Recon(torch.nn.Module):
        def __init__(self, net: torch.nn.Module) -> None:
            super().__init__()
            self.net = net

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net(x, skips=False)

    def mse(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.mse_loss(torch.sigmoid(logits), target)

    t0 = time.perf_counter()
    train_segmenter(_Recon(model), images[tr], images[tr], images[va], images[va], recon_cfg, loss_fn=mse, log=log,
                    device=device)
    with torch.no_grad():
        model.eval()
        xv = to_tensor(images[va[:256]], device)
        rec = torch.sigmoid(model(xv, skips=False))
        recon_acc = float(1 - (rec - xv).abs().mean()) * 100
    log(f"reconstruction: {recon_acc:.1f} % (1 − mean absolute error), {time.perf_counter() - t0:.0f} s")
    pretrained = copy.deepcopy(model.state_dict())

    targets = np.zeros_like(start_masks)
    for rnd in range(1, cfg.max_rounds + 1):
        targets[calls] = res.masks
        if cfg.restart_rounds or rnd == 1:
            model.load_state_dict(pretrained)  # the round starts from the reconstruction pre-training
        seg_cfg = TrainConfig(lr=cfg.lr, batch_size=cfg.batch_size, max_epochs=cfg.call_epochs, augment=False,
                              seed=cfg.seed + rnd, batches_per_epoch=cfg.batches_per_epoch)
        tr, va = split(calls)
        train_segmenter(model, images[tr], targets[tr], images[va], targets[va], seg_cfg, log=log, device=device)  # (2)
        if cfg.score_each_task:
            res.steps.append(_score_step("calls task", rnd, segment(calls), call_truth, segment(noise)))
            log(f"round {rnd} after the call task: {res.steps[-1]}")
        if noise.size:
            # (3) Noise crops with empty targets. Alone, this phase erases the call task at small budgets (all
            # masks come out empty), so call crops are rehearsed alongside in the share ``noise_rehearsal``.
            tr, va = split(noise)
            n_reh = int(round(cfg.noise_rehearsal * tr.size))
            reh = rng.choice(calls, size=min(n_reh, calls.size), replace=False) if n_reh else np.zeros(0, int)
            tr = np.concatenate([tr, reh])
            seg_cfg.max_epochs = cfg.noise_epochs
            train_segmenter(model, images[tr], targets[tr], images[va], targets[va], seg_cfg, log=log, device=device)
        pred = segment(calls)  # (4)
        res.steps.append(_score_step("calls + noise tasks", rnd, pred, call_truth, segment(noise),
                                     {"reconstruction_pct": recon_acc}))
        res.examples[f"autoencoder {rnd}"] = pred[ex].copy()
        log(f"round {rnd} autoencoder: {res.steps[-1]}")
        eroded, applied = erode_all(pred, cfg)
        res.masks = eroded
        res.steps.append(_score_step("erosion", rnd, eroded, call_truth, None, {"segments_eroded": applied}))
        res.examples[f"erosion {rnd}"] = eroded[ex].copy()
        log(f"round {rnd} erosion: {res.steps[-1]}")
        if applied == 0:
            break
    return res


def refinement_verdict(res: RefineResult, truth: np.ndarray, alpha: float = 0.05) -> dict:
    """Do the loop's final masks beat the threshold masks it started from? Per-crop Dice against ``truth``
    (the call crops' truth masks), paired two-sided Wilcoxon signed-rank test; also the best step's Dice."""
    from scipy import stats

    final = score_masks(res.masks, truth)["dice"]
    start = score_masks(res.threshold_masks, truth)["dice"]
    diff = final - start
    p = float(stats.wilcoxon(final, start).pvalue) if np.any(diff != 0) else 1.0
    scored = [s for s in res.steps if "dice_mean" in s]
    best = max(scored, key=lambda s: s["dice_mean"])
    return {"final_dice": float(final.mean() * 100), "threshold_dice": float(start.mean() * 100),
            "difference": float(diff.mean() * 100), "p": p,
            "beats_threshold": bool(diff.mean() > 0 and p < alpha),
            "best_step": f"{best['step']} {best['round']}" if best["step"] != "threshold" else "threshold",
            "best_dice": float(best["dice_mean"]),
            "rounds": int(max(s["round"] for s in res.steps))}
