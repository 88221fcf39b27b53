"""What the detectors share: the result types, the per-chunk call summary and the overview builder."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .params import CALL_COLUMNS


@dataclass
class Overview:
    """A coarse spectrogram of the whole recording for visual checks (dB, freq x time)."""

    image: np.ndarray
    t_edges: tuple[float, float]
    f_edges: tuple[float, float]


@dataclass
class Detections:
    """What a detector found in one recording."""

    calls: pd.DataFrame
    spectrograms: np.ndarray
    sample_rate: int
    duration_s: float
    method: str
    params: dict[str, Any] = field(default_factory=dict)
    overview: Overview | None = None

    def __len__(self) -> int:
        return len(self.calls)


# --------------------------------------------------------------------------------------------------
# shared helpers


def _empty_calls() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float) for c in CALL_COLUMNS})


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and stop (exclusive) indices of the True runs of a 1-D mask."""
    d = np.diff(np.concatenate(([0], mask.view(np.int8), [0])))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def _merge_runs(starts: np.ndarray, stops: np.ndarray, max_gap: int) -> tuple[np.ndarray, np.ndarray]:
    """Merge runs separated by fewer than ``max_gap`` frames."""
    if len(starts) < 2:
        return starts, stops
    new = np.r_[True, (starts[1:] - stops[:-1]) >= max_gap]
    idx = np.flatnonzero(new)
    return starts[idx], np.maximum.reduceat(stops, idx)


class _OverviewBuilder:
    """Accumulates a coarse dB spectrogram (at most ``max_cols`` time columns, the detector's own
    frequency bins) while streaming, so drawing a long recording needs no second pass."""

    def __init__(self, duration_s: float, f_lo: float, f_hi: float, max_cols: int = 4000):
        self.col_s = max(0.002, duration_s / max_cols)
        self.ncols = max(1, int(math.ceil(duration_s / self.col_s)))
        self.f_lo, self.f_hi = f_lo, f_hi
        self.duration_s = duration_s
        self.freqs: np.ndarray | None = None
        self.sum = np.zeros((0, self.ncols))
        self.cnt = np.zeros(self.ncols, np.int64)
        self._lock = threading.Lock()  # chunks are added from worker threads

    def add(self, times: np.ndarray, freqs: np.ndarray, power: np.ndarray, own: np.ndarray) -> None:
        """``power`` is (time, freq); only frames flagged ``own`` are added (no double counting)."""
        if not own.any():
            return
        cols = np.clip((times[own] / self.col_s).astype(int), 0, self.ncols - 1)
        with self._lock:
            if self.freqs is None:
                self.freqs = np.asarray(freqs, float)
                self.sum = np.zeros((len(freqs), self.ncols))
            np.add.at(self.sum.T, cols, power[own])
            np.add.at(self.cnt, cols, 1)

    def result(self) -> Overview:
        with np.errstate(divide="ignore", invalid="ignore"):
            img = 10 * np.log10(np.maximum(self.sum / np.maximum(self.cnt, 1), 1e-30))
        img[:, self.cnt == 0] = np.nan
        f = self.freqs if self.freqs is not None and len(self.freqs) > 1 else np.array([self.f_lo, self.f_hi])
        return Overview(img.astype(np.float32), (0.0, self.duration_s), (float(f[0]), float(f[-1])))


@dataclass
class _ChunkCalls:
    onset: np.ndarray
    offset: np.ndarray
    f_min: np.ndarray
    f_max: np.ndarray
    f_mean: np.ndarray
    amp: np.ndarray
    snr: np.ndarray
    score: np.ndarray
    at_end: np.ndarray  # the call runs into the chunk's last frame (may continue in the next chunk)

    @staticmethod
    def empty() -> "_ChunkCalls":
        z = np.zeros(0)
        return _ChunkCalls(z, z, z, z, z, z, z, z, np.zeros(0, bool))

    def select(self, keep: np.ndarray) -> "_ChunkCalls":
        return _ChunkCalls(*(getattr(self, f)[keep] for f in self.__dataclass_fields__))


def _run_frames(starts: np.ndarray, stops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All frame indices of the (sorted, disjoint) runs and, for each, the index of its run."""
    lens = stops - starts
    run = np.repeat(np.arange(len(starts)), lens)
    frames = np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens) + starts[run]
    return frames, run


def _summarise(starts, stops, t_on, t_off, contour_f, contour_db, contour_amp, score_t, pad,
               margin: int = 0, valid: np.ndarray | None = None) -> _ChunkCalls:
    """Per-call statistics over frames ``starts[i]:stops[i]``; frequencies only from ``valid`` frames
    (where the contour is above the noise), when any. The contour arrays are indexed by frame and
    need only be filled inside the runs."""
    n = len(starts)
    if n == 0:
        return _ChunkCalls.empty()
    starts = np.asarray(starts, np.int64)
    stops = np.asarray(stops, np.int64)
    fr, run = _run_frames(starts, stops)
    seg = np.cumsum(stops - starts) - (stops - starts)  # first position of each run in ``fr``
    use = np.ones(len(fr), bool)
    if valid is not None:
        v = valid[fr]
        has = np.add.reduceat(v.astype(np.int64), seg) > 0
        use = v | ~has[run]
    f = np.asarray(contour_f, float)[fr]
    w = np.where(use, np.power(10.0, np.clip(np.asarray(contour_db, float)[fr], -50, 100) / 10), 0.0)
    f_min = np.minimum.reduceat(np.where(use, f, np.inf), seg)
    f_max = np.maximum.reduceat(np.where(use, f, -np.inf), seg)
    f_mean = np.add.reduceat(f * w, seg) / np.add.reduceat(w, seg)
    amp = np.maximum.reduceat(np.asarray(contour_amp, float)[fr], seg)
    snr = np.maximum.reduceat(np.asarray(contour_db, float)[fr], seg)
    sc = np.maximum.reduceat(np.asarray(score_t, float)[fr], seg)
    at_end = stops >= len(t_on) - margin
    if callable(pad):
        pad = pad(sc)
    return _ChunkCalls(t_on[starts] - pad, t_off[stops - 1] + pad, f_min, f_max, f_mean, amp, snr, sc, at_end)
