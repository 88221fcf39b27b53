"""Fig 6 analyses: deconvolution against hand-computed cases and autograd, sparsity and pattern correlation on
constructed activations, and one fold of a tiny network end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from usvflow.classify.models import build_model, layer_names
from usvflow.interpret.activations import (
    layer_activations,
    pattern_correlation,
    row_correlation,
    seen_masks,
    sparsity,
    sparsity_seen,
)
from usvflow.interpret.deconv import _Step, deconv_operators, deconvolve, unit_reconstructions
from usvflow.interpret.layers import analyse_fold, layer_statistics, summarise_layers
from usvflow.interpret.settings import NetworkSettings
from usvflow.report import paper
from usvflow.report.interpret import fig6_numbers

TINY = {"input_size": 10, "channels": [2, 2, 3, 3, 4, 4], "strides": [1, 2, 1, 2, 1, 1], "fc": [5, 3]}


def test_deconvolve_conv_by_hand() -> None:
    """One 2x2 stride-2 conv + batch-norm scale 2 on a 4x4 image: a single active output unit at (0, 0)
    with value 3 reconstructs as 3·2·kernel in the top-left block; a negative unit is rectified away."""
    k = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 1, 2, 2)
    step = _Step("conv", k, torch.tensor([2.0]), stride=(2, 2), padding=(0, 0), in_shape=(1, 4, 4))
    signal = torch.zeros(1, 1, 2, 2)
    signal[0, 0, 0, 0] = 3.0
    signal[0, 0, 1, 1] = -5.0  # rectified: contributes nothing
    rec = deconvolve([step], 0, signal)[0, 0].numpy()
    expected = np.zeros((4, 4))
    expected[:2, :2] = 6.0 * np.array([[1, 2], [3, 4]])
    np.testing.assert_allclose(rec, expected)


def test_deconvolve_restores_odd_sizes_with_padding() -> None:
    """3x3 kernel, stride 2, padding 1 on 5x5 → 3x3: the transposed pass must return 5x5 and equal the
    explicit scatter-add of every output unit's weighted kernel (cropped by the padding)."""
    rng = np.random.default_rng(0)
    w = rng.normal(size=(1, 1, 3, 3))
    y = np.abs(rng.normal(size=(1, 1, 3, 3)))
    step = _Step("conv", torch.tensor(w, dtype=torch.float64), torch.tensor([1.0], dtype=torch.float64),
                 stride=(2, 2), padding=(1, 1), in_shape=(1, 5, 5))
    rec = deconvolve([step], 0, torch.tensor(y))[0, 0].numpy()
    full = np.zeros((7, 7))  # padded input frame
    for i in range(3):
        for j in range(3):
            full[2 * i:2 * i + 3, 2 * j:2 * j + 3] += y[0, 0, i, j] * w[0, 0]
    np.testing.assert_allclose(rec, full[1:6, 1:6])


def test_deconvolve_fc_and_global_pool_by_hand() -> None:
    """FC unit: transposed weights times the batch-norm scale; with global pooling, spread evenly."""
    W = torch.tensor([[1.0, 2.0], [3.0, -1.0]])  # 2 units from 2 channels
    fc = _Step("fc", W, torch.tensor([0.5, 1.0]), in_shape=(2, 2, 2), global_pool=True)
    conv = _Step("conv", torch.ones(2, 1, 1, 1), torch.ones(2), stride=(1, 1), padding=(0, 0), in_shape=(1, 2, 2))
    rec = deconvolve([conv, fc], 1, torch.tensor([[4.0, -1.0]]))[0, 0].numpy()
    # relu([4, -1]) = [4, 0]; · scale → [2, 0]; W^T → [2, 4]; / (2·2 positions) → [0.5, 1] per channel;
    # 1x1 conv with ones sums the channels: 1.5 everywhere
    np.testing.assert_allclose(rec, np.full((2, 2), 1.5))


class _GuidedReLU(torch.autograd.Function):
    """ReLU whose backward passes only positive gradients where the forward output was positive."""

    @staticmethod
    def forward(ctx, x):  # type: ignore[override]
        y = x.clamp(min=0)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):  # type: ignore[override]
        (y,) = ctx.saved_tensors
        return g * (y > 0) * (g > 0)


def test_guided_deconvolution_matches_guided_backprop() -> None:
    """On a small spectrogram CNN with trained-looking batch norm, the guided deconvolution of a layer's
    activity equals guided backpropagation computed by autograd (the rule tf_cnnvis implements)."""
    torch.manual_seed(0)
    model = build_model("cnn", 2, TINY)
    for m in model.modules():
        if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.1, 0.3)
    model.eval()
    x = torch.rand(2, 1, 10, 10, dtype=torch.float64)
    model = model.double()
    _, acts = model(x, return_activations=True)
    steps = deconv_operators(model)
    for layer in (2, 5, 7):
        xg = x.clone().requires_grad_(True)
        h = xg
        outs = []
        for block in model.conv:
            conv, bn = block[0], block[1]
            h = _GuidedReLU.apply(F.batch_norm(conv(h), bn.running_mean, bn.running_var, bn.weight, bn.bias, False,
                                               0.0, bn.eps))
            outs.append(h)
        h = h.flatten(1)
        for block in model.fc:
            lin, bn = block[0], block[1]
            h = _GuidedReLU.apply(F.batch_norm(lin(h), bn.running_mean, bn.running_var, bn.weight, bn.bias, False,
                                               0.0, bn.eps))
            outs.append(h)
        target = outs[layer].detach()
        (outs[layer] * target).sum().backward()
        switches = [(a.detach() > 0).double() for a in acts]
        rec = deconvolve(steps, layer, target, switches)
        torch.testing.assert_close(rec, xg.grad)


def test_unit_reconstructions_sum_to_layer_for_first_layer() -> None:
    """For the first conv layer (linear after rectification) the unit reconstructions add up to the
    reconstruction from the whole layer."""
    torch.manual_seed(1)
    model = build_model("cnn", 2, TINY).eval()
    x = torch.rand(1, 1, 10, 10)
    acts = layer_activations(model, x)
    steps = deconv_operators(model)
    units = unit_reconstructions(steps, 0, [a[0] for a in acts])
    whole = deconvolve(steps, 0, torch.from_numpy(acts[0]), None)[0, 0]
    assert units.shape == (2, 10, 10)
    torch.testing.assert_close(units.sum(0), whole, rtol=1e-5, atol=1e-5)


def test_sparsity_counts_active_units() -> None:
    acts = np.array([[0.0, 1.0, 0.0, 2.0], [0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    np.testing.assert_allclose(sparsity(acts), [0.5, 1.0, 0.0])
    assert sparsity(np.zeros((2, 3, 4, 4))).tolist() == [1.0, 1.0]


def test_sparsity_seen_ignores_units_over_empty_input() -> None:
    """One lit corner pixel: the first layer's positions whose window covers it see sound, deeper layers see it
    through their receptive fields; silent units over empty input do not count towards sparsity_seen."""
    model = build_model("cnn", 2, TINY).eval()
    x = torch.zeros(1, 1, TINY["input_size"], TINY["input_size"])
    x[0, 0, 0, 0] = 1.0
    seen = seen_masks(model, x)
    first = seen[0][0]
    k, s = model.conv[0][0].kernel_size[0], model.conv[0][0].stride[0]
    # positions whose window [i*s - k//2, i*s + k//2] covers pixel 0
    expect = np.array([i * s - k // 2 <= 0 <= i * s + k // 2 for i in range(first.shape[0])])
    np.testing.assert_array_equal(first, expect[:, None] & expect[None, :])
    assert all(m.sum() >= 1 for m in seen)
    acts = np.zeros((1, 2) + first.shape)
    acts[0, 0][first] = 1.0  # one of two channels active wherever the unit sees sound
    assert sparsity_seen(acts, first[None])[0] == pytest.approx(0.5)
    assert sparsity(acts)[0] > 0.5
    assert np.isnan(sparsity_seen(acts, np.zeros_like(first)[None])[0])


def test_direction_test_per_animal_then_across() -> None:
    from usvflow.interpret.layers import direction_test

    rng = np.random.default_rng(0)
    rows = [{"fold": f"a{a}", "layer_index": li, "sparsity": 0.2 + sign * 0.05 * li + rng.normal(0, 0.01)}
            for sign in (-1,) for a in range(8) for li in range(6) for _ in range(5)]
    down = direction_test(pd.DataFrame(rows), "sparsity")
    assert down["direction"] == "decreases" and down["n_animals"] == 8 and down["p"] < 0.01
    assert down["n_rising"] == 0 and down["median_rho"] < -0.9
    flat = pd.DataFrame([{**r, "sparsity": rng.normal(0.2, 0.01)} for r in rows])
    assert direction_test(flat, "sparsity")["direction"] == "no consistent direction"


def test_pattern_correlation_within_vs_across() -> None:
    """Two prototypes ±p plus small noise: same-label references correlate ~+1, other-label ~-1."""
    rng = np.random.default_rng(0)
    p = rng.normal(size=50)
    acts = np.stack([p, -p]) + 0.01 * rng.normal(size=(2, 50))
    refs = np.concatenate([np.tile(p, (5, 1)), np.tile(-p, (5, 1))]) + 0.01 * rng.normal(size=(10, 50))
    within, across = pattern_correlation(acts, np.array([0, 1]), refs, np.repeat([0, 1], 5), center=False)
    assert np.all(within > 0.99) and np.all(across < -0.99)
    # a silent (constant) pattern has no correlation
    assert np.isnan(row_correlation(np.zeros((1, 5)), rng.normal(size=(2, 5)))).all()


def test_centering_removes_the_shared_baseline() -> None:
    """Patterns = a large shared baseline + a small sex-specific part: uncentred, everything correlates ~1;
    centred on the references' mean, same sex correlates positively and opposite sex negatively."""
    rng = np.random.default_rng(1)
    base, sexpart = 10 * rng.random(200), 0.5 * rng.normal(size=200)
    make = lambda s, n: base + s * sexpart + 0.3 * rng.normal(size=(n, 200))  # noqa: E731
    acts, refs = np.concatenate([make(1, 3), make(-1, 3)]), np.concatenate([make(1, 20), make(-1, 20)])
    lab, rlab = np.repeat([1, 0], 3), np.repeat([1, 0], 20)
    w_raw, a_raw = pattern_correlation(acts, lab, refs, rlab, center=False)
    assert a_raw.min() > 0.8
    w, a = pattern_correlation(acts, lab, refs, rlab)
    assert w.min() > 0.5 and a.max() < -0.5


def _tiny_cohort(n_per_animal: int = 12) -> tuple[pd.DataFrame, torch.Tensor]:
    animals = ["f1", "f2", "m1", "m2"]
    table = pd.DataFrame({"call_uid": [f"{a}_{i}" for a in animals for i in range(n_per_animal)],
                          "animal": np.repeat(animals, n_per_animal),
                          "sex": np.repeat(["F", "F", "M", "M"], n_per_animal)})
    x = torch.rand(len(table), 1, 10, 10, generator=torch.Generator().manual_seed(2))
    return table, x


def test_analyse_fold_and_statistics() -> None:
    torch.manual_seed(3)
    model = build_model("cnn", 2, TINY).eval()
    table, x = _tiny_cohort()
    settings = NetworkSettings(reference_calls_per_sex=6, deconv_calls_per_animal=3, units_per_layer=3)
    frames, examples = [], []
    for animal in ("f1", "m1"):
        long, ex = analyse_fold(model, x, table, animal, settings, layer_names(model))
        frames.append(long)
        examples.append(ex)
    long = pd.concat(frames, ignore_index=True)
    assert len(long) == 2 * 12 * 8
    assert set(long["sex"]) == {"F", "M"}
    assert long["sparsity"].between(0, 1).all()
    # every deconvolved call (3 per held-out animal, 2 folds) gets a finite correlation in every convolutional
    # layer, the other calls none; a fully connected layer can have no active unit for a call (then NaN)
    finite = np.isfinite(long["deconv_stim_corr"]).groupby(long["layer"]).sum()
    n_deconv = 2 * settings.deconv_calls_per_animal
    assert (finite[finite.index.str.startswith("conv")] == n_deconv).all() and (finite <= n_deconv).all(), finite
    assert long["deconv_stim_corr"].dropna().between(-1, 1).all()
    assert examples[0]["stimulus"].shape == (10, 10) and len(examples[0]["reconstructions"]) == 8
    summary = summarise_layers(long)
    assert set(summary["measure"]) >= {"sparsity", "within_corr", "across_corr", "deconv_stim_corr"}
    tests = layer_statistics(long)
    assert "sparsity_anova" in tests and "layer" in tests["sparsity_anova"]
    assert long["sparsity_seen"].dropna().between(0, 1).all()
    assert set(tests["sparsity_direction"]) == {"sparsity", "sparsity_seen"}
    values, rows = fig6_numbers(summary, tests)
    assert any("direction" in r["quantity"] for r in rows)
    plateau = {r["quantity"][-1]: r for r in rows if r["quantity"].startswith("deconvolution")}
    for sex in ("M", "F"):  # the paper's number from report.paper, ours from this fold's values
        assert plateau[sex]["paper"] == f"{paper.FIG6_DECONV_PLATEAU[sex]:.2f}"
        assert plateau[sex]["ours"] == f"{values[f'deconv_plateau_{sex}']:.2f}"
    # same seed, same result
    again, _ = analyse_fold(model, x, table, "f1", settings, layer_names(model))
    pd.testing.assert_frame_equal(again, frames[0])


def test_analyse_fold_unknown_animal() -> None:
    model = build_model("cnn", 2, TINY).eval()
    table, x = _tiny_cohort(2)
    with pytest.raises(ValueError, match="no calls"):
        analyse_fold(model, x, table, "zz")
