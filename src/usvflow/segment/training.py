"""Augmentation and training of the segmentation models (see :mod:`usvflow.segment.models`)."""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .models import build_model, hybrid_loss

# --------------------------------------------------------------------------------------------
# Augmentations
# --------------------------------------------------------------------------------------------


@dataclass
class AugmentConfig:
    """The paper's probabilities (per batch) and this implementation's magnitudes."""

    p_affine: float = 0.75
    p_contrast: float = 0.25
    p_blur: float = 0.25
    p_noise_or_elastic: float = 0.33
    rotate_deg: float = 10.0
    scale: tuple[float, float] = (0.85, 1.15)
    translate: float = 0.1
    shear_deg: float = 8.0
    contrast: tuple[float, float] = (0.6, 1.6)
    blur_sigma: tuple[float, float] = (0.3, 1.2)
    noise_sd: tuple[float, float] = (0.02, 0.1)
    freq_noise_bands: tuple[int, int] = (1, 4)
    elastic_alpha: float = 4.0  # displacement in pixels
    elastic_sigma: float = 4.0  # smoothness in pixels


NOISE_KINDS = ("additive", "gaussian", "frequency", "elastic")


def _gaussian_kernel1d(sigma: float) -> torch.Tensor:
    r = max(1, int(math.ceil(3 * sigma)))
    x = torch.arange(-r, r + 1, dtype=torch.float32)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (n, 1, H, W) images (reflect padding)."""
    k = _gaussian_kernel1d(sigma).to(x)
    r = k.numel() // 2
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, -1))
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="reflect"), k.view(1, 1, -1, 1))


class Augmenter:
    """Batch-wise stochastic augmentations, identical geometry for image and mask.

    Each of the four conditions (a–d) is drawn independently once per batch, so a batch gets anything from no
    augmentation to all four. Geometric ones (affine, elastic) move the mask with the image (nearest
    neighbour, so the mask stays binary); photometric ones (contrast, blur, noise) leave the mask alone.
    """

    def __init__(self, cfg: AugmentConfig | None = None, seed: int = 0) -> None:
        self.cfg = cfg or AugmentConfig()
        self.gen = torch.Generator().manual_seed(seed)

    def _u(self, lo: float, hi: float, n: int = 1) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(n, generator=self.gen)

    def affine(self, img: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        c, n = self.cfg, img.shape[0]
        ang = torch.deg2rad(self._u(-c.rotate_deg, c.rotate_deg, n))
        sh = torch.deg2rad(self._u(-c.shear_deg, c.shear_deg, n))
        sc = self._u(*c.scale, n)
        tx, ty = self._u(-c.translate, c.translate, n) * 2, self._u(-c.translate, c.translate, n) * 2
        cos, sin = torch.cos(ang), torch.sin(ang)
        theta = torch.stack([torch.stack([cos / sc, (-sin + torch.tan(sh)) / sc, tx], 1),
                             torch.stack([sin / sc, cos / sc, ty], 1)], 1)
        grid = F.affine_grid(theta, list(img.shape), align_corners=False)
        return self._warp(img, mask, grid)

    def elastic(self, img: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        c = self.cfg
        n, _, h, w = img.shape
        disp = torch.rand((n, 2, h, w), generator=self.gen) * 2 - 1
        disp = gaussian_blur(disp.view(n * 2, 1, h, w), c.elastic_sigma).view(n, 2, h, w)
        disp = disp / disp.abs().amax(dim=(2, 3), keepdim=True).clamp_min(1e-6) * c.elastic_alpha
        ident = F.affine_grid(torch.eye(2, 3).expand(n, 2, 3), [n, 1, h, w], align_corners=False)
        grid = ident + torch.stack([disp[:, 0] * 2 / w, disp[:, 1] * 2 / h], dim=-1)
        return self._warp(img, mask, grid)

    @staticmethod
    def _warp(img: torch.Tensor, mask: torch.Tensor, grid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # Pixels warped in from outside the crop take the crop's background (its median), not black.
        bg = img.flatten(1).median(dim=1).values.view(-1, 1, 1, 1)
        out = F.grid_sample(img - bg, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + bg
        m = F.grid_sample(mask, grid, mode="nearest", padding_mode="zeros", align_corners=False)
        return out, m

    def contrast(self, img: torch.Tensor) -> torch.Tensor:
        a = self._u(*self.cfg.contrast).item()
        mean = img.mean(dim=(2, 3), keepdim=True)
        return ((img - mean) * a + mean).clamp(0, 1)

    def blur(self, img: torch.Tensor) -> torch.Tensor:
        return gaussian_blur(img, self._u(*self.cfg.blur_sigma).item())

    def noise(self, img: torch.Tensor, kind: str) -> torch.Tensor:
        c = self.cfg
        sd = self._u(*c.noise_sd).item()
        if kind == "additive":  # one random offset per image: a brighter or darker background
            img = img + (torch.rand((img.shape[0], 1, 1, 1), generator=self.gen) - 0.5) * 4 * sd
        elif kind == "gaussian":  # independent per-pixel noise
            img = img + torch.randn(img.shape, generator=self.gen) * sd
        elif kind == "frequency":  # a few frequency rows lit across the whole crop, like a tonal band
            n, _, h, _ = img.shape
            rows = torch.zeros((n, 1, h, 1))
            for i in range(n):
                k = int(torch.randint(c.freq_noise_bands[0], c.freq_noise_bands[1] + 1, (1,), generator=self.gen))
                idx = torch.randint(0, h, (k,), generator=self.gen)
                rows[i, 0, idx, 0] = self._u(2 * sd, 6 * sd, k)
            img = img + rows * (1 + 0.3 * torch.randn(img.shape, generator=self.gen))
        return img.clamp(0, 1)

    def __call__(self, img: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
        """Augment one batch; also return the names of what was applied (for the gallery and tests)."""
        c, applied = self.cfg, []
        if torch.rand(1, generator=self.gen) < c.p_affine:
            img, mask = self.affine(img, mask)
            applied.append("affine")
        if torch.rand(1, generator=self.gen) < c.p_contrast:
            img = self.contrast(img)
            applied.append("contrast")
        if torch.rand(1, generator=self.gen) < c.p_blur:
            img = self.blur(img)
            applied.append("blur")
        if torch.rand(1, generator=self.gen) < c.p_noise_or_elastic:
            kind = NOISE_KINDS[int(torch.randint(0, len(NOISE_KINDS), (1,), generator=self.gen))]
            if kind == "elastic":
                img, mask = self.elastic(img, mask)
            else:
                img = self.noise(img, kind)
            applied.append(kind)
        return img.clamp(0, 1), mask, applied


# --------------------------------------------------------------------------------------------
# Training and inference
# --------------------------------------------------------------------------------------------


@dataclass
class TrainConfig:
    """Optimisation settings (the paper's unless noted)."""

    lr: float = 1e-4
    batch_size: int = 8
    max_epochs: int = 200
    plateau_patience: int = 5
    plateau_factor: float = 0.1
    early_stop_patience: int = 15
    alpha: float = 0.3
    gamma: float = 2.0
    augment: bool = True
    seed: int = 0
    max_batches_per_epoch: int | None = None  # caps an epoch on small budgets (None: the whole training set)
    time_limit_s: float | None = None  # stop after the epoch that passes this wall-clock budget


@dataclass
class TrainHistory:
    epochs: list[dict] = field(default_factory=list)
    best_epoch: int = -1
    seconds: float = 0.0
    stopped: str = ""


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (n, H, W) grayscale crops → float (n, 1, H, W) in [0, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(images))
    x = x.float() / 255.0 if images.dtype == np.uint8 else x.float()
    return x.unsqueeze(1)


def train_segmenter(model: nn.Module, train_x: np.ndarray, train_y: np.ndarray, val_x: np.ndarray,
                    val_y: np.ndarray, cfg: TrainConfig,
                    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
                    log: Callable[[str], None] = print) -> TrainHistory:
    """Train ``model`` in place; keep the weights with the lowest validation loss.

    The learning rate drops ×``plateau_factor`` after ``plateau_patience`` epochs without a better validation
    loss; training stops after ``early_stop_patience`` such epochs (or ``max_epochs``, or ``time_limit_s``).
    """
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    loss_fn = loss_fn or (lambda lo, t: hybrid_loss(lo, t, cfg.alpha, cfg.gamma))
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=cfg.plateau_factor,
                                                       patience=cfg.plateau_patience)
    aug = Augmenter(seed=cfg.seed) if cfg.augment else None
    hist, best, best_state, bad, t0 = TrainHistory(), math.inf, None, 0, time.perf_counter()
    xv, yv = to_tensor(val_x), to_tensor(val_y)
    for epoch in range(cfg.max_epochs):
        model.train()
        order = rng.permutation(len(train_x))
        batches = [order[i:i + cfg.batch_size] for i in range(0, len(order), cfg.batch_size)]
        if cfg.max_batches_per_epoch:
            batches = batches[:cfg.max_batches_per_epoch]
        total = 0.0
        for idx in batches:
            xb, yb = to_tensor(train_x[idx]), to_tensor(train_y[idx])
            if aug is not None:
                xb, yb, _ = aug(xb, yb)
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        val = evaluate_loss(model, xv, yv, loss_fn)
        sched.step(val)
        hist.epochs.append(dict(epoch=epoch, train_loss=total / max(1, sum(map(len, batches))), val_loss=val,
                                lr=opt.param_groups[0]["lr"], seconds=time.perf_counter() - t0))
        log(f"epoch {epoch}: train {hist.epochs[-1]['train_loss']:.4f} val {val:.4f} "
            f"lr {opt.param_groups[0]['lr']:.1e} ({hist.epochs[-1]['seconds']:.0f} s)")
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
def evaluate_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                  loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], batch: int = 32) -> float:
    """Mean loss over a tensor data set, in evaluation mode."""
    model.eval()
    if len(x) == 0:
        return float("nan")
    tot = 0.0
    for i in range(0, len(x), batch):
        tot += float(loss_fn(model(x[i:i + batch]), y[i:i + batch])) * len(x[i:i + batch])
    return tot / len(x)


@torch.no_grad()
def predict_proba(model: nn.Module, images: np.ndarray, batch: int = 32) -> np.ndarray:
    """Probability maps (n, H, W) float32 for uint8 or [0, 1] float crops."""
    model.eval()
    out = [torch.sigmoid(model(to_tensor(images[i:i + batch])))[:, 0].numpy() for i in range(0, len(images), batch)]
    return np.concatenate(out) if out else np.zeros((0,) + images.shape[1:], np.float32)


def predict_masks(model: nn.Module, images: np.ndarray, threshold: float = 0.5, batch: int = 32) -> np.ndarray:
    """Binary masks (n, H, W) from a trained model."""
    return predict_proba(model, images, batch) >= threshold


def inference_seconds(model: nn.Module, shape: tuple[int, int], batch: int = 64, repeats: int = 3,
                      device: str = "cpu") -> float:
    """Median seconds for one forward pass of a batch of ``batch`` (H, W) images (after one warm-up)."""
    model = model.to(device).eval()
    x = torch.rand((batch, 1) + tuple(shape), device=device)
    times = []
    with torch.no_grad():
        for i in range(repeats + 1):
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            model(x)
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            if i:
                times.append(time.perf_counter() - t0)
    return float(np.median(times))


def load_model(path: str) -> nn.Module:
    """A model saved by the training rule (``{"name", "state_dict", "settings"}``), in evaluation mode."""
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    s = ckpt["settings"]
    model = build_model(ckpt["name"], width=s["squeakout_width"], last_channels=s["squeakout_last_channels"],
                        unet_base=s["unet_base"], unet_depth=s["unet_depth"])
    model.load_state_dict(ckpt["state_dict"])
    return model.eval()
