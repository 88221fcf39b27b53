"""Inside the sex CNN (Ivanenko et al. 2020, Fig 6): activations, sparsity, within/across-sex correlation and
Zeiler & Fergus deconvolution, per hidden layer of :class:`usvflow.classify.models.SpectrogramCNN`.

Everything is computed per leave-one-animal-out fold: the fold's network (which never saw the held-out
animal) is run on the held-out animal's calls, so every call of the cohort is analysed exactly once, by the
model that did not train on it.

* **Sparsity** of a call's representation in a layer: ``1 − #active / #units`` (paper Fig 6C), a unit being
  active when its output (after batch norm and ReLU) is > 0.
* **Sparsity of the units that see sound** (``sparsity_seen``): the same, counted only over the units whose
  receptive field holds at least one non-empty input pixel (conv layers; every FC unit counts). A call image
  is mostly empty (no sound, padding after the call), and a conv unit over empty input is silent or not
  through batch norm alone; plain sparsity then follows the call's area more than what the layer computes.
  The receptive fields come from the layers themselves (:func:`seen_masks`: the non-empty mask max-pooled
  with every convolution's and pooling's kernel, stride and padding).
* **Within- and across-sex correlation** (Fig 6D): for every held-out call, the Pearson correlation (over the
  layer's units) between its activation pattern and those of a seeded reference sample of calls from the
  *other* animals of the cohort, averaged separately over same-sex and opposite-sex references. All
  references are training calls of the fold's network, so both averages rest on calls of the same status,
  and the same-animal confound (individual signatures) is excluded. Patterns are first centred on the
  references' mean response per unit (otherwise the units' shared baselines make every pair correlate ~1).
* **Deconvolution** (Zeiler & Fergus 2014): a unit's activation is projected back to the image by, layer after
  layer, rectifying the signal (ReLU) and applying the *transposed* weights (``conv_transpose2d`` with the
  forward stride and padding; ``output_padding`` restores the exact input size that a stride-2 convolution
  rounded down). The network has no max pooling, so no unpooling switches are needed. **Batch norm** in eval
  mode is the per-channel affine map ``y = s·x + b`` with ``s = γ / sqrt(running_var + ε)``; the deconvnet
  uses the transpose of the *linear* part of convolution + batch norm, i.e. it scales the signal by ``s``
  before the transposed filter, and drops the shift ``b`` as Zeiler & Fergus drop biases. Fully connected
  layers are deconvolved by their transposed weight matrix in the same way, then reshaped to the last
  convolutional map (or, for a network with global average pooling before its FC layers, spread evenly over
  each feature map: the transpose of a mean). Rule ``guided`` (default) is what the paper's tool, tf_cnnvis,
  computes: its deconvolution overrides the ReLU gradient so that the signal is rectified *and* gated by the
  forward pass's ReLU switches (guided backpropagation); rule ``deconvnet`` is Zeiler & Fergus's rectification
  alone.
* **Reconstruction–stimulus correlation** (Fig 6G): Pearson correlation between each unit's reconstruction
  and the network's input image, averaged over the units of the layer whose reconstruction is not
  identically zero (units silent for that call).
* **Within-layer similarity** (Fig 6H): mean pairwise correlation between the reconstructions of the units
  of one layer for the same call.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

# --------------------------------------------------------------------------------------------- activations


@torch.no_grad()
def layer_activations(model: nn.Module, x: torch.Tensor, batch_size: int = 128) -> list[np.ndarray]:
    """Every hidden layer's output for inputs ``x`` (n, 1, S, S), unflattened: conv layers (n, C, h, w),
    fully connected (n, units). The model is put in eval mode (batch norm uses running statistics, dropout is
    off) and restored afterwards."""
    was_training = model.training
    model.eval()
    chunks: list[list[np.ndarray]] = []
    for start in range(0, len(x), batch_size):
        _, acts = model(x[start:start + batch_size], return_activations=True)
        chunks.append([a.detach().cpu().numpy().astype(np.float32) for a in acts])
    model.train(was_training)
    if not chunks:
        raise ValueError("no inputs to compute activations for")
    return [np.concatenate([c[i] for c in chunks]) for i in range(len(chunks[0]))]


def sparsity(acts: np.ndarray) -> np.ndarray:
    """Per row: ``1 − #active/#units`` with active meaning > 0 (rows: calls; any trailing shape)."""
    flat = acts.reshape(len(acts), -1)
    return 1.0 - (flat > 0).mean(axis=1)


@torch.no_grad()
def seen_masks(model: nn.Module, x: torch.Tensor) -> list[np.ndarray]:
    """Per convolutional block of ``model.conv``: (n, h, w) booleans, True where the position's receptive
    field holds a non-zero pixel of the input ``x`` (n, C, S, S)."""
    m = (x.abs().sum(dim=1, keepdim=True) > 0).float()
    out = []
    for block in model.conv:
        for mod in block.modules():
            if isinstance(mod, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
                m = nn.functional.max_pool2d(m, mod.kernel_size, mod.stride, mod.padding,
                                             ceil_mode=bool(getattr(mod, "ceil_mode", False)))
        out.append(m[:, 0].numpy() > 0)
    return out


def sparsity_seen(acts: np.ndarray, seen: np.ndarray | None) -> np.ndarray:
    """:func:`sparsity` over the units whose receptive field sees sound: ``acts`` (n, C, h, w) and ``seen``
    (n, h, w) from :func:`seen_masks`; NaN for a call whose layer sees nothing. ``seen`` None (FC layers):
    every unit counts."""
    if seen is None:
        return sparsity(acts)
    active = ((acts > 0) & seen[:, None]).reshape(len(acts), -1).sum(axis=1)
    n_units = seen.reshape(len(seen), -1).sum(axis=1) * acts.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_units > 0, 1.0 - active / np.maximum(n_units, 1), np.nan)


def _standardise_rows(a: np.ndarray) -> np.ndarray:
    """Rows centred and scaled to unit norm; constant rows become NaN (their correlation is undefined)."""
    a = a.reshape(len(a), -1).astype(np.float32)  # float32: the conv maps have ~10^4 units per call
    a = a - a.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(a, axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, a / norm, np.nan)


def row_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation between every row of ``a`` and every row of ``b`` (trailing dims flattened):
    (len(a), len(b)); NaN where either row is constant."""
    return _standardise_rows(a) @ _standardise_rows(b).T


def pattern_correlation(acts: np.ndarray, labels: np.ndarray, ref_acts: np.ndarray,
                        ref_labels: np.ndarray, center: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """For every row of ``acts``: the mean correlation of its pattern with the same-label references
    (within) and with the other-label references (across). Constant patterns (e.g. all units silent) are
    left out of the means; a call with no usable reference of a kind gets NaN.

    ``center``: subtract from every pattern the references' mean response of each unit first. Without it,
    every pair of calls shares each unit's baseline (its batch-norm shift) and correlates near 1 whatever
    the sexes; with it, the correlation measures how calls *deviate* alike from the average response.
    """
    a = acts.reshape(len(acts), -1)
    b = ref_acts.reshape(len(ref_acts), -1)
    if center:
        mu = b.mean(axis=0, keepdims=True)
        a, b = a - mu, b - mu
    r = row_correlation(a, b)
    same = labels[:, None] == ref_labels[None, :]
    valid = np.isfinite(r)
    with np.errstate(invalid="ignore"):
        within = np.where(same & valid, r, 0).sum(1) / (same & valid).sum(1)
        across = np.where(~same & valid, r, 0).sum(1) / (~same & valid).sum(1)
    return within, across
