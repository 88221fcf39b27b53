"""SqueakOut (Santana & Dietrich 2024) and its comparison models, in plain torch.

* :class:`MobileNetV2Encoder`: MobileNetV2 (Sandler et al. 2018) written out by hand — inverted residuals,
  depth-wise convolutions, linear bottlenecks, ReLU6 — without the average pooling/classifier and with a 20 %
  dropout before the final bottleneck, as the paper describes.
* :class:`SqueakOut`: that encoder, a decoder of transposed convolutions that concatenates the encoder's
  feature maps (skip connections), and an output block of convolutions whose result is interpolated back to the
  input size. At ``width=1`` and one input channel it has about 4.6 M parameters (the paper's size).
* :class:`UNet`: the Ronneberger et al. U-Net, used as the comparison model and as the autoencoder of the
  dataset refinement (``skips=False`` turns it into a pure bottleneck autoencoder for reconstruction).
* :func:`hybrid_loss`: ``α·focal(γ=2) + (1−α)·Dice`` with α = 0.3.
* :class:`Augmenter`: the paper's batch-wise stochastic augmentations (affine 0.75, contrast 0.25, blur 0.25,
  one of additive / Gaussian / frequency noise or elastic 0.33).
* :func:`train_segmenter`: Adam, plateau schedule (×0.1 after 5 epochs without improvement), early stopping
  (15), batch 8; the best weights on the validation set are kept.

Images are float tensors in [0, 1] shaped (batch, 1, freq, time); masks have the same shape with 0/1 values.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .settings import MOBILENET_V2_SETTINGS, MODELS
from .settings import make_divisible as _make_divisible


def conv_bn_relu6(cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    """Convolution → batch norm → ReLU6 (the MobileNetV2 building block)."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU6(inplace=True),
    )


class InvertedResidual(nn.Module):
    """Expand (1×1) → depth-wise 3×3 → linear projection (1×1, no activation); residual when shapes match."""

    def __init__(self, cin: int, cout: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = int(round(cin * expansion))
        self.use_residual = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if expansion != 1:
            layers.append(conv_bn_relu6(cin, hidden, kernel=1))
        layers += [
            conv_bn_relu6(hidden, hidden, kernel=3, stride=stride, groups=hidden),  # depth-wise
            nn.Conv2d(hidden, cout, 1, bias=False),  # linear bottleneck: no non-linearity in the narrow layer
            nn.BatchNorm2d(cout),
        ]
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x) if self.use_residual else self.block(x)


class MobileNetV2Encoder(nn.Module):
    """MobileNetV2 feature extractor returning the maps at strides 2, 4, 8, 16 and 32 (for skip connections).

    ``width`` scales every channel count; ``last_channels`` is the final 1×1 convolution (1280 in the original,
    scaled too when ``width < 1`` so that small models stay small). Dropout (``dropout``) sits before the final
    bottleneck block.
    """

    def __init__(self, in_channels: int = 1, width: float = 1.0, last_channels: int = 1280,
                 dropout: float = 0.2) -> None:
        super().__init__()
        stem = _make_divisible(32 * width)
        self.stem = conv_bn_relu6(in_channels, stem, stride=2)
        blocks: list[nn.Module] = []
        cin = stem
        # The map entering each stride-2 block is the skip at the stride before it (2, 4, 8, 16).
        self._skip_points: list[int] = []
        self.skip_channels: list[int] = []
        n_blocks = sum(n for _, _, n, _ in MOBILENET_V2_SETTINGS)
        n_done = 0
        for t, c, n, s in MOBILENET_V2_SETTINGS:
            cout = _make_divisible(c * width)
            for i in range(n):
                n_done += 1
                if n_done == n_blocks and dropout > 0:
                    blocks.append(nn.Dropout(dropout))  # before the final bottleneck, as in the paper
                stride = s if i == 0 else 1
                if stride == 2:
                    self._skip_points.append(len(blocks))
                    self.skip_channels.append(cin)
                blocks.append(InvertedResidual(cin, cout, stride, t))
                cin = cout
        self.blocks = nn.ModuleList(blocks)
        self.last_channels = _make_divisible(last_channels * width) if width < 1 else last_channels
        self.head = conv_bn_relu6(cin, self.last_channels, kernel=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Return the deepest map (stride 32) and the skips at strides 2, 4, 8, 16 (shallow first)."""
        x = self.stem(x)
        skips = []
        for idx, b in enumerate(self.blocks):
            if idx in self._skip_points:
                skips.append(x)
            x = b(x)
        return self.head(x), skips


class DecoderBlock(nn.Module):
    """Transposed convolution (×2) → concatenate the encoder's skip → two 3×3 convolutions."""

    def __init__(self, cin: int, cskip: int, cout: int) -> None:
        super().__init__()
        self.up = nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1, bias=False),
                                nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))
        self.fuse = nn.Sequential(conv_bn_relu6(cout + cskip, cout), conv_bn_relu6(cout, cout))

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.up(x)
        if x.shape[-2:] != skip.shape[-2:]:  # odd sizes: align to the skip
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.fuse(torch.cat([x, skip], dim=1))


class SqueakOut(nn.Module):
    """MobileNetV2 encoder + transposed-convolution decoder with skip connections + output block.

    Returns logits (apply ``torch.sigmoid`` for the probability map) at the input's size.
    """

    def __init__(self, in_channels: int = 1, width: float = 1.0, last_channels: int = 1280,
                 dropout: float = 0.2, out_channels: int = 16) -> None:
        super().__init__()
        self.encoder = MobileNetV2Encoder(in_channels, width, last_channels, dropout)
        skips = self.encoder.skip_channels  # strides 2, 4, 8, 16
        chans = [self.encoder.last_channels] + skips[::-1]
        self.decoder = nn.ModuleList(DecoderBlock(chans[i], skips[::-1][i], skips[::-1][i])
                                     for i in range(len(skips)))
        last = skips[0]
        self.output = nn.Sequential(conv_bn_relu6(last, out_channels), conv_bn_relu6(out_channels, out_channels),
                                    nn.Conv2d(out_channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        y, skips = self.encoder(x)
        for block, skip in zip(self.decoder, skips[::-1]):
            y = block(y, skip)
        y = self.output(y)  # at stride 2
        return F.interpolate(y, size=size, mode="bilinear", align_corners=False)


class UNet(nn.Module):
    """U-Net (double 3×3 conv blocks, max-pool down, transposed-conv up, concatenated skips).

    ``forward(x, skips=False)`` replaces the skip tensors by zeros, so the same weights act as a bottleneck
    autoencoder that cannot copy its input (the refinement's reconstruction pre-training).
    """

    def __init__(self, in_channels: int = 1, base: int = 64, depth: int = 4) -> None:
        super().__init__()
        chans = [base * 2 ** i for i in range(depth + 1)]
        self.down = nn.ModuleList()
        cin = in_channels
        for c in chans[:-1]:
            self.down.append(self._double(cin, c))
            cin = c
        self.bottom = self._double(chans[-2], chans[-1])
        self.ups = nn.ModuleList(nn.ConvTranspose2d(chans[i + 1], chans[i], 2, stride=2)
                                 for i in reversed(range(depth)))
        self.fuse = nn.ModuleList(self._double(2 * chans[i], chans[i]) for i in reversed(range(depth)))
        self.out = nn.Conv2d(chans[0], 1, 1)

    @staticmethod
    def _double(cin: int, cout: int) -> nn.Sequential:
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                             nn.ReLU(inplace=True), nn.Conv2d(cout, cout, 3, padding=1, bias=False),
                             nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor, skips: bool = True) -> torch.Tensor:
        saved = []
        for block in self.down:
            x = block(x)
            saved.append(x if skips else torch.zeros_like(x))
            x = F.max_pool2d(x, 2, ceil_mode=True)
        x = self.bottom(x)
        for up, fuse, skip in zip(self.ups, self.fuse, reversed(saved)):
            x = up(x)
            x = x[..., :skip.shape[-2], :skip.shape[-1]]
            if x.shape[-2:] != skip.shape[-2:]:
                x = F.pad(x, (0, skip.shape[-1] - x.shape[-1], 0, skip.shape[-2] - x.shape[-2]))
            x = fuse(torch.cat([x, skip], dim=1))
        return self.out(x)


class NullModel(nn.Module):
    """Predicts no call anywhere (the paper's reference for class imbalance)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full_like(x[:, :1], -20.0)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def build_model(name: str, width: float = 1.0, last_channels: int = 1280, unet_base: int = 64,
                unet_depth: int = 4) -> nn.Module:
    """A network by Table 1 key (``squeakout``, ``squeakout_noaug``, ``unet``, ``unet_aug``: see
    :data:`usvflow.segment.settings.MODELS`) or architecture (``squeakout``, ``unet``, ``null``)."""
    arch = MODELS[name].architecture if name in MODELS else name
    if arch == "squeakout":
        return SqueakOut(width=width, last_channels=last_channels)
    if arch == "unet":
        return UNet(base=unet_base, depth=unet_depth)
    if arch == "null":
        return NullModel()
    raise ValueError(f"unknown segmentation model {name!r}")


def model_augmented(name: str) -> bool:
    """Whether Table 1's model ``name`` is trained with the paper's augmentations."""
    return MODELS[name].augmented


# --------------------------------------------------------------------------------------------
# Loss and metrics
# --------------------------------------------------------------------------------------------


def focal_loss(logits: torch.Tensor, target: torch.Tensor, gamma: float = 2.0) -> torch.Tensor:
    """Mean over pixels of ``−(1 − p_t)^γ · log p_t`` (Lin et al. 2017), ``p_t`` the probability of the truth."""
    logp = F.logsigmoid(logits)
    log1mp = F.logsigmoid(-logits)
    logpt = torch.where(target > 0.5, logp, log1mp)
    return (-(1 - logpt.exp()) ** gamma * logpt).mean()


def dice_loss(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """``1 − (2Σps + ε)/(Σp + Σs + ε)`` per image, averaged; ε keeps call-free images defined."""
    p = torch.sigmoid(logits).flatten(1)
    s = target.flatten(1)
    dice = (2 * (p * s).sum(1) + eps) / (p.sum(1) + s.sum(1) + eps)
    return (1 - dice).mean()


def hybrid_loss(logits: torch.Tensor, target: torch.Tensor, alpha: float = 0.3, gamma: float = 2.0) -> torch.Tensor:
    """The paper's loss: ``α·FL + (1 − α)·DL`` (α = 0.3, γ = 2)."""
    return alpha * focal_loss(logits, target, gamma) + (1 - alpha) * dice_loss(logits, target)


def pixel_accuracy(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-image share of pixels labelled correctly; arrays (n, H, W) or (H, W)."""
    pred, truth = np.asarray(pred, bool), np.asarray(truth, bool)
    axes = tuple(range(pred.ndim - 2, pred.ndim))
    return (pred == truth).mean(axis=axes)


def dice_score(pred: np.ndarray, truth: np.ndarray, eps: float = 1.0) -> np.ndarray:
    """Per-image Dice ``(2TP + ε)/(|P| + |S| + ε)``; two empty masks agree perfectly (1)."""
    pred, truth = np.asarray(pred, bool), np.asarray(truth, bool)
    axes = tuple(range(pred.ndim - 2, pred.ndim))
    tp = (pred & truth).sum(axis=axes)
    return (2 * tp + eps) / (pred.sum(axis=axes) + truth.sum(axis=axes) + eps)
