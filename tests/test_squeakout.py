"""SqueakOut network, loss, metrics, augmentations and a training step."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from usvflow.segment.augment import AugmentConfig, Augmenter
from usvflow.segment.models import (
    InvertedResidual,
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
from usvflow.segment.training import TrainConfig, train_segmenter

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
    # the dropout sits right before the final bottleneck (MobileNetV2's last block: 160 -> 320 channels, 6x)
    last = m.encoder.blocks[-1]
    assert isinstance(last, InvertedResidual) and m.encoder.blocks[-2] is drops[0]
    assert last.block[-2].out_channels == 320 and last.block[0][0].out_channels == 6 * 160
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
    hist = train_segmenter(model, x, y, x[:4], y[:4], cfg, log=lambda s: None, device="cpu")
    assert hist.epochs[-1]["train_loss"] < hist.epochs[0]["train_loss"]
    assert min(e["val_loss"] for e in hist.epochs) < hist.epochs[0]["val_loss"]


# ------------------------------------------------------------------------------------------ device


class _Recorder(torch.nn.Module):
    """Wraps a network and records the device of every batch it is given."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net, self.seen = net, []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.device.type)
        return self.net(x)


def _toy(n=16, size=32, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.random((n, size, size)) * 60).astype(np.uint8)
    y = np.zeros((n, size, size), bool)
    for i in range(n):
        r = rng.integers(4, size - 4)
        y[i, r - 1:r + 2, 4:size - 4] = True
        x[i][y[i]] = 230
    return x, y


def _train_on(device):
    from usvflow.segment.training import predict_masks

    x, y = _toy()
    net = _Recorder(SqueakOut(width=0.25, last_channels=64))
    cfg = TrainConfig(lr=3e-3, max_epochs=2, batches_per_epoch=2, augment=True, seed=0, tile=16)
    hist = train_segmenter(net, x, y, x[:4], y[:4], cfg, log=lambda s: None, device=device)
    assert {p.device.type for p in net.parameters()} == {torch.device(device).type}
    assert hist.device.startswith(torch.device(device).type)
    n_train = len(net.seen)
    masks = predict_masks(net, x[:3])  # inference follows the model to its device
    assert set(net.seen) == {torch.device(device).type} and len(net.seen) > n_train
    assert masks.shape == (3, 32, 32) and masks.dtype == bool


def test_training_and_inference_run_on_the_chosen_device_cpu():
    _train_on("cpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_training_and_inference_run_on_the_chosen_device_cuda():
    _train_on("cuda")


def test_default_device_is_the_classifiers_choice(monkeypatch):
    # The segmentation code calls usvflow.classify.training.pick_device: USVFLOW_DEVICE steers both.
    from usvflow.classify.training import pick_device

    monkeypatch.setenv("USVFLOW_DEVICE", "cpu")
    x, y = _toy(8)
    hist = train_segmenter(UNet(base=4, depth=2), x, y, x[:2], y[:2],
                           TrainConfig(max_epochs=1, batches_per_epoch=1, augment=False), log=lambda s: None)
    assert hist.device == str(pick_device()) == "cpu"


def test_gpu_rules_choose_their_device():
    """Every segmentation rule that reserves gpu=1 runs a script that asks pick_device and hands the device to
    training or inference (a code read; the device tests above check that the library then uses it)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    text = (root / "rules" / "segment.smk").read_text()
    gpu_scripts = []
    for block in text.split("\nrule ")[1:]:
        if "gpu=1" in block:
            gpu_scripts.append(block.split('script:')[1].split('"')[1].split("/")[-1])
    # evaluation only scores the saved predictions: no GPU (its inference timing is benchmarks/segment_speed.py)
    assert set(gpu_scripts) == {"segment_refine.py", "segment_train.py"}
    for name in gpu_scripts:
        src = (root / "scripts" / name).read_text()
        assert "pick_device()" in src and "device=device" in src, name


# ------------------------------------------------------------------------------------------ budget


def test_same_seed_gives_both_architectures_the_same_batches_and_augmentations():
    x, y = _toy(24)
    seen = {}
    for name, net in (("squeakout", SqueakOut(width=0.25, last_channels=64)), ("unet", UNet(base=4, depth=2))):
        batches = []

        class Spy(torch.nn.Module):
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, xb):
                if self.training:
                    batches.append(xb.detach().clone())
                return self.inner(xb)

        cfg = TrainConfig(lr=1e-3, max_epochs=3, batches_per_epoch=4, augment=True, seed=7, tile=16,
                          early_stop_patience=99)
        hist = train_segmenter(Spy(net), x, y, x[:4], y[:4], cfg, log=lambda s: None, device="cpu")
        assert hist.updates == hist.max_updates == 12
        seen[name] = torch.stack(batches)
    assert torch.equal(seen["squeakout"], seen["unet"])


def test_plateau_and_early_stopping_fire_and_are_recorded():
    x, y = _toy(16)


    class Stuck(torch.nn.Module):  # its parameter gets zero gradients: the validation loss can never improve
        def __init__(self):
            super().__init__()
            self.p = torch.nn.Parameter(torch.zeros(1))

        def forward(self, xb):
            return xb * 0 + self.p * 0 - 2.0

    # The plateau rule cuts the rate after 2 bad checks (patience 1); early stopping ends training after 3.
    cfg = TrainConfig(lr=1e-3, max_epochs=10, batches_per_epoch=1, plateau_patience=1, early_stop_patience=3,
                      augment=False)
    hist = train_segmenter(Stuck(), x, y, x[:4], y[:4], cfg, log=lambda s: None, device="cpu")
    assert hist.stopped == "early stopping" and hist.updates == 4 < hist.max_updates
    assert hist.lr_drops == [2] and hist.epochs[-1]["lr"] == pytest.approx(1e-4)


def test_tiles_cover_every_pixel_without_shifting():
    from usvflow.segment.training import tile_crops, tile_offsets

    assert tile_offsets(96, 64) == [0, 32] and tile_offsets(96, 48) == [0, 48] and tile_offsets(96, 0) == [0]
    assert tile_offsets(512, 512) == [0]
    img = np.arange(2 * 96 * 96, dtype=np.int64).reshape(2, 96, 96)
    tiles, masks = tile_crops(img, img % 7 == 0, 64)
    assert tiles.shape == (8, 64, 64) and masks.shape == (8, 64, 64)
    assert np.array_equal(tiles[3], img[0, 32:, 32:]) and np.array_equal(tiles[4], img[1, :64, :64])
    assert np.array_equal(masks, tiles % 7 == 0)  # the mask is cut exactly as its image
    covered = np.zeros((96, 96), bool)
    for r in (0, 32):
        for c in (0, 32):
            covered[r:r + 64, c:c + 64] = True
    assert covered.all()
    same, _ = tile_crops(img, img > 0, 0)
    assert same is img


def test_batch_stream_uses_every_image_once_per_pass():
    from usvflow.segment.training import batch_stream

    stream = batch_stream(20, 4, np.random.default_rng(0))
    first = np.concatenate([next(stream) for _ in range(5)])
    second = np.concatenate([next(stream) for _ in range(5)])
    assert sorted(first) == list(range(20)) == sorted(second) and not np.array_equal(first, second)


def test_best_validation_weights_are_restored_after_early_stopping():
    """Training masks are all call, validation masks all background: every update raises the validation
    loss, so the best check is the first; training stops early and the model ends with that check's weights,
    not the last ones."""
    x, _ = _toy(8, size=16)

    class Bias(torch.nn.Module):  # one logit for every pixel
        def __init__(self):
            super().__init__()
            self.b = torch.nn.Parameter(torch.zeros(1))

        def forward(self, xb):
            return xb * 0 + self.b

    net = Bias()
    seen = []  # the weights at each check (the log line is written after the check)
    cfg = TrainConfig(lr=0.1, max_epochs=20, batches_per_epoch=2, plateau_patience=50, early_stop_patience=3,
                      augment=False)
    hist = train_segmenter(net, x, np.ones_like(x, bool), x, np.zeros_like(x, bool), cfg,
                           log=lambda s: seen.append(net.b.item()), device="cpu")
    assert hist.stopped == "early stopping" and len(hist.epochs) == 4 < cfg.max_epochs
    assert hist.best_epoch == 0
    assert seen[0] < seen[-1]  # training kept moving the logit up ...
    assert net.b.item() == pytest.approx(seen[0])  # ... and the best check's weights came back


def test_predict_proba_is_the_sigmoid_of_the_logits_in_any_batch_size():
    from usvflow.segment.training import predict_masks, predict_proba, to_tensor

    x, _ = _toy(7)
    net = SqueakOut(width=0.25, last_channels=64)
    net.train()  # prediction switches to evaluation mode itself
    p = predict_proba(net, x, batch=3)
    assert p.shape == (7, 32, 32) and p.dtype == np.float32 and not net.training
    with torch.no_grad():
        expected = torch.sigmoid(net(to_tensor(x)))[:, 0].numpy()
    assert np.allclose(p, expected, atol=1e-6)
    assert np.allclose(predict_proba(net, x, batch=32), p, atol=1e-6)  # batching changes rounding only
    assert np.array_equal(predict_masks(net, x, threshold=0.3, batch=2), p >= 0.3)
    assert predict_proba(net, x[:0]).shape == (0, 32, 32)


def test_load_model_gives_back_the_trained_network(tmp_path):
    """The checkpoint the training rule writes loads into the same architecture, in evaluation mode, and
    predicts what the trained model predicted."""
    from usvflow.segment.models import build_model
    from usvflow.segment.training import load_model, predict_proba

    settings = {"squeakout_width": 0.25, "squeakout_last_channels": 64, "unet_base": 4, "unet_depth": 2}
    x, y = _toy(8)
    for name in ("squeakout", "unet"):
        model = build_model(name, width=0.25, last_channels=64, unet_base=4, unet_depth=2)
        train_segmenter(model, x, y, x[:2], y[:2], TrainConfig(max_epochs=1, batches_per_epoch=1, augment=False),
                        log=lambda s: None, device="cpu")
        path = tmp_path / f"{name}.pt"
        torch.save({"name": name, "seed": 0, "state_dict": model.state_dict(), "settings": settings}, path)
        loaded = load_model(str(path), device="cpu")
        assert type(loaded) is type(model) and not loaded.training
        assert np.array_equal(predict_proba(loaded, x), predict_proba(model, x))
