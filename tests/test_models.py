"""The networks of usvflow.models: layer pattern, shapes, parameter counts, Xavier init, save/load."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from usvflow.classify.models import (
    CNNConfig,
    SpectrogramCNN,
    build_model,
    count_parameters,
    describe_layers,
    layer_names,
    load_model,
    save_model,
)
from usvflow.classify.tasks import train_settings

torch.set_num_threads(1)


def _conv_params(c_in, c_out, k):  # conv without bias + batch norm (scale, shift)
    return c_in * c_out * k * k + 2 * c_out


def test_cnn_layer_pattern_and_parameter_count():
    cfg = dict(input_size=25, channels=[4, 4, 8, 8, 8, 8], kernels=[3] * 6, strides=[1, 1, 2, 1, 2, 1],
               fc=[16, 8], dropout=0.3, global_pool=False)
    model = build_model("cnn", 2, cfg)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    bns = [m for m in model.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))]
    assert len(convs) == 6 and len(linears) == 3 and len(bns) == 8  # BN on every hidden layer
    # 25 → 25 → 25 → 13 → 13 → 7 → 7: flattened 8 × 7 × 7.
    assert model.flat_size == 8 * 7 * 7
    expected = (_conv_params(1, 4, 3) + _conv_params(4, 4, 3) + _conv_params(4, 8, 3) + 3 * _conv_params(8, 8, 3)
                + (392 * 16 + 2 * 16) + (16 * 8 + 2 * 8) + (8 * 1 + 1))
    assert count_parameters(model) == expected
    out = model(torch.rand(5, 1, 25, 25))
    assert out.shape == (5, 1)
    assert build_model("cnn", 4, cfg)(torch.rand(3, 1, 25, 25)).shape == (3, 4)


def test_activations_exposed_per_layer():
    model = build_model("cnn", 2, dict(input_size=25, channels=[4] * 6, strides=[1, 2, 1, 2, 1, 2], fc=[8, 8]))
    model.eval()
    x = torch.rand(2, 1, 25, 25)
    logits, acts = model(x, return_activations=True)
    assert len(acts) == len(layer_names(model)) == 8
    assert torch.equal(logits, model(x))  # asking for activations does not change the output
    # one activation per layer, in order: the conv maps shrink with the strides, then the two hidden FC layers
    sizes = [tuple(a.shape[1:]) for a in acts]
    assert sizes[:6] == [(4, 25, 25), (4, 13, 13), (4, 13, 13), (4, 7, 7), (4, 7, 7), (4, 4, 4)]
    assert sizes[6:] == [(8,), (8,)] and all(a.shape[0] == 2 for a in acts)
    # they are the activations of this input: another input gives other maps
    _, other = model(torch.rand(2, 1, 25, 25), return_activations=True)
    assert not torch.equal(acts[0], other[0])


def test_paper_preset_uses_published_scale(config):
    settings = train_settings({**config, "preset": "paper"})
    model = build_model("cnn", 2, settings["cnn"])
    first = model.conv[0][0]
    assert first.out_channels == 256 and first.in_channels == 1
    assert [layer[0].stride[0] for layer in model.conv][:5] == [2, 2, 1, 1, 1]
    assert model.config.input_size == 100
    assert model(torch.rand(2, 1, 100, 100)).shape == (2, 1)


def test_xavier_initialisation():
    torch.manual_seed(0)
    model = build_model("cnn", 2, dict(input_size=25, channels=[16, 16, 32, 32, 32, 32], fc=[64, 32]))
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            fan_out, fan_in = m.weight.shape[0], m.weight.shape[1]
            rf = m.weight[0, 0].numel()
            bound = math.sqrt(6.0 / (fan_in * rf + fan_out * rf))
            w = m.weight.detach()
            assert float(w.abs().max()) <= bound + 1e-6
            if w.numel() > 500:  # uniform(-b, b) has SD b / sqrt(3)
                assert float(w.std()) == pytest.approx(bound / math.sqrt(3), rel=0.15)
            if m.bias is not None:
                assert torch.all(m.bias == 0)


def test_feature_networks_shapes():
    dnn = build_model("dnn9", 2, dict(hidden=[16, 8, 8]))
    assert len([m for m in dnn.modules() if isinstance(m, nn.Linear)]) == 4
    assert dnn(torch.rand(4, 9)).shape == (4, 1)
    semi = build_model("semiconv", 2, dict(channels=[4, 4, 8, 8, 8], fc=[16, 8]))
    assert len([m for m in semi.modules() if isinstance(m, nn.Conv1d)]) == 15  # three 5-layer stacks
    assert len([m for m in semi.modules() if isinstance(m, nn.Linear)]) == 3
    out = semi(torch.rand(4, 24), torch.rand(4, 100), torch.rand(4, 100), torch.rand(4, 233))
    assert out.shape == (4, 1)


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="6 convolutional"):
        CNNConfig(channels=(8, 8))
    with pytest.raises(ValueError, match="divide 100"):
        CNNConfig(input_size=30)
    with pytest.raises(ValueError, match="unknown"):
        build_model("cnn", 2, {"widths": [1]})
    with pytest.raises(ValueError, match="at least 2 classes"):
        build_model("cnn", 1)


def test_describe_and_save_load_roundtrip(tmp_path):
    model = build_model("cnn", 3, dict(input_size=25, channels=[4] * 6, fc=[8, 8]))
    rows = describe_layers(model)
    assert sum(r["layer"] == "Conv2d" for r in rows) == 6
    assert sum(r["parameters"] for r in rows) == count_parameters(model)
    model.eval()
    x = torch.rand(2, 1, 25, 25)
    path = tmp_path / "m.pt"
    save_model(str(path), model, "cnn", extra={"task": "direction"})
    loaded, extra = load_model(str(path))
    assert isinstance(loaded, SpectrogramCNN) and extra["task"] == "direction"
    assert np.allclose(loaded(x).detach().numpy(), model(x).detach().numpy())
