"""Which FF line recovers the truth better: the spectrogram peak or the line read inside a SqueakOut mask."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ..audio.io import read_wav
from ..simulate.recording import load_truth
from .crops import CropGrid, _resize, crop_at, recording_floor

# --------------------------------------------------------------------------------------------
# Features from masks
# --------------------------------------------------------------------------------------------


def ff_line_from_mask(power: np.ndarray, mask: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """FF(t): per frame, the frequency of the loudest pixel inside the mask (NaN where the mask is empty).

    The peak is refined to sub-bin precision by a parabola through the log power of its neighbours, so a
    mask a few bins wide does not quantise the line.
    """
    power = np.asarray(power, float)
    mask = np.asarray(mask, bool)
    ff = np.full(power.shape[1], np.nan)
    cols = np.flatnonzero(mask.any(axis=0))
    if cols.size == 0:
        return ff
    db = 10 * np.log10(np.maximum(power, 1e-20))
    masked = np.where(mask, db, -np.inf)
    k = np.argmax(masked[:, cols], axis=0)
    df = float(freqs[1] - freqs[0]) if len(freqs) > 1 else 0.0
    for c, kk in zip(cols, k):
        off = 0.0
        if 0 < kk < power.shape[0] - 1:
            a, b, d = db[kk - 1, c], db[kk, c], db[kk + 1, c]
            den = a - 2 * b + d
            off = float(np.clip(0.5 * (a - d) / den, -0.5, 0.5)) if den < 0 else 0.0
        ff[c] = freqs[kk] + off * df
    return ff


def truth_ff_line(contours: dict[str, np.ndarray], call_id: int, times: np.ndarray, hop_s: float) -> np.ndarray:
    """The truth's FF on a frame grid: mean contour frequency within ± half a hop (NaN outside or in gaps)."""
    sel = contours["call_index"] == call_id
    ct, cf = contours["t"][sel], contours["f"][sel].astype(float)
    out = np.full(times.size, np.nan)
    for j, t in enumerate(times):
        w = (ct >= t - hop_s / 2) & (ct < t + hop_s / 2)
        v = cf[w]
        v = v[~np.isnan(v)]
        if v.size:
            out[j] = v.mean()
    return out


# --------------------------------------------------------------------------------------------
# Which FF source recovers the truth's features better
# --------------------------------------------------------------------------------------------


def _line_metrics(est: np.ndarray, truth_ff: np.ndarray, truth_duration_s: float, hop_s: float,
                  complete: bool) -> dict[str, float]:
    """Errors of one estimated FF line (NaN = no estimate) against the truth's line on the same frames."""
    voiced = ~np.isnan(truth_ff)
    have = ~np.isnan(est)
    both = voiced & have
    out = dict(coverage=float(both.sum() / max(1, voiced.sum())),
               spurious=float((have & ~voiced).sum() / max(1, have.sum())) if have.any() else np.nan,
               ff_mae_khz=float(np.mean(np.abs(est[both] - truth_ff[both])) / 1e3) if both.any() else np.nan,
               mean_freq_err_khz=(float(abs(np.nanmean(est) - np.nanmean(truth_ff)) / 1e3)
                                  if have.any() and voiced.any() else np.nan),
               duration_err_ms=np.nan)
    if complete and have.any():
        idx = np.flatnonzero(have)
        out["duration_err_ms"] = float(abs((idx[-1] - idx[0] + 1) * hop_s - truth_duration_s) * 1e3)
    return out


def compare_ff_sources(data: dict, rows: np.ndarray, masks: dict[str, np.ndarray], samples: pd.DataFrame,
                       truth_dir: str | Path, channel: int | str = 0, margin_s: float = 0.006,
                       log: Callable[[str], None] = print) -> pd.DataFrame:
    """Per test call: FF line from the spectrogram peak (the features stage's ``ff_line``) and from masks.

    ``rows`` index the dataset's crops; ``masks`` maps a source name to masks for those rows (e.g. SqueakOut's
    prediction, the truth as an oracle). Every line is read within the detection ± ``margin_s`` and scored
    against the truth call that overlaps the detection most: FF error, mean-frequency error, duration error
    (calls wholly inside the crop) and coverage of the truth's voiced frames.
    """
    from ..features.columns import resolve_params
    from ..features.extract import ff_line

    grid = CropGrid(**data["grid"])
    meta = data["meta"]
    p = resolve_params({"hop_s": grid.hop_s, "window_s": grid.window_s})
    out = []
    for rec, idx in pd.Series(np.arange(len(rows)), index=meta.loc[rows, "recording"].to_numpy()).groupby(level=0):
        x, fs = read_wav(samples.loc[rec, "path"], channel=channel)
        calls, _, contours = load_truth(truth_dir, rec)
        floor = recording_floor(x, fs, grid, max_s=60.0)
        for k in idx.to_numpy():
            m = meta.loc[rows[k]]
            on, off = float(m["onset_s"]), float(m["offset_s"])
            if grid.size:
                a, b = max(0.0, on - grid.pad_s), off + grid.pad_s
            else:
                mid = 0.5 * (on + off)
                a, b = max(0.0, mid - grid.n_frames * grid.hop_s / 2), mid + grid.n_frames * grid.hop_s / 2
            power, freqs, times = crop_at(x, fs, a, b, grid)
            ov = np.minimum(calls["offset_s"], off) - np.maximum(calls["onset_s"], on)
            if not len(calls) or ov.max() <= 0:
                continue  # a false detection: no truth line to compare with
            tc = calls.iloc[int(np.argmax(ov.to_numpy()))]
            sel = (times >= on - margin_s) & (times <= off + margin_s)
            if sel.sum() < 2:
                continue
            complete = bool(times[0] <= tc["onset_s"] and times[-1] >= tc["offset_s"])
            truth_ff = truth_ff_line(contours, int(tc["call_id"]), times[sel], grid.hop_s)
            nf = min(len(freqs), floor.size)
            ff, first, last, _ = ff_line(power[:nf, sel], floor[:nf], freqs[:nf], p)
            peak = np.full(int(sel.sum()), np.nan)
            if ff.size:
                seg = np.where(ff > 0, ff, np.nan)
                peak[first:last + 1] = seg
            row = dict(recording=rec, crop=int(rows[k]), call_id=int(tc["call_id"]), call_type=tc["call_type"],
                       truth_duration_ms=float(tc["duration_s"]) * 1e3, complete=complete)
            for name, line in [("peak", peak)] + [
                    (src, ff_line_from_mask(power[:, sel], _as_native(mk[k], power.shape)[:, sel], freqs))
                    for src, mk in masks.items()]:
                for key, val in _line_metrics(line, truth_ff, float(tc["duration_s"]), grid.hop_s,
                                              complete).items():
                    row[f"{name}_{key}"] = val
            out.append(row)
        log(f"{rec}: {int((pd.DataFrame(out)['recording'] == rec).sum()) if out else 0} calls compared")
    return pd.DataFrame(out)


def _as_native(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A mask on the crop's native grid (512×512 masks are resized back, nearest neighbour)."""
    return mask if mask.shape == tuple(shape) else _resize(mask, shape, 0) > 0.5
