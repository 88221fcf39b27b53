"""Deconvolution of a layer's activity back to the input (Fig 6E-H); see :mod:`usvflow.interpret.activations`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .activations import row_correlation

# --------------------------------------------------------------------------------------------- deconvolution


@dataclass
class _Step:
    """One layer of the deconvnet: the transposed linear part of (conv|linear) + batch norm."""

    kind: str                      # "conv" or "fc"
    weight: torch.Tensor
    scale: torch.Tensor            # batch-norm scale s = γ / sqrt(var + ε), per output channel/unit
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    in_shape: tuple[int, ...] = field(default_factory=tuple)  # per-example input shape of the forward layer
    global_pool: bool = False      # fc layer fed by the channel means of the conv map ``in_shape``


def _bn_scale(bn: nn.Module | None, n: int) -> torch.Tensor:
    if bn is None:
        return torch.ones(n)
    scale = torch.ones(n) if bn.weight is None else bn.weight.detach().clone()
    return scale / torch.sqrt(bn.running_var.detach() + bn.eps)


def _parts(block: nn.Module) -> tuple[nn.Module, nn.Module | None]:
    """The conv/linear layer and the batch norm (if any) of one hidden block."""
    mods = list(block.children()) if isinstance(block, nn.Sequential) else [block]
    lin = next(m for m in mods if isinstance(m, (nn.Conv2d, nn.Linear)))
    bn = next((m for m in mods if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))), None)
    return lin, bn


def deconv_operators(model: nn.Module) -> list[_Step]:
    """The deconvnet of a spectrogram CNN: one step per hidden layer (``model.conv`` then ``model.fc``)."""
    s = model.config.input_size
    shape: tuple[int, ...] = (1, s, s)
    steps: list[_Step] = []
    for block in model.conv:
        conv, bn = _parts(block)
        steps.append(_Step("conv", conv.weight.detach(), _bn_scale(bn, conv.out_channels), tuple(conv.stride),
                           tuple(conv.padding), shape))
        h, w = shape[1:]
        (kh, kw), (sh, sw), (ph, pw) = conv.kernel_size, conv.stride, conv.padding
        shape = (conv.out_channels, (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1)
    pooled = bool(getattr(model.config, "global_pool", False))
    for block in model.fc:
        lin, bn = _parts(block)
        steps.append(_Step("fc", lin.weight.detach(), _bn_scale(bn, lin.out_features), in_shape=shape,
                           global_pool=pooled and len(shape) == 3))
        shape = (lin.out_features,)
    return steps


@torch.no_grad()
def deconvolve(steps: Sequence[_Step], layer: int, signal: torch.Tensor,
               switches: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
    """Project ``signal`` (batch, *output shape of hidden layer ``layer``*) back to the input image.

    For every layer from ``layer`` down to the first: rectify, scale by the batch-norm factor, apply the
    transposed weights. ``switches`` (optional, the guided rule): per hidden layer, where the forward
    ReLU was active for each signal's call (batch, *layer shape*, bool); the rectified signal is further
    zeroed where the unit was silent in the forward pass. Returns (batch, 1, S, S).
    """
    x = signal
    for li in range(layer, -1, -1):
        step = steps[li]
        x = F.relu(x)
        if switches is not None:
            x = x * switches[li]
        if step.kind == "fc":
            x = (x * step.scale) @ step.weight             # W^T applied to a row vector
            if step.global_pool:
                # transpose of a spatial mean: every position gets 1/(h·w) of its channel's value
                c, h, w = step.in_shape
                x = (x / (h * w))[:, :, None, None].expand(len(x), c, h, w)
            else:
                x = x.reshape(len(x), *step.in_shape)
        else:
            x = x * step.scale[None, :, None, None]
            h, w = step.in_shape[1:]
            kh, kw = step.weight.shape[2:]
            # output_padding recovers the rows/columns a strided convolution dropped when rounding down
            op = (h - ((x.shape[2] - 1) * step.stride[0] - 2 * step.padding[0] + kh),
                  w - ((x.shape[3] - 1) * step.stride[1] - 2 * step.padding[1] + kw))
            x = F.conv_transpose2d(x, step.weight, stride=step.stride, padding=step.padding, output_padding=op)
    return x


def _isolate(act: torch.Tensor, units: np.ndarray) -> torch.Tensor:
    """Copies of one call's layer output (per-example shape) keeping one unit each: (len(units), *shape)."""
    mask = torch.zeros(len(units), act.shape[0], dtype=act.dtype)
    mask[torch.arange(len(units)), torch.as_tensor(units, dtype=torch.long)] = 1
    return mask.reshape(len(units), act.shape[0], *([1] * (act.dim() - 1))) * act.unsqueeze(0)


def _switches(call_acts: Sequence[np.ndarray], layer: int, owner: np.ndarray | None = None
              ) -> list[torch.Tensor]:
    """Forward ReLU switches (output > 0) of layers 0..``layer``, one row per signal (``owner``: the call
    of each signal; default one signal per call)."""
    out = []
    for a in call_acts[:layer + 1]:
        m = torch.from_numpy(np.ascontiguousarray(a) > 0)
        out.append(m if owner is None else m[torch.as_tensor(owner, dtype=torch.long)])
    return [m.float() for m in out]


@torch.no_grad()
def unit_reconstructions(steps: Sequence[_Step], layer: int, call_acts: Sequence[np.ndarray],
                         units: Sequence[int] | None = None, guided: bool = True, chunk: int = 256) -> torch.Tensor:
    """Reconstruction of one call from each unit of ``layer`` alone: (units, S, S).

    ``call_acts``: the call's output of every hidden layer (per-example shapes). A conv unit is a feature
    map (channel), as in tf_cnnvis; the other channels are zeroed before deconvolution. ``units``: which
    units (all by default). ``guided``: gate with the call's forward switches (see :func:`deconvolve`).
    """
    act = torch.from_numpy(np.ascontiguousarray(call_acts[layer]))
    idx = np.arange(act.shape[0]) if units is None else np.asarray(units, dtype=int)
    signals = _isolate(act, idx)
    owner = np.zeros(len(idx), int)
    sw = _switches([a[None] for a in call_acts], layer, owner) if guided else None
    return torch.cat([deconvolve(steps, layer, signals[i:i + chunk],
                                 None if sw is None else [m[i:i + chunk] for m in sw])
                      for i in range(0, len(idx), chunk)])[:, 0]


def active_units(act: np.ndarray) -> np.ndarray:
    """Units (channels of a conv map, entries of a vector) with any output > 0 for this call."""
    return np.flatnonzero(act.reshape(act.shape[0], -1).max(axis=1) > 0)


@torch.no_grad()
def layer_reconstruction(steps: Sequence[_Step], layer: int, call_acts: Sequence[np.ndarray],
                         guided: bool = True) -> torch.Tensor:
    """Reconstruction of a call from all units of ``layer`` together: (S, S)."""
    act = torch.from_numpy(np.ascontiguousarray(call_acts[layer]))[None]
    sw = _switches([a[None] for a in call_acts], layer) if guided else None
    return deconvolve(steps, layer, act, sw)[0, 0]


def _mean_offdiagonal(c: np.ndarray) -> float:
    """Mean of the finite off-diagonal entries of a square correlation matrix (NaN if none)."""
    m = ~np.eye(len(c), dtype=bool) & np.isfinite(c)
    return float(c[m].mean()) if m.any() else float("nan")


def reconstruction_scores(stimulus: np.ndarray, recs: np.ndarray) -> tuple[float, float]:
    """(mean correlation of the unit reconstructions with the stimulus, mean pairwise correlation between
    them); units with an all-zero (constant) reconstruction are left out."""
    r = row_correlation(recs, stimulus[None])[:, 0]
    stim_corr = float(np.nanmean(r)) if np.isfinite(r).any() else float("nan")
    return stim_corr, _mean_offdiagonal(row_correlation(recs, recs))


@torch.no_grad()
def deconv_scores(steps: Sequence[_Step], layer: int, acts: Sequence[np.ndarray], stimuli: np.ndarray,
                  rng: np.random.Generator, units_per_layer: int = 16, guided: bool = True,
                  chunk: int = 256) -> np.ndarray:
    """Reconstruction–stimulus correlation and within-layer similarity for several calls: (n, 2).

    ``acts``: the calls' outputs of every hidden layer (list over layers of (n, *shape)); ``stimuli``: their
    inputs (n, S, S). Per call, up to ``units_per_layer`` of the units of ``layer`` active for that call are
    drawn at random (silent units reconstruct to zero and are left out anyway); the deconvolutions of all
    calls run together in chunks.
    """
    n = len(stimuli)
    owners, signals = [], []
    for i in range(n):
        a = acts[layer][i]
        units = active_units(a)
        if units.size > units_per_layer:
            units = np.sort(rng.choice(units, units_per_layer, replace=False))
        owners.append(np.full(units.size, i))
        signals.append(_isolate(torch.from_numpy(np.ascontiguousarray(a)), units))
    owner = np.concatenate(owners) if owners else np.zeros(0, int)
    out = np.full((n, 2), np.nan)
    if owner.size == 0:
        return out
    sig = torch.cat(signals)
    recs = []
    for k in range(0, len(sig), chunk):
        sw = _switches(acts, layer, owner[k:k + chunk]) if guided else None
        recs.append(deconvolve(steps, layer, sig[k:k + chunk], sw)[:, 0])
    rec = torch.cat(recs).numpy()
    for i in range(n):
        mine = owner == i
        if mine.any():
            out[i] = reconstruction_scores(stimuli[i], rec[mine])
    return out
