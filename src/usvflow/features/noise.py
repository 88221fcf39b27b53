"""How noise-like a detected call is: a measure of its image, and (on simulated data) the simulator's word.

A detected "call" can be mostly noise: a low-frequency broadband block (the animal moving), or a click
lighting a whole column of the image. :func:`image_noise_measures` scores the paper's 100 × 100 call image
(rows 25-125 kHz, 1 kHz each; columns 1 ms; 0-255 over the call's dB range) without any truth, so it works
on real recordings too; :func:`truth_noise` reads, for simulated recordings, which noise event (if any) the
matched true call overlaps (the truth table's ``noise_overlap``), so the image measure can be checked.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

LOW_ROWS = 15  # image rows 0-14: 25-40 kHz, below almost every mouse USV
LOW_SHARE = 0.2  # noise-like when more than this share of the image's level lies in those rows ...
LOUD = 0.5  # ... or when one column has pixels at >= LOUD x its maximum (itself >= LOUD) over
BROAD_ROWS = 30  # at least this many rows (30 kHz): a click or a broadband burst


def image_noise_measures(images: np.ndarray) -> pd.DataFrame:
    """Per call image: ``low_share`` (share of the summed level in 25-40 kHz), ``broadest_khz`` (the most
    rows any loud column spans at half its maximum, in kHz) and ``noise_like`` (either above its threshold)."""
    if np.ndim(images) != 3 or not len(images):
        return pd.DataFrame(columns=["low_share", "broadest_khz", "noise_like"])
    parts = [_measure(np.asarray(images[i:i + 2000], np.float32) / 255.0) for i in range(0, len(images), 2000)]
    return pd.concat(parts, ignore_index=True)


def _measure(x: np.ndarray) -> pd.DataFrame:
    total = x.sum(axis=(1, 2))
    low = x[:, :LOW_ROWS, :].sum(axis=(1, 2)) / np.maximum(total, 1e-9)
    top = x.max(axis=1, keepdims=True)
    lit = ((x >= LOUD * top) & (top >= LOUD)).sum(axis=1)  # rows per column at half the column's peak
    broadest = lit.max(axis=1).astype(float)
    return pd.DataFrame({"low_share": low, "broadest_khz": broadest,
                         "noise_like": (low > LOW_SHARE) | (broadest >= BROAD_ROWS)})


def truth_noise(table: pd.DataFrame, truth: dict[str, pd.DataFrame]) -> pd.Series:
    """For each detected call of ``table`` (``recording``, ``reference_index``), the simulated noise event its
    matched true call overlaps (``none``, ``click``, ``movement``, ``burst``...), ``unmatched`` for a detection
    without a true partner, and NaN where the recording has no truth (real data)."""
    out = []
    for rec, ref in zip(table["recording"].astype(str), table["reference_index"].to_numpy()):
        calls = truth.get(rec)
        if calls is None or "noise_overlap" not in calls:
            out.append(np.nan)
        elif ref < 0 or ref >= len(calls):
            out.append("unmatched")
        else:
            out.append(str(calls["noise_overlap"].iloc[int(ref)]))
    return pd.Series(out, index=table.index, dtype=object)
