"""The ``segment:`` settings of the active preset, with their built-in defaults (no torch, no scipy)."""

from __future__ import annotations

import copy
from typing import NamedTuple


class ModelSpec(NamedTuple):
    """One trained row of Table 1."""

    label: str  # the row's name in figures/squeakout_table1.csv
    architecture: str  # squeakout or unet
    augmented: bool  # trained with the paper's augmentations


#: Table 1's trained models, by the key used in file names and rules.
MODELS: dict[str, ModelSpec] = {
    "squeakout": ModelSpec("SqueakOut", "squeakout", True),
    "squeakout_noaug": ModelSpec("SqueakOut without augmentation", "squeakout", False),
    "unet": ModelSpec("U-Net", "unet", False),
    "unet_aug": ModelSpec("U-Net with augmentation", "unet", True),
}
#: Table 1's untrained rows.
BASELINES: dict[str, str] = {"threshold": "threshold baseline", "null": "null model"}
#: Like-for-like comparisons of the two architectures: (SqueakOut key, U-Net key), same data, budget and seeds.
PAIRS: tuple[tuple[str, str], ...] = (("squeakout_noaug", "unet"), ("squeakout", "unet_aug"))

# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------

#: Built-in settings; ``segment.<preset>`` in config.yaml overrides any of them.
DEFAULT_SETTINGS: dict = {
    "window_s": 0.001, "hop_s": 0.001, "f_lo_hz": 25_000.0, "n_freq": 96, "n_frames": 96, "size": 0,
    "pad_s": 0.01, "dynamic_range_db": 50.0, "floor": "recording",
    "noise_per_call": 0.2, "test_fraction": 0.25, "val_fraction": 0.1, "max_calls_per_recording": None,
    "seed": 0, "seeds": [0, 1, 2],
    "squeakout_width": 1.0, "squeakout_last_channels": 1280, "unet_base": 64, "unet_depth": 4,
    "lr": 1e-4, "batch_size": 8, "max_epochs": 200, "batches_per_epoch": None, "plateau_patience": 5,
    "early_stop_patience": 15, "tile": 0, "val_crops": None,
    "refine": {"unet_base": 64, "unet_depth": 4, "pretrain_epochs": 5, "call_epochs": 10, "noise_epochs": 5,
               "max_rounds": 10, "lr": 1e-4, "batches_per_epoch": None, "noise_rehearsal": 1.0,
               "min_thickness": 4.0, "restart_rounds": False},
}


def segment_settings(config: dict) -> dict:
    """The ``segment`` settings of the active preset (``config['preset']``, else ``default``), with defaults."""
    block = dict(config.get("segment") or {})
    preset = config.get("preset", "default")
    chosen = dict(block.get(preset) or block.get("default") or {})
    out = copy.deepcopy(DEFAULT_SETTINGS)
    refine = {**out["refine"], **(chosen.pop("refine", None) or {})}
    out.update(chosen)
    out["refine"] = refine
    out["features_from_mask"] = bool(block.get("features_from_mask", False))
    out["train_masks"] = block.get("train_masks", "truth")
    return out


# --------------------------------------------------------------------------------------------
# Network sizes without torch (for captions written when the workflow is planned)
# --------------------------------------------------------------------------------------------

#: MobileNetV2's (expansion t, channels c, repeats n, first stride s) rows, Table 2 of Sandler et al. (2018);
#: usvflow.segment.models builds the encoder from these.
MOBILENET_V2_SETTINGS: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
)


def make_divisible(v: float, divisor: int = 8) -> int:
    """Round a channel count to a multiple of ``divisor`` (MobileNet convention, never below 90 %)."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new < 0.9 * v:
        new += divisor
    return new


def _cbr(cin: int, cout: int, k: int = 3, groups: int = 1) -> int:  # conv (no bias) + batch norm
    return cin // groups * cout * k * k + 2 * cout


def squeakout_parameters(width: float = 1.0, last_channels: int = 1280, in_channels: int = 1) -> int:
    """Trainable parameters of :class:`usvflow.segment.models.SqueakOut` (4,561,601 at width 1)."""
    stem = make_divisible(32 * width)
    n, cin, skips = _cbr(in_channels, stem), stem, []
    for t, c, reps, s in MOBILENET_V2_SETTINGS:
        cout = make_divisible(c * width)
        for i in range(reps):
            if (s if i == 0 else 1) == 2:
                skips.append(cin)
            hidden = int(round(cin * t))
            n += (_cbr(cin, hidden, 1) if t != 1 else 0) + _cbr(hidden, hidden, 3, hidden) + hidden * cout + 2 * cout
            cin = cout
    last = make_divisible(last_channels * width) if width < 1 else last_channels
    n += _cbr(cin, last, 1)
    chans = [last] + skips[::-1]
    for i, skip in enumerate(skips[::-1]):  # transposed conv (4x4) + two fusing convolutions
        n += chans[i] * skip * 16 + 2 * skip + _cbr(2 * skip, skip) + _cbr(skip, skip)
    return n + _cbr(skips[0], 16) + _cbr(16, 16) + 16 + 1


def unet_parameters(base: int = 64, depth: int = 4, in_channels: int = 1) -> int:
    """Trainable parameters of :class:`usvflow.segment.models.UNet` (31,036,481 at base 64, depth 4)."""
    chans = [base * 2 ** i for i in range(depth + 1)]
    n, cin = 0, in_channels
    for c in chans[:-1]:
        n += _cbr(cin, c) + _cbr(c, c)
        cin = c
    n += _cbr(chans[-2], chans[-1]) + _cbr(chans[-1], chans[-1])
    for i in range(depth):
        n += chans[i + 1] * chans[i] * 4 + chans[i] + _cbr(2 * chans[i], chans[i]) + _cbr(chans[i], chans[i])
    return n + chans[0] + 1


def parameter_counts(settings: dict) -> dict[str, int]:
    """Both networks' sizes under ``settings`` (the merged ``segment`` settings) and at the paper's scale."""
    return {"squeakout": squeakout_parameters(settings["squeakout_width"], settings["squeakout_last_channels"]),
            "unet": unet_parameters(settings["unet_base"], settings["unet_depth"]),
            "squeakout_paper": squeakout_parameters(1.0), "unet_paper": unet_parameters(64, 4)}
