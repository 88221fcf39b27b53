"""SqueakOut network, loss, metrics, augmentations and a training step."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from usvflow.segment.models import (
    NullModel,
    SqueakOut,
    UNet,
    count_parameters,
    dice_loss,
    dice_score,
    focal_loss,
    hybrid_loss,
    pixel_accuracy,
)
from usvflow.segment.training import AugmentConfig, Augmenter, TrainConfig, train_segmenter

torch.set_num_threads(1)


def test_paper_scale_parameter_count():
    # The paper: 4.6 M parameters at full MobileNetV2 width with a one-channel input.
    n = count_parameters(SqueakOut(width=1.0))
    assert 4.4e6 < n < 4.8e6


def test_encoder_is_mobilenet_v2_without_pooling():
    m = SqueakOut(width=1.0)
    assert not any(isinstance(x, (torch.nn.AdaptiveAvgPool2d, torch.nn.AvgPool2d)) for x in m.modules())
    drops = [x for x in m.encoder.blocks if isinstance(x, torch.nn.Dropout)]
    assert len(drops) == 1 and drops[0].p == pytest.approx(0.2)
    assert isinstance(m.encoder.blocks[-1], torch.nn.Module) and m.encoder.blocks[-2] is drops[0]
    assert any(isinstance(x, torch.nn.ReLU6) for x in m.modules())
    assert any(isinstance(x, torch.nn.ConvTranspose2d) for x in m.modules())
    assert m.encoder.skip_channels == [16, 24, 32, 96]


@pytest.mark.parametrize("shape", [(64, 64), (96, 96), (96, 80)])
def test_output_shapes(shape):
    x = torch.rand(2, 1, *shape)
    for model in (SqueakOut(width=0.25), UNet(base=4, depth=3), NullModel()):
        model.eval()
        assert model(x).shape == (2, 1, *shape)
    assert UNet(base=4, depth=3)(x, skips=False).shape == (2, 1, *shape)


def test_loss_hand_computed():
    target = torch.ones(1, 1, 2, 2)
    logits = torch.zeros(1, 1, 2, 2)  # p = 0.5 everywhere
    fl = 0.25 * math.log(2)  # (1 - 0.5)^2 * -log(0.5)
    dl = 1 - (2 * 2 + 1) / (2 + 4 + 1)  # p sums to 2, s to 4, overlap 2, eps 1
    assert float(focal_loss(logits, target)) == pytest.approx(fl, rel=1e-5)
    assert float(dice_loss(logits, target)) == pytest.approx(dl, rel=1e-5)
    assert float(hybrid_loss(logits, target)) == pytest.approx(0.3 * fl + 0.7 * dl, rel=1e-5)
    # A confident, correct prediction costs almost nothing.
    perfect = torch.where(target > 0, 30.0, -30.0)
    assert float(hybrid_loss(perfect, target)) < 1e-6


def test_metrics_hand_computed():
    truth = np.zeros((4, 4), bool)
    truth[1, :] = True  # 4 pixels
    pred = np.zeros((4, 4), bool)
    pred[1, :2] = True
    pred[2, 0] = True  # 2 TP, 1 FP, 2 FN
    assert pixel_accuracy(pred, truth) == pytest.approx(13 / 16)
    assert dice_score(pred, truth) == pytest.approx((2 * 2 + 1) / (3 + 4 + 1))
    assert dice_score(np.zeros((4, 4), bool), np.zeros((4, 4), bool)) == 1.0
    stack = np.stack([pred, truth])
    np.testing.assert_allclose(dice_score(stack, np.stack([truth, truth])), [5 / 8, 1.0])


def test_augmenter_keeps_masks_binary_and_aligned():
    img = torch.zeros(4, 1, 32, 32)
    img[:, :, 14:18, 4:28] = 1.0
    mask = (img > 0.5).float()
    aug = Augmenter(AugmentConfig(p_affine=1, p_contrast=1, p_blur=1, p_noise_or_elastic=1), seed=3)
    out, m, applied = aug(img, mask)
    assert applied[:3] == ["affine", "contrast", "blur"] and len(applied) == 4
    assert set(torch.unique(m).tolist()) <= {0.0, 1.0}
    assert out.min() >= 0 and out.max() <= 1
    # the mask still sits on the bright pixels after the geometric transforms
    assert out[m > 0].mean() > out[m == 0].mean() + 0.2


def test_augmenter_probabilities_follow_the_paper():
    aug = Augmenter(seed=0)
    x, y = torch.rand(1, 1, 16, 16), torch.zeros(1, 1, 16, 16)
    counts = {"affine": 0, "contrast": 0, "blur": 0, "noise": 0}
    n = 600
    for _ in range(n):
        for a in aug(x, y)[2]:
            counts[a if a in counts else "noise"] += 1
    for key, p in [("affine", 0.75), ("contrast", 0.25), ("blur", 0.25), ("noise", 0.33)]:
        assert abs(counts[key] / n - p) < 0.07


def test_tiny_training_reduces_loss():
    rng = np.random.default_rng(0)
    x = (rng.random((16, 32, 32)) * 60).astype(np.uint8)
    y = np.zeros((16, 32, 32), bool)
    for i in range(16):
        r = rng.integers(4, 28)
        y[i, r - 1:r + 2, 4:28] = True
        x[i][y[i]] = 230
    model = SqueakOut(width=0.25, last_channels=64)
    cfg = TrainConfig(lr=3e-3, max_epochs=6, augment=False, seed=0)
    hist = train_segmenter(model, x, y, x[:4], y[:4], cfg, log=lambda s: None)
    assert hist.epochs[-1]["train_loss"] < hist.epochs[0]["train_loss"]
    assert min(e["val_loss"] for e in hist.epochs) < hist.epochs[0]["val_loss"]
