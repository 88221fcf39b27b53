"""How noise-like a detected call is: a measure of its image, and (on simulated data) the simulator's word.

A detected "call" can be mostly noise: a low-frequency broadband block (the animal moving), or a click
lighting a whole column of the image. :func:`image_noise_measures` scores the paper's 100 × 100 call image
(rows 25-125 kHz, 1 kHz each; columns 1 ms; 0-255 over the call's dB range) without any truth, so it works
on real recordings too; :func:`truth_noise` reads, for simulated recordings, which noise event (if any) the
matched true call overlaps (the truth table's ``noise_overlap``), so the image measure can be checked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..detect.evaluate import Score, _as_intervals, match, read_intervals

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


def drop_effect(truth, detected, noise_like, iou_threshold: float = 0.3) -> dict[str, float]:
    """What dropping the noise-like detections does against a reference (human annotations or simulated truth).

    ``truth`` and ``detected``: (n, 2) onset/offset intervals (or tables, see
    :func:`usvflow.detect.evaluate.score`); ``noise_like``: one flag per detection. Matching is the detection
    benchmark's (one-to-one, temporal IoU ≥ ``iou_threshold``). Returns counts and rates: ``n_true``,
    ``n_detected``, ``n_noise_like``; ``tp_noise_like`` / ``tp_other`` (matched detections of each kind, all
    detections matched together) and their precisions; ``recall``/``f1`` with all detections kept and
    ``tp_drop``/``recall_drop``/``f1_drop`` with the noise-like ones dropped (the rest matched again); ``calls_lost``:
    reference calls matched when keeping but not after dropping."""
    t, d = _as_intervals(truth), _as_intervals(detected)
    flag = np.asarray(noise_like, bool).reshape(-1)
    if len(flag) != len(d):
        raise ValueError(f"{len(flag)} noise-like flags for {len(d)} detections")
    pairs = match(t, d, iou_threshold)
    hit = np.zeros(len(d), bool)
    hit[[j for _, j, _ in pairs]] = True
    kept = np.flatnonzero(~flag)
    pairs_drop = match(t, d[kept], iou_threshold)
    keep, drop = Score.from_counts(len(t), len(d), len(pairs)), Score.from_counts(len(t), len(kept), len(pairs_drop))
    n_noise, tp_noise, tp_other = int(flag.sum()), int((hit & flag).sum()), int((hit & ~flag).sum())
    return {"n_true": len(t), "n_detected": len(d), "n_noise_like": n_noise,
            "tp_noise_like": tp_noise, "precision_noise_like": tp_noise / n_noise if n_noise else float("nan"),
            "tp_other": tp_other,
            "precision_other": tp_other / (len(d) - n_noise) if len(d) > n_noise else float("nan"),
            "recall": keep.recall, "f1": keep.f1, "recall_drop": drop.recall, "f1_drop": drop.f1,
            "tp_drop": len(pairs_drop), "calls_lost": len({i for i, _, _ in pairs} - {i for i, _, _ in pairs_drop})}


def pool_effects(rows: list[dict[str, float]]) -> dict[str, float]:
    """:func:`drop_effect` results of several recordings pooled: counts added, rates recomputed from them."""
    keys = ("n_true", "n_detected", "n_noise_like", "tp_noise_like", "tp_other", "tp_drop", "calls_lost")
    c = {k: int(sum(r[k] for r in rows)) for k in keys}
    tp, tp_drop = c["tp_noise_like"] + c["tp_other"], c["tp_drop"]
    n_kept = c["n_detected"] - c["n_noise_like"]

    def ratio(a: float, b: float) -> float:
        return a / b if b else float("nan")

    return {**c, "precision_noise_like": ratio(c["tp_noise_like"], c["n_noise_like"]),
            "precision_other": ratio(c["tp_other"], n_kept), "recall": ratio(tp, c["n_true"]),
            "f1": ratio(2 * tp, c["n_true"] + c["n_detected"]), "recall_drop": ratio(tp_drop, c["n_true"]),
            "f1_drop": ratio(2 * tp_drop, c["n_true"] + n_kept)}


def clip_noise_effect(wav: str | Path, truth_path: str | Path, params: dict | None = None,
                      iou_threshold: float = 0.3) -> dict[str, float]:
    """The default detector (``params`` over its defaults) on one annotated recording: its call images, the
    ones the dataset stage reads (:func:`usvflow.detect.detect_file`), scored by :func:`image_noise_measures`,
    and :func:`drop_effect` of the noise-like ones against the annotations in ``truth_path``."""
    from ..detect.stream import detect_file

    det = detect_file(wav, "default", params=params)
    flags = image_noise_measures(det.spectrograms)["noise_like"].to_numpy(bool)
    return drop_effect(read_intervals(truth_path), det.calls[["onset_s", "offset_s"]], flags, iou_threshold)
