"""Names of the per-call features, scored properties and vectors (Ivanenko et al. 2020), and their settings.

Constants only (numpy): every later stage imports these without pulling in scikit-image.
"""

from __future__ import annotations

from typing import Any

import numpy as np

PROPERTIES = ["direction", "peaks", "breaks", "broadband", "tremolo", "complexity"]

#: The 18 extracted single-value features, column name → the paper's name.
FEATURE_NAMES: dict[str, str] = {
    "spectral_width_hz": "Spectral Width",
    "duration_s": "Duration",
    "f_start_hz": "Starting Frequency",
    "f_end_hz": "Ending Frequency",
    "f_min_ff_hz": "Minimal Frequency",
    "f_max_ff_hz": "Maximal Frequency",
    "mean_frequency_hz": "Average Frequency (FF)",
    "mean_frequency_weighted_hz": "Average Frequency (intensity-weighted)",
    "temporal_skewness": "Temporal Skewness",
    "temporal_kurtosis": "Temporal Kurtosis",
    "spectral_skewness": "Spectral Skewness",
    "spectral_kurtosis": "Spectral Kurtosis",
    "ff_direction": "Direction (sign of mean FF step)",
    "wiener_entropy": "Spectral Flatness (Wiener Entropy)",
    "spectral_salience": "Spectral Salience",
    "ff_tremolo": "Tremolo (salience of FF)",
    "volume_db": "Spectral Energy (average volume)",
    "spectral_purity": "Spectral Purity",
}
FEATURE_COLUMNS = list(FEATURE_NAMES)
PROPERTY_NAMES = {"direction": "Direction", "peaks": "Peaks", "breaks": "Breaks", "broadband": "Broadband",
                  "tremolo": "Tremolo", "complexity": "Complexity"}
#: The paper's 24 single-value features: 18 extracted + the 6 scored properties.
FEATURES_24 = FEATURE_COLUMNS + PROPERTIES
#: Inputs of the paper's Features-to-Sex DNN: duration, average frequency, average volume, 6 properties.
FEATURES_9 = ["duration_s", "mean_frequency_hz", "volume_db"] + PROPERTIES
NAMES_9 = {"duration_s": "Duration", "mean_frequency_hz": "Average frequency", "volume_db": "Average volume",
           **PROPERTY_NAMES}
AUTO_COLUMNS = [f"auto_{p}" for p in PROPERTIES]
EXTRA_COLUMNS = ["ff_onset_s", "ff_offset_s", "n_ff_bins"]

VECTOR_LEN = 100
VECTOR_STEP_S = 0.001
N_SPECTRAL = 233
SPECTRAL_GRID_HZ = np.linspace(25_000.0, 125_000.0, N_SPECTRAL)

DEFAULT_PARAMS: dict[str, Any] = {
    "window_s": 500 / 300_000,  # the paper's 500-sample window at 300 kHz
    "hop_s": 250 / 300_000,  # 50 % overlap
    "f_lo_hz": 25_000.0,
    "f_hi_hz": 125_000.0,  # capped at Nyquist
    "margin_s": 0.006,  # audio kept either side of the detection (detectors pad or clip a little)
    "chunk_s": 10.0,
    "tv_weight": 0.08,  # total-variation strength on the [0, 1]-scaled whitened dB image
    "edge_scale": 4.0,  # MATLAB edge(): squared gradient above scale x its mean
    "edge_min_db": 9.0,  # an edge must border sound this far above the floor (denoised)
    "support_db": 6.0,  # the denoised spectrogram keeps bins this far above the floor (denoised image)
    "denoised_floor_db": 60.0,  # Wiener entropy: empty bins of the denoised spectrogram, dB below the call's peak
    "interp_jump_hz": 5_000.0,  # the paper's single-bin replacement rule
    "min_segment_s": 0.002,
    "min_ff_s": 0.0015,  # an FF line shorter than this (in voiced time) is noise: the call gets NaN features  # shorter pieces at the ends of FF, cut off by a break or jump, are noise
    "duration_offset_s": 0.0,  # added to (last - first) x hop; see estimate_duration
    # auto-scoring
    "flat_slope_hz_per_s": 1.0e5,  # |slope| below 0.1 kHz/ms is flat (as the simulator's truth)
    "jump_hz": 6_000.0,  # a step between neighbouring FF bins larger than this (and unlike its neighbours) is a break
    "edge_band_hz": 3_000.0,  # FF pieces this close to f_lo_hz are low-frequency noise, not a piece of the call
    "peak_prominence_hz": 3_000.0,
    "min_break_bins": 1,
    "broadband_db": 12.0,  # a bin is broadband when energy this far above the floor ...
    "broadband_width_hz": 12_000.0,  # ... spans this much frequency away from FF and its harmonic
    "broadband_min_bins": 3,  # 2.5 ms: longer than a click
    "tremolo_salience": 0.25,
    "tremolo_min_depth_hz": 700.0,
    "tremolo_period_s": [0.004, 0.025],
}


def resolve_params(params: dict | None = None) -> dict[str, Any]:
    """:data:`DEFAULT_PARAMS` updated by ``params``; unknown names are refused."""
    out = dict(DEFAULT_PARAMS)
    for key, value in (params or {}).items():
        if key not in out:
            raise ValueError(f"unknown feature parameter {key!r}")
        out[key] = value
    return out
