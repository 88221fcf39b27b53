"""Detector settings: the call table's columns, the paper's image geometry and each method's defaults."""

from __future__ import annotations

from typing import Any

CALL_COLUMNS = ["onset_s", "offset_s", "f_min_hz", "f_max_hz", "f_mean_hz", "peak_amplitude", "snr_db", "score"]
METHODS = ("default", "paper")

#: The paper's call image: 100 x 100, 1 ms per column (100 ms max), 1 kHz per row from 25 kHz.
IMAGE_SIZE = 100
IMAGE_T_STEP_S = 0.001
IMAGE_F_LO_HZ = 25_000.0
IMAGE_F_STEP_HZ = 1_000.0

_IMAGE_PARAMS = {
    # 500 samples at the paper's 300 kHz, in seconds so images look alike at any sample rate.
    "image_window_s": 500 / 300_000,
    "image_dynamic_range_db": 60.0,
    # What 255 means: "call" = each call's own maximum (level-free images), "full_scale" = a full-scale
    # sine (0 dBFS), so a call's level stays in its image, as in the paper's images cut from one
    # uint8 spectrogram per recording.
    "image_level": "call",
    # Bins less than this many dB above the median bin of the call's image are set to 0 (None: kept).
    "image_floor_margin_db": 10.0,
    # "default" (1 ms x 1 kHz per pixel) or "paper" (the Methods' N x 233 rescaled to M x 100): detect.images.
    "image_format": "default",
}

DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "default": {
        "chunk_s": 12.0,  # working memory ~ 15 MB per second of chunk at 300 kHz
        "overlap_s": 1.0,  # > 2 x (longest call + merge gap): every call fits whole in one chunk
        "window_s": 0.001,
        "hop_s": 0.0005,
        "f_lo_hz": 30_000.0,
        "f_hi_hz": 120_000.0,  # capped at 98 % of Nyquist
        "freq_smooth_hz": 3_000.0,
        "floor_quantile": 0.25,  # share of quietest frames of each 0.5 s block that define its noise floor
        "floor_window_s": 4.0,  # a block is whitened with the median floor of the blocks this close ...
        "floor_regime_db": 3.0,  # ... whose noise level is this close to its own (None: all of them)
        "tonal_db": 2.0,  # floor bins this far above their 15 kHz neighbourhood are stationary lines
        "floor_min_dbfs": -120.0,
        "ring_inner_hz": 2_000.0,
        "ring_outer_hz": 8_000.0,
        "broadband_penalty": 0.3,  # extra dB of contrast required per dB of local broadband level
        "ridge_s": 0.001,  # half-length of ridge integration
        "ridge_slope_hz_per_s": 4.0e6,  # 4 kHz/ms: steepest FM the ridge follows between frames
        "threshold_db": 8.5,
        "hysteresis_db": 6.5,
        "merge_gap_s": 0.015,
        # Trajectory bridging (see _bridges): a fragment continues the previous one's frequency across
        # a gap of up to bridge_gap_s when the ridge along the way is missing for no longer than
        # bridge_fade_s (3-8 ms fades inside calls); bridge_db: the 90th percentile of the local ridge
        # score (no broadband penalty, best of 5 bins) in white noise.
        "bridge_gap_s": 0.03,
        "bridge_df_hz": 4_000.0,
        "bridge_db": 3.5,
        "bridge_fade_s": 0.008,
        # A fragment whose strongest bin lies elsewhere (a louder noise band) still continues a
        # trajectory where it holds the hysteresis level within bridge_df_hz of it (False/None: only the
        # strongest bins are compared).
        "bridge_near": True,
        # Sustained evidence (see segments._with_sustained): where the best ridge score, averaged over
        # sustain_s, stands sustain_db above its median over the 0.5 s block, a faint call is there even
        # if it never reaches threshold_db. Fixed, not chosen on clips: pure noise's 5 ms average stays
        # below 1.5 dB over minutes (at 250 and 300 kHz), and sustain_db stands 1.5 dB above that, as
        # threshold_db does above the ridge score pure noise reaches (7 dB). None: off.
        "sustain_db": 3.0,
        "sustain_s": 0.005,
        "min_duration_s": 0.0035,  # shorter runs are dropped ...
        "short_call_db": 15.0,  # ... but a run this strong is a call from 2 x ridge_s on
        "max_duration_s": 0.45,  # longer runs are split-free noise beds, not calls (mouse USVs <= 300 ms)
        "pad_s": 0.004,  # added at both ends of a call found at the threshold ...
        "pad_fade_db": 10.0,  # ... and less for stronger ones, none above threshold + this
        **_IMAGE_PARAMS,
    },
    "paper": {
        "chunk_s": 20.0,
        "overlap_s": 1.0,
        "highpass_hz": 25_000.0,
        "highpass_order": 4,
        "window_samples": 500,
        "overlap_fraction": 0.5,
        "sparsity_percentile": 70.0,
        "energy_percentile": 99.8,
        "continuity_steps": 4,
        "continuity_threshold_bins": 15,
        "min_mean_frequency_hz": 25_000.0,
        "merge_gap_s": 0.015,
        "min_duration_s": 0.0,  # the Methods set no duration limit
        **_IMAGE_PARAMS,
    },
}


def resolve_params(method: str, params: dict | None = None) -> dict[str, Any]:
    """The method's defaults updated by ``params``; unknown names are refused (typos fail loudly)."""
    if method not in DEFAULT_PARAMS:
        raise ValueError(f"unknown detection method {method!r}; choose one of {', '.join(METHODS)}")
    out = dict(DEFAULT_PARAMS[method])
    for key, value in (params or {}).items():
        if key not in out:
            raise ValueError(f"unknown parameter {key!r} for detection method {method!r}")
        numeric = isinstance(out[key], (int, float)) and value is not None  # None switches an option off
        out[key] = type(out[key])(value) if numeric else value
    if out["overlap_s"] >= out["chunk_s"]:
        raise ValueError("overlap_s must be shorter than chunk_s")
    return out
