"""Inside the sex CNN (Ivanenko et al. 2020, Fig 6): activations, sparsity, within/across-sex correlation and
Zeiler & Fergus deconvolution, per hidden layer of :class:`usvflow.models.SpectrogramCNN`.

Everything is computed per leave-one-animal-out fold: the fold's network (which never saw the held-out
animal) is run on the held-out animal's calls, so every call of the cohort is analysed exactly once, by the
model that did not train on it.

* **Sparsity** of a call's representation in a layer: ``1 − #active / #units`` (paper Fig 6C), a unit being
  active when its output (after batch norm and ReLU) is > 0.
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

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["NetworkSettings", "DEFAULT_SETTINGS", "layer_activations", "sparsity", "pattern_correlation",
           "row_correlation", "deconv_operators", "deconvolve", "unit_reconstructions", "layer_reconstruction",
           "active_units", "deconv_scores", "reconstruction_scores", "analyse_fold", "layer_statistics",
           "summarise_layers", "plateau", "fig6_numbers", "save_example", "load_example", "pick_examples"]


@dataclass(frozen=True)
class NetworkSettings:
    """Sizes of the Fig 6 analyses (the ``network:`` block of config.yaml may override them)."""

    reference_calls_per_sex: int = 150  # other-animal calls per sex that every held-out call is compared with
    deconv_calls_per_animal: int = 20   # held-out calls per fold that are deconvolved
    units_per_layer: int = 16           # active units per layer and call whose reconstructions are compared
    deconv_rule: str = "guided"         # "guided" (tf_cnnvis, the paper's tool) or "deconvnet" (Zeiler & Fergus)
    batch_size: int = 128
    seed: int = 2020

    @classmethod
    def from_config(cls, values: dict[str, Any] | None) -> "NetworkSettings":
        """Settings from a config dict; unknown keys are ignored (they belong to the call-space analysis)."""
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in (values or {}).items() if k in names})


DEFAULT_SETTINGS = NetworkSettings()


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


# --------------------------------------------------------------------------------------------- one fold


def analyse_fold(model: nn.Module, x: torch.Tensor, table: pd.DataFrame, held_out: str,
                 settings: NetworkSettings = DEFAULT_SETTINGS, layer_names: Sequence[str] | None = None,
                 ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """All Fig 6 measurements of one leave-one-animal-out fold.

    ``x``: the cohort's network inputs (n, 1, S, S), row-aligned with ``table`` (columns ``call_uid``,
    ``animal``, ``sex`` in F/M). Returns a long table with one row per (held-out call, layer): ``sparsity``,
    ``within_corr``, ``across_corr`` and, for the deconvolved subsample, ``deconv_stim_corr`` and
    ``deconv_similarity`` (NaN otherwise); and the examples for plotting (the held-out animal's first
    deconvolved call: stimulus, per-layer activations and whole-layer reconstructions).
    """
    sex = table["sex"].astype(str).str.upper().to_numpy()
    animal = table["animal"].astype(str).to_numpy()
    test = np.flatnonzero(animal == str(held_out))
    if test.size == 0:
        raise ValueError(f"no calls of held-out animal {held_out}")
    rng = np.random.default_rng([settings.seed, sum(map(ord, str(held_out)))])
    refs = []
    for s in ("F", "M"):
        pool = np.flatnonzero((animal != str(held_out)) & (sex == s))
        refs.append(np.sort(rng.choice(pool, min(len(pool), settings.reference_calls_per_sex), replace=False)))
    ref = np.concatenate(refs)
    names = list(layer_names or [f"layer{i + 1}" for i in range(len(model.conv) + len(model.fc))])

    acts = layer_activations(model, x[test], settings.batch_size)
    ref_acts = layer_activations(model, x[ref], settings.batch_size) if ref.size else None
    deconv_idx = np.sort(rng.choice(test.size, min(test.size, settings.deconv_calls_per_animal), replace=False))
    steps = deconv_operators(model)
    guided = settings.deconv_rule == "guided"
    deconv_acts = [a[deconv_idx] for a in acts]

    frames = []
    for li, name in enumerate(names):
        n = test.size
        row = pd.DataFrame({"call_uid": table["call_uid"].to_numpy()[test], "animal": animal[test],
                            "sex": sex[test], "fold": str(held_out), "layer": name, "layer_index": li,
                            "sparsity": sparsity(acts[li])})
        if ref_acts is not None:
            row["within_corr"], row["across_corr"] = pattern_correlation(acts[li], sex[test], ref_acts[li], sex[ref])
        else:
            row["within_corr"] = row["across_corr"] = np.nan
        scores = np.full((n, 2), np.nan)
        scores[deconv_idx] = deconv_scores(steps, li, deconv_acts, x[test[deconv_idx], 0].numpy(), rng,
                                           settings.units_per_layer, guided)
        stim_corr, similarity = scores[:, 0], scores[:, 1]
        row["deconv_stim_corr"] = stim_corr
        row["deconv_similarity"] = similarity
        frames.append(row)

    j = int(deconv_idx[0])
    example = {"call_uid": str(table["call_uid"].iloc[test[j]]), "animal": str(held_out), "sex": sex[test[j]],
               "stimulus": x[test[j], 0].numpy(),
               "activations": [a[j] for a in acts],
               "reconstructions": [layer_reconstruction(steps, li, [a[j] for a in acts], guided).numpy()
                                   for li in range(len(names))],
               "layers": names}
    return pd.concat(frames, ignore_index=True), example


# --------------------------------------------------------------------------------------------- statistics


MEASURES = {"sparsity": "sparsity", "within_corr": "within-sex correlation", "across_corr": "across-sex correlation",
            "deconv_stim_corr": "reconstruction–stimulus correlation", "deconv_similarity": "within-layer similarity"}


def summarise_layers(long: pd.DataFrame) -> pd.DataFrame:
    """Mean, SEM and n per (measure, layer, sex) over calls; the plotted points of Fig 6C/D/G/H."""
    rows = []
    for measure in MEASURES:
        for (li, layer, s), grp in long.groupby(["layer_index", "layer", "sex"], sort=True):
            v = grp[measure].to_numpy(float)
            v = v[np.isfinite(v)]
            rows.append({"measure": measure, "layer_index": li, "layer": layer, "sex": s, "n": v.size,
                         "mean": float(v.mean()) if v.size else np.nan,
                         "sem": float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else np.nan})
    return pd.DataFrame(rows)


def layer_statistics(long: pd.DataFrame) -> dict[str, Any]:
    """The tests behind Fig 6C/D/G/H.

    * sparsity: two-way ANOVA (layer × sex, type II sums of squares, statsmodels) as the paper, and a
      Kruskal–Wallis test across layers per sex (the per-call values are bounded and skewed);
    * within- and across-sex correlation: Kruskal–Wallis across layers; per layer, the Wilcoxon signed-rank
      test of within vs across on the same calls;
    * reconstruction–stimulus correlation and within-layer similarity: Kruskal–Wallis across layers per sex,
      and Wilcoxon rank-sum M vs F per layer.
    """
    from scipy import stats
    import statsmodels.formula.api as smf
    from statsmodels.stats.anova import anova_lm

    out: dict[str, Any] = {}
    d = long[np.isfinite(long["sparsity"])]
    if d["layer"].nunique() > 1 and d["sex"].nunique() > 1 and len(d) > d["layer"].nunique() * 2 + 2:
        table = anova_lm(smf.ols("sparsity ~ C(layer) * C(sex)", data=d).fit(), typ=2)
        out["sparsity_anova"] = {term.replace("C(", "").replace(")", ""): {"F": float(r["F"]), "p": float(r["PR(>F)"])}
                                 for term, r in table.iterrows() if term != "Residual"}

    def kruskal(frame: pd.DataFrame, col: str) -> dict[str, float]:
        groups = [g[col].dropna().to_numpy() for _, g in frame.groupby("layer_index")]
        groups = [g for g in groups if g.size]
        if len(groups) < 2 or np.ptp(np.concatenate(groups)) == 0:  # scipy refuses identical values
            return {"H": float("nan"), "p": float("nan")}
        h, p = stats.kruskal(*groups)
        return {"H": float(h), "p": float(p)}

    for measure in MEASURES:
        out[f"{measure}_kruskal"] = {s: kruskal(g, measure) for s, g in long.groupby("sex")}
    per_layer = {}
    for layer, g in long.groupby("layer", sort=False):
        entry: dict[str, Any] = {}
        pair = g[["within_corr", "across_corr"]].dropna()
        if len(pair) > 1 and np.any(pair["within_corr"] != pair["across_corr"]):
            entry["within_vs_across_wilcoxon_p"] = float(stats.wilcoxon(pair["within_corr"], pair["across_corr"]).pvalue)
        for measure in ("sparsity", "deconv_stim_corr", "deconv_similarity"):
            f = g.loc[g["sex"] == "F", measure].dropna()
            m = g.loc[g["sex"] == "M", measure].dropna()
            if len(f) > 1 and len(m) > 1:
                entry[f"{measure}_MvsF_ranksum_p"] = float(stats.ranksums(m, f).pvalue)
        per_layer[str(layer)] = entry
    out["per_layer"] = per_layer
    return out


def plateau(summary: pd.DataFrame, measure: str, sex: str, n_layers: int = 2) -> float:
    """The asymptote of a per-layer curve: mean over the last ``n_layers`` convolutional layers (the paper
    reads the reconstruction–stimulus plateau at conv layers 4/5 onwards)."""
    s = summary[(summary["measure"] == measure) & (summary["sex"] == sex)
                & summary["layer"].str.startswith("conv")].sort_values("layer_index")
    return float(s["mean"].iloc[-n_layers:].mean()) if len(s) else float("nan")


# --------------------------------------------------------------------------------------------- outputs


def save_example(path: str, example: dict[str, Any]) -> None:
    """One fold's example call (stimulus, per-layer activations and reconstructions) as an .npz."""
    arrays = {"stimulus": example["stimulus"]}
    arrays.update({f"activation_{i}": a for i, a in enumerate(example["activations"])})
    arrays.update({f"reconstruction_{i}": r for i, r in enumerate(example["reconstructions"])})
    np.savez_compressed(path, **arrays, call_uid=example["call_uid"], animal=example["animal"], sex=example["sex"],
                        layers=np.asarray(example["layers"]))


def load_example(path: str) -> dict[str, Any]:
    """Inverse of :func:`save_example`."""
    with np.load(path) as z:
        layers = [str(v) for v in z["layers"]]
        return {"call_uid": str(z["call_uid"]), "animal": str(z["animal"]), "sex": str(z["sex"]),
                "stimulus": z["stimulus"], "layers": layers,
                "activations": [z[f"activation_{i}"] for i in range(len(layers))],
                "reconstructions": [z[f"reconstruction_{i}"] for i in range(len(layers))]}


def pick_examples(examples: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """One female and one male example (the first fold of each sex, folds in the given order)."""
    out: dict[str, dict[str, Any]] = {}
    for ex in examples:
        out.setdefault(ex["sex"], ex)
    return {s: out[s] for s in ("F", "M") if s in out}


def _fmt(v: float, digits: int = 2) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def _p(v: float | None) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{v:.1e}"


def fig6_numbers(summary: pd.DataFrame, tests: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The values of Fig 6 and the summary rows (paper's statement or number beside ours)."""
    def point(measure: str, layer: str, sex: str) -> float:
        s = summary[(summary["measure"] == measure) & (summary["layer"] == layer) & (summary["sex"] == sex)]
        return float(s["mean"].iloc[0]) if len(s) else float("nan")

    layers = list(summary.sort_values("layer_index")["layer"].unique())
    first, last = (layers[0], layers[-1]) if layers else ("", "")
    values: dict[str, Any] = {"layers": layers, "tests": tests,
                              "per_layer": summary.to_dict(orient="records")}
    for s in ("F", "M"):
        values[f"deconv_plateau_{s}"] = plateau(summary, "deconv_stim_corr", s)
        for measure in MEASURES:
            values[f"{measure}_{first}_{s}"] = point(measure, first, s)
            values[f"{measure}_{last}_{s}"] = point(measure, last, s)
    anova = tests.get("sparsity_anova", {}).get("layer", {})
    both = lambda m, layer: f"F {_fmt(point(m, layer, 'F'))} / M {_fmt(point(m, layer, 'M'))}"  # noqa: E731
    rows = [
        {"quantity": f"sparsity, {first} → {last}", "paper": "increases from conv to FC (ANOVA p ≈ 0)",
         "ours": f"{both('sparsity', first)} → {both('sparsity', last)}; ANOVA layer p = {_p(anova.get('p'))}"},
        {"quantity": f"within-sex activation correlation, {first} → {last}",
         "paper": "increases towards the output (≤ ~0.2)",
         "ours": f"{both('within_corr', first)} → {both('within_corr', last)}"},
        {"quantity": f"across-sex activation correlation, {last}", "paper": "negative in the last FC layer",
         "ours": both("across_corr", last)},
        {"quantity": "deconvolution–stimulus correlation plateau (conv5–6), M", "paper": "0.40",
         "ours": _fmt(values["deconv_plateau_M"])},
        {"quantity": "deconvolution–stimulus correlation plateau (conv5–6), F", "paper": "0.46",
         "ours": _fmt(values["deconv_plateau_F"])},
        {"quantity": f"within-layer similarity of reconstructions, {first} → {last}",
         "paper": "rises to near-identical at the top",
         "ours": f"{both('deconv_similarity', first)} → {both('deconv_similarity', last)}"},
    ]
    return values, rows
