"""Network inputs and their on-the-fly augmentation; the training protocols (stages) of Tables 4-7."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import InputError

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
