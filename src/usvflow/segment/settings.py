"""The ``segment:`` settings of the active preset, with their built-in defaults (no torch, no scipy)."""

from __future__ import annotations

import copy

# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------

#: Built-in settings; ``segment.<preset>`` in config.yaml overrides any of them.
DEFAULT_SETTINGS: dict = {
    "window_s": 0.001, "hop_s": 0.001, "f_lo_hz": 25_000.0, "n_freq": 96, "n_frames": 96, "size": 0,
    "pad_s": 0.01, "dynamic_range_db": 50.0,
    "noise_per_call": 0.2, "test_fraction": 0.25, "val_fraction": 0.1, "max_calls_per_recording": None,
    "seed": 0,
    "squeakout_width": 1.0, "squeakout_last_channels": 1280, "unet_base": 64, "unet_depth": 4,
    "lr": 1e-4, "batch_size": 8, "max_epochs": 200, "batches_per_epoch": None, "plateau_patience": 5,
    "early_stop_patience": 15,
    "refine": {"unet_base": 64, "unet_depth": 4, "pretrain_epochs": 5, "call_epochs": 10, "noise_epochs": 5,
               "max_rounds": 10, "lr": 1e-4, "batches_per_epoch": None, "noise_rehearsal": 1.0},
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
