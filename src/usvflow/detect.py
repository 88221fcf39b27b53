"""Finding ultrasonic vocalizations (USVs) in long recordings.

Two detectors share one streaming frame (:func:`detect_file`):

``paper``
    Ivanenko et al. 2020 (Methods, "Data processing and extraction of vocalizations"), step by step:
    4th-order Butterworth high-pass at 25 kHz; |FFT| of 500-sample Hann windows with 50 % overlap;
    values below the 70th percentile of the whole spectrogram set to zero; a frame is kept when any
    bin exceeds the 99.8th percentile (energy) and the peak frequency moves little (spectral
    continuity: frequency jumps of the peak, summed over 4 steps forwards and backwards, the smaller
    sum below 15 bins); runs of kept frames whose energy-weighted mean frequency is below 25 kHz are
    dropped; calls closer than 15 ms are merged. The percentiles are of the *whole recording*, so
    this method reads the file twice (a histogram pass, then detection); memory stays bounded.

``default``
    The project's detector. Everything is set in seconds and Hz, so it behaves the same at 250 and
    300 kHz. Per chunk:

    1. power spectrogram (1 ms Hann windows, 0.5 ms hop) of the USV band, lightly smoothed across
       frequency;
    2. *whitening*: each frequency bin is divided by its noise floor, measured on the quietest frames
       of the chunk (so constant tonal bands, coloured noise and low-frequency leakage flatten out,
       and dense bouts or bursts do not inflate the floor);
    3. *local spectral contrast*: each bin minus the mean level 2-8 kHz to either side (a narrowband
       call stands out; broadband clicks, bursts and clipping splatter do not), with a penalty that
       grows with the local broadband level, because the spectra of loud bursts carry ripples and
       resonances that look like faint tones;
    4. *ridge integration*: contrast summed along the best path through +/-1 ms of neighbouring frames
       whose frequency may drift by up to 4 kHz/ms, which rewards contours and suppresses isolated
       noise bins (a cheap, vectorised stand-in for contour tracking);
    5. per frame, the best ridge score; hysteresis (a call must reach ``threshold_db`` somewhere and
       extends while above ``hysteresis_db``), gaps shorter than ``merge_gap_s`` merged (harmonics and
       two-syllable calls stay one call because detection works on time, not on blobs), too-short
       runs dropped, and a small ``pad_s`` added at both ends for the faint onset and offset below
       the noise.

    The thresholds are in dB of ridge contrast; with the default settings pure Gaussian noise stays
    below about 7 dB over minutes, at either sample rate.

    Speed: steps 1-5 run on float32 (frequency, time) arrays in cache-sized blocks of frames, the Hann
    window is applied in the frequency domain (so the FFT reads the recording's frames in place), only
    the band's bins are kept, and nothing calls BLAS or holds the GIL for long, so the two chunk
    threads run in parallel; about 35 ms of CPU per 12 s chunk at 300 kHz (~350x real time per core).

Both detectors stream the file in chunks (:func:`usvflow.io.iter_chunks`) that overlap by
``overlap_s``. Each chunk reports only the calls that start in its own stretch of the recording, and a
call that overlaps one already reported from the previous chunk is dropped, so a call across a chunk
boundary is found exactly once. Memory is bounded by the chunk size whatever the file length.

Outputs (:class:`Detections`)
    ``calls``: one row per call, columns :data:`CALL_COLUMNS` (times in s from the file start,
    frequencies in Hz of the peak contour, ``peak_amplitude`` as the amplitude of a full-scale-1.0 sine
    that would give the call's strongest spectral peak, ``snr_db`` above the noise floor, ``score`` the
    detector's own evidence in dB).

    ``spectrograms``: the paper's representation, an ``(n, 100, 100)`` uint8 array (memory-mapped from
    an anonymous temporary file, copy-on-write, so long recordings need no more memory), one image per call:
    rows are frequency (row 0 = ``IMAGE_F_LO_HZ``, 1 kHz per row, up to 125 kHz), columns are time
    (1 ms per column from the onset; calls longer than 100 ms are truncated, shorter calls fill the
    left columns and the rest is 0 — the same scale for every call, so the aspect ratio is kept);
    values are dB relative to the call's maximum (``image_level="call"``) or to a full-scale sine
    (``"full_scale"``, which keeps the call's level), ``image_dynamic_range_db`` mapped to 0..255; the default
    method first takes off each row the excess of the recording's stationary noise floor over its median
    (tonal bands, low-frequency leakage); with either method, bins less than ``image_floor_margin_db`` above
    the median bin of the call's image are set to 0 (the paper's sparse images). The images show the call,
    not the recording: no grey floor whose level would tell a network each recording's noise level.
    :func:`save_spectrograms` writes them to an ``.npz`` file with the time/frequency axes.
"""

from __future__ import annotations

import math
import os
import queue
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
import scipy.fft as sfft
import scipy.signal as sps
from numpy.lib.stride_tricks import sliding_window_view

from .errors import InputError
from .io import Channel, inspect_wav, iter_chunks, _resolve_channel

__all__ = [
    "CALL_COLUMNS",
    "DEFAULT_PARAMS",
    "METHODS",
    "Detections",
    "detect_file",
    "detect_array",
    "resolve_params",
    "save_spectrograms",
    "load_spectrograms",
    "write_raven",
    "plot_overview",
]

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
        "floor_quantile": 0.25,  # share of quietest frames that define the noise floor
        "floor_min_dbfs": -120.0,
        "ring_inner_hz": 2_000.0,
        "ring_outer_hz": 8_000.0,
        "broadband_penalty": 0.3,  # extra dB of contrast required per dB of local broadband level
        "ridge_s": 0.001,  # half-length of ridge integration
        "ridge_slope_hz_per_s": 4.0e6,  # 4 kHz/ms: steepest FM the ridge follows between frames
        "threshold_db": 8.5,
        "hysteresis_db": 6.5,
        "merge_gap_s": 0.015,
        "min_duration_s": 0.0035,
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


def _frames(x: np.ndarray, n: int, hop: int, first: int, count: int) -> np.ndarray:
    return sliding_window_view(x, n)[first : first + count * hop : hop]


def _frame_grid(chunk_start: int, n_samples: int, n: int, hop: int) -> tuple[int, int, int]:
    """Frames on the recording-wide grid (frame k starts at sample k*hop) that fit in the chunk:
    (index of the first frame, its offset in the chunk, number of frames)."""
    k0 = -(-chunk_start // hop)
    first = k0 * hop - chunk_start
    count = 0 if n_samples - first < n else (n_samples - first - n) // hop + 1
    return k0, first, count


def _image_axes() -> tuple[np.ndarray, np.ndarray]:
    times = np.arange(IMAGE_SIZE) * IMAGE_T_STEP_S
    freqs = IMAGE_F_LO_HZ + np.arange(IMAGE_SIZE) * IMAGE_F_STEP_HZ
    return times, freqs


def _call_images(x: np.ndarray, sr: int, chunk_start: int, onsets: np.ndarray, offsets: np.ndarray,
                 p: dict, floor: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """The paper's 100 x 100 uint8 image of each call (see module docstring).

    ``floor``: the chunk's noise floor (frequencies in Hz, log10 power) from the default detector. Where it
    stands above its median over the image rows (a constant tonal band, low-frequency leakage), the excess
    is taken off each row before scaling. Such stationary noise belongs to the recording, not the call: left
    in, a network trained on a few recordings learns "tonal band at X kHz" as a trait of the animal.

    All calls of a chunk are done at once (one gather, one FFT) and the bins are interpolated to the
    1 kHz rows with two taps per row: no BLAS call, whose spinning worker threads would compete with the
    chunk threads for the cores, and no per-call Python work but one median (the background level)."""
    out = np.zeros((len(onsets), IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    if len(onsets) == 0:
        return out
    n = max(16, int(round(p["image_window_s"] * sr)))
    win = sps.windows.hann(n, sym=False).astype(np.float32)
    freqs = sfft.rfftfreq(n, 1 / sr)
    _, rows = _image_axes()
    # Linear interpolation from FFT bins to 1 kHz rows; rows beyond Nyquist stay 0.
    inside = rows <= freqs[-1]
    j = np.clip(np.searchsorted(freqs, rows, side="right") - 1, 0, len(freqs) - 2)
    w = ((rows - freqs[j]) / (freqs[j + 1] - freqs[j])).astype(np.float32)
    ncol = np.clip(np.ceil((offsets - onsets) / IMAGE_T_STEP_S - 1e-9), 1, IMAGE_SIZE).astype(int)
    call = np.repeat(np.arange(len(onsets)), ncol)
    col = np.arange(len(call)) - np.repeat(np.cumsum(ncol) - ncol, ncol)
    # Column c is the window centred on onset + (c + 0.5) ms.
    centres = (onsets * sr - chunk_start)[call] + (col + 0.5) * (IMAGE_T_STEP_S * sr)
    starts = np.round(centres - n / 2).astype(np.int64)
    ok = (starts >= 0) & (starts + n <= len(x))
    if not ok.any():
        return out
    call, col, starts = call[ok], col[ok], starts[ok]
    spec = sfft.rfft(sliding_window_view(x, n)[starts] * win, axis=1, workers=1)
    spec = np.square(spec.real) + np.square(spec.imag)
    img = spec[:, j] * (1 - w) + spec[:, j + 1] * w  # (columns, rows)
    img[:, ~inside] = 0
    db = 10 * np.log10(np.maximum(img, 1e-30))
    if floor is not None and inside.any():
        row_floor = 10 * np.interp(rows, floor[0], floor[1])
        excess = np.maximum(row_floor - np.median(row_floor[inside]), 0.0).astype(np.float32)
        db -= excess[None, :]
    dr = p["image_dynamic_range_db"]
    first = np.flatnonzero(np.r_[True, call[1:] != call[:-1]])
    bounds = np.r_[first, len(call)]
    if p.get("image_level", "call") == "full_scale":
        # A sine of amplitude 1 peaks at (sum(win) / 2)^2 in this power spectrum.
        top = np.full(len(call), 20 * np.log10(float(win.sum()) / 2), np.float32)
    else:
        top = np.repeat(np.maximum.reduceat(db.max(axis=1), first), np.diff(bounds))  # each call's maximum
    scaled = np.clip((db - (top - dr)[:, None]) / dr, 0, 1) * 255
    margin = p.get("image_floor_margin_db")
    if margin is not None and inside.any():
        # The paper's sparse images: background bins are set to 0. A call covers a few of the 100 rows,
        # so the median bin of its image is background; without this, the floor's grey level tells the
        # network each recording's noise level (and, relative to the call, its SNR).
        med = np.array([np.median(db[a:b][:, inside]) for a, b in zip(bounds[:-1], bounds[1:])], np.float32)
        scaled[db < np.repeat(med, np.diff(bounds))[:, None] + margin] = 0
    out[call, :, col] = np.round(scaled).astype(np.uint8)
    return out


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


# --------------------------------------------------------------------------------------------------
# default detector


# The default detector works on (frequency, time) float32 arrays: a filter along frequency is then a
# shifted operation on whole contiguous rows, which numpy vectorises well. It runs in blocks of
# frames small enough to stay in the CPU caches (memory bandwidth, not arithmetic, limits it, all the
# more on a shared machine), and makes no scipy.ndimage or BLAS call (which may hold the GIL or spin
# threads), so two chunk threads really run in parallel.

_BLOCK = 1024  # frames per block: the working arrays (~100 bins x 1024 frames, float32) stay in L2/L3


def _band_power(frames: np.ndarray, n: int, b0: int, b1: int, workers: int, out: np.ndarray) -> None:
    """4 x the power of a periodic-Hann STFT of ``frames`` in bins ``b0..b1-1`` into ``out``
    (bins, frames), float32.

    The window is applied in the frequency domain (periodic Hann: X_w[k] = X[k]/2 - (X[k-1] + X[k+1])/4,
    exact), so the FFT reads the strided frames directly instead of a windowed copy, and only the band
    is combined. The factor 4 is left in: it cancels wherever the power is compared with the floor."""
    X = sfft.rfft(frames, axis=1, workers=workers)  # (frames, n//2 + 1)
    if b0 >= 1 and b1 + 1 <= n // 2 + 1:
        E = np.ascontiguousarray(X[:, b0 - 1 : b1 + 1].T)  # (bins, frames): rows contiguous
    else:  # bins outside 0..n/2 are conjugates of their mirror images
        m = np.arange(b0 - 1, b1 + 1) % n
        mirror = m > n // 2
        m[mirror] = n - m[mirror]
        E = np.ascontiguousarray(X[:, m].T)
        E[mirror] = E[mirror].conj()
    H = E[:-2] + E[2:]
    H *= -0.5
    H += E[1:-1]
    np.square(H.real, out=out)
    out += np.square(H.imag)


def _window_reduce(A: np.ndarray, width: int, op) -> np.ndarray:
    """``op`` (np.add or np.maximum) over rows j .. j + width - 1, for every full window: O(log width)
    passes (windows of 1, 2, 4, ... rows, then the set bits of ``width`` combined)."""
    out_len = len(A) - width + 1
    parts = []
    offset = 0
    level, size = A, 1  # level[j] = op over rows j .. j + size - 1
    while True:
        if width & size:
            parts.append(level[offset : offset + out_len])
            offset += size
        if 2 * size > width:
            break
        level = op(level[:-size], level[size:])
        size *= 2
    if len(parts) == 1:
        return parts[0]  # may be a view of ``A``: callers only read it
    acc = op(parts[0], parts[1])
    for part in parts[2:]:
        op(acc, part, out=acc)
    return acc


def _box_sum_nearest(A: np.ndarray, size: int) -> np.ndarray:
    """Sum over ``size`` rows with the edge rows repeated: ``size`` x ``uniform_filter1d(..., 'nearest')``."""
    lo, hi = size // 2, size - 1 - size // 2
    F = len(A)
    if size <= 1:
        return A.copy()
    if F < size + 1:
        return _window_reduce(np.concatenate([np.repeat(A[:1], lo, 0), A, np.repeat(A[-1:], hi, 0)]),
                              size, np.add)
    out = np.empty_like(A)
    out[lo : F - hi] = _window_reduce(A, size, np.add)
    for k in list(range(lo)) + list(range(F - hi, F)):  # the few edge rows
        idx = np.clip(np.arange(k - lo, k + hi + 1), 0, F - 1)
        out[k] = A[idx].sum(axis=0)
    return out


class _Contrast:
    """Steps 2-4 of the default detector on blocks of frames, sharing the chunk's noise floor."""

    def __init__(self, F: int, log_floor: np.ndarray, floor_min: float, inner: int, outer: int,
                 penalty: float, half: int, drift: int):
        self.F, self.log_floor, self.floor_min = F, log_floor[:, None], np.float32(floor_min)
        self.inner, self.outer, self.penalty = inner, outer, penalty
        self.half, self.drift = half, drift

    def block(self, W: np.ndarray, lo: int, out: np.ndarray) -> None:
        """Ridge score (sum over the path, log10 units) of frames ``lo .. lo + out.shape[1]`` of the
        smoothed power ``W`` (which holds ``half`` frames of context either side where they exist) into
        ``out`` (bins, frames)."""
        F, o, i, h, d = self.F, self.outer, self.inner, self.half, self.drift
        # Whitened level, log10 units, with ``outer`` edge rows repeated for the ring.
        Lp = np.empty((F + 2 * o, W.shape[1]), np.float32)
        L = Lp[o : o + F]
        np.maximum(W, self.floor_min, out=L)
        np.log10(L, out=L)
        L -= self.log_floor
        Lp[:o] = L[0]
        Lp[o + F :] = L[-1]
        # Local spectral contrast: level minus (1 + penalty) x the positive part of the mean level
        # inner+1 .. outer bins to either side.
        box = _window_reduce(Lp, o - i, np.add)
        ring = np.add(box[:F], box[o + i + 1 : o + i + 1 + F])
        np.maximum(ring, 0, out=ring)
        ring *= -(1.0 + self.penalty) / (2 * (o - i))
        # Ridge: the contrast plus, for each frame at distance j, its max over +/- j*drift bins (bins
        # beyond the band do not exist: -inf).
        pad = d * h
        Cp = np.empty((F + 2 * pad, W.shape[1]), np.float32)
        np.add(L, ring, out=Cp[pad : pad + F])
        Cp[:pad] = -np.inf
        Cp[pad + F :] = -np.inf
        n_out = out.shape[1]
        out[:] = Cp[pad : pad + F, lo : lo + n_out]
        M = Cp
        for j in range(1, h + 1):
            M = _window_reduce(M, 2 * d + 1, np.maximum)
            Mj = M[(h - j) * d : (h - j) * d + F]
            for shift in (-j, j):  # frames beyond the chunk add nothing
                a = max(0, -(lo + shift))
                b = min(n_out, W.shape[1] - lo - shift)
                if b > a:
                    out[:, a:b] += Mj[:, lo + shift + a : lo + shift + b]


def _pad(peak: np.ndarray, p: dict) -> np.ndarray:
    """Padding of each call: faint calls lose their onset and offset below the noise, strong ones
    do not, so ``pad_s`` applies in full at the detection threshold and fades to 0 over
    ``pad_fade_db`` of extra score."""
    if p["pad_fade_db"] <= 0:
        return np.full(len(peak), p["pad_s"])
    share = np.clip(1 - (peak - p["threshold_db"]) / p["pad_fade_db"], 0, 1)
    return p["pad_s"] * share


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


def _scratch(buf: dict | None, name: str, shape: tuple[int, int]) -> np.ndarray:
    """An uninitialised float32 array, reusing ``buf[name]``'s storage when it is large enough."""
    size = shape[0] * shape[1]
    if buf is None:
        return np.empty(shape, np.float32)
    if name not in buf or buf[name].size < size:
        buf[name] = np.empty(size, np.float32)
    return buf[name][:size].reshape(shape)


def _default_chunk(x: np.ndarray, sr: int, chunk_start: int, p: dict, overview: _OverviewBuilder | None,
                   own: tuple[float, float], buf: dict | None = None) -> _ChunkCalls:
    """Calls in one chunk. ``buf``: arrays to reuse from chunk to chunk (the three chunk-sized ones),
    so that long runs of threads do not fragment the heap and memory stays flat with file length."""
    n = max(16, int(round(p["window_s"] * sr)))
    hop = max(1, int(round(p["hop_s"] * sr)))
    k0, first, count = _frame_grid(chunk_start, len(x), n, hop)
    if count < 3:
        return _ChunkCalls.empty()
    win = sps.windows.hann(n, sym=False)
    freqs = sfft.rfftfreq(n, 1 / sr)
    band = np.flatnonzero((freqs >= p["f_lo_hz"]) & (freqs <= min(p["f_hi_hz"], 0.98 * sr / 2)))
    if len(band) < 8:
        raise ValueError("the detection band holds too few frequency bins; widen f_lo_hz..f_hi_hz")
    b0, b1 = band[0], band[-1] + 1
    F = b1 - b0
    df = freqs[1] - freqs[0]
    fb = freqs[b0:b1]
    times = (k0 + np.arange(count)) * hop / sr + n / (2 * sr)  # frame centres, s
    smooth = max(1, int(round(p["freq_smooth_hz"] / df)))

    # 1. Power (x 4, see _band_power) and its sum over ``smooth`` neighbouring bins (W); the constant
    # factors cancel against the noise floor, which is measured on W itself.
    frames = _frames(x, n, hop, first, count)
    P4 = _scratch(buf, "P4", (F, count))
    W = _scratch(buf, "W", (F, count))
    step = _BLOCK
    for a in range(0, count, step):
        _band_power(frames[a : a + step], n, b0, b1, p["_fft_workers"], P4[:, a : a + step])
        W[:, a : a + step] = _box_sum_nearest(P4[:, a : a + step], smooth)
    if overview is not None:
        overview.add(times, fb, 0.25 * P4.T, (times >= own[0]) & (times < own[1]))

    # 2. Noise floor per bin from the quietest frames: robust to dense bouts and long bursts.
    energy = W.sum(axis=0)
    quiet = energy <= np.quantile(energy, p["floor_quantile"])
    # Digitally silent stretches (synthetic or float files) would make the floor 0; treat them as
    # white noise at ``floor_min_dbfs`` so levels stay finite.
    floor_min = 10 ** (p["floor_min_dbfs"] / 10) * float(np.sum(win**2)) * 4 * smooth
    log_floor = np.log10(np.maximum(W[:, quiet].mean(axis=1), floor_min)).astype(np.float32)
    if buf is not None:
        buf["_image_floor"] = (fb.copy(), log_floor.copy())  # for the call images (see _call_images)

    # 3-4. Contrast and ridge, block by block (each block sees ``half`` frames either side).
    inner = max(1, int(round(p["ring_inner_hz"] / df)))
    outer = max(inner + 1, int(round(p["ring_outer_hz"] / df)))
    half = max(0, int(round(p["ridge_s"] / p["hop_s"])))
    drift = max(1, int(round(p["ridge_slope_hz_per_s"] * p["hop_s"] / df)))
    con = _Contrast(F, log_floor, floor_min, inner, outer, p["broadband_penalty"], half, drift)
    R = _scratch(buf, "R", (F, count))
    for a in range(0, count, _BLOCK):
        c0, c1 = max(0, a - half), min(count, a + _BLOCK + half)
        con.block(W[:, c0:c1], a - c0, R[:, a : a + _BLOCK])
    # 5. Per frame, the best ridge: mean contrast along the path, in dB.
    s = R.max(axis=0).astype(float) * (10.0 / (2 * half + 1))

    lo = s > p["hysteresis_db"]
    starts, stops = _runs(lo)
    if len(starts) == 0:
        return _ChunkCalls.empty()
    peak = np.maximum.reduceat(s, starts)
    keep = peak > p["threshold_db"]
    starts, stops = starts[keep], stops[keep]
    hop_s = hop / sr
    starts, stops = _merge_runs(starts, stops, int(math.ceil(p["merge_gap_s"] / hop_s)))
    dur = (stops - starts) * hop_s
    keep = (dur >= p["min_duration_s"]) & (dur <= p["max_duration_s"])
    starts, stops = starts[keep], stops[keep]
    if len(starts) == 0:
        return _ChunkCalls.empty()
    # Contour of the call (its frames only): frequency, level above floor and sine amplitude at the
    # ridge's peak bin.
    fr, _ = _run_frames(starts, stops)
    best = R[:, fr].argmax(axis=0)
    contour_f = np.zeros(count)
    contour_db = np.zeros(count)
    contour_amp = np.zeros(count)
    contour_f[fr] = fb[best]
    contour_db[fr] = 10 * (np.log10(np.maximum(W[best, fr], floor_min)) - log_floor[best])
    contour_amp[fr] = np.sqrt(P4[best, fr]) / win.sum()  # 2 x sqrt(power) / sum(window)
    # Within half a ridge length of the chunk's end the evidence is incomplete too.
    return _summarise(starts, stops, times - hop_s / 2, times + hop_s / 2, contour_f, contour_db,
                      contour_amp, s, lambda peak: _pad(peak, p), margin=half + 1, valid=lo)


# --------------------------------------------------------------------------------------------------
# paper detector


class _PaperSpectrogram:
    """High-pass + |FFT| frames exactly as the paper, on the recording-wide frame grid."""

    def __init__(self, sr: int, p: dict):
        self.sr = sr
        self.n = int(p["window_samples"])
        self.hop = max(1, int(round(self.n * (1 - p["overlap_fraction"]))))
        self.win = sps.windows.hann(self.n, sym=False).astype(np.float32)
        self.freqs = sfft.rfftfreq(self.n, 1 / sr)
        self.sos = sps.butter(int(p["highpass_order"]), p["highpass_hz"], btype="highpass", fs=sr, output="sos")

    def magnitude(self, x: np.ndarray, first: int, count: int, workers: int = -1) -> np.ndarray:
        frames = _frames(x, self.n, self.hop, first, count) * self.win
        return np.abs(sfft.rfft(frames, axis=1, workers=workers))


def _paper_thresholds(path, channel, info, sp: _PaperSpectrogram, p: dict, progress) -> tuple[float, float]:
    """Pass 1: the 70th and 99.8th percentiles of |FFT| over the whole recording, from a fine
    log-histogram (0.001 decade bins: quantiles within 0.25 %), so memory does not grow with length."""
    lo_dec, hi_dec, res = -12.0, 6.0, 1e-3
    edges_n = int(round((hi_dec - lo_dec) / res))
    hist = np.zeros(edges_n + 2, np.int64)  # + underflow / overflow
    zi = np.zeros((sp.sos.shape[0], 2))
    tail = np.zeros(0, np.float32)
    consumed = 0  # samples of the filtered signal handed to framing so far
    for chunk in progress(iter_chunks(path, p["chunk_s"], 0.0, channel)):
        y, zi = sps.sosfilt(sp.sos, chunk.samples, zi=zi)
        buf = np.concatenate([tail, y.astype(np.float32)])
        start = consumed - len(tail)
        k0, first, count = _frame_grid(start, len(buf), sp.n, sp.hop)
        if count > 0:
            mag = sp.magnitude(buf, first, count)
            with np.errstate(divide="ignore"):
                lg = np.log10(np.maximum(mag.ravel(), 10 ** (lo_dec - 1)))
            idx = np.clip(((lg - lo_dec) / res).astype(np.int64) + 1, 0, edges_n + 1)
            hist += np.bincount(idx, minlength=len(hist))
            next_start = (k0 + count) * sp.hop - start
        else:
            next_start = first
        tail = buf[next_start:]
        consumed += len(y)
    total = hist.sum()
    if total == 0:
        return math.inf, math.inf
    cdf = np.cumsum(hist) / total

    def q(pct: float) -> float:
        i = int(np.searchsorted(cdf, pct / 100.0))
        if i == 0:
            return 0.0
        return float(10 ** (lo_dec + (i - 0.5) * res))

    return q(p["sparsity_percentile"]), q(p["energy_percentile"])


def _paper_chunk(x: np.ndarray, sr: int, chunk_start: int, p: dict, sp: _PaperSpectrogram,
                 thresholds: tuple[float, float], overview, own) -> _ChunkCalls:
    # The high-pass starts from rest at each chunk; its transient (< 1 ms) lies in the overlap.
    y = sps.sosfilt(sp.sos, x).astype(np.float32)
    k0, first, count = _frame_grid(chunk_start, len(y), sp.n, sp.hop)
    if count < 3:
        return _ChunkCalls.empty()
    S = sp.magnitude(y, first, count, p["_fft_workers"])
    times = (k0 + np.arange(count)) * sp.hop / sr + sp.n / (2 * sr)
    if overview is not None:
        keep_f = (sp.freqs >= overview.f_lo) & (sp.freqs <= overview.f_hi)
        overview.add(times, sp.freqs[keep_f], S[:, keep_f] ** 2, (times >= own[0]) & (times < own[1]))
    sparse_thr, energy_thr = thresholds
    S[S < sparse_thr] = 0.0
    energy_ok = S.max(axis=1) > energy_thr
    peak_bin = S.argmax(axis=1)
    jumps = np.abs(np.diff(peak_bin)).astype(float)  # jumps[i]: between frames i and i+1
    k = int(p["continuity_steps"])
    csum = np.concatenate(([0.0], np.cumsum(jumps)))
    idx = np.arange(count)
    fwd_end = np.minimum(idx + k, count - 1)
    bwd_start = np.maximum(idx - k, 0)
    forward = csum[fwd_end] - csum[idx]
    backward = csum[idx] - csum[bwd_start]
    continuous = np.minimum(forward, backward) < p["continuity_threshold_bins"]
    starts, stops = _runs(energy_ok & continuous)
    if len(starts) == 0:
        return _ChunkCalls.empty()
    # Mean frequency of each run (energy-weighted over the sparse spectrogram).
    tot = S.sum(axis=1)
    fsum = np.einsum("tf,f->t", S, sp.freqs)  # not a BLAS call: its spinning threads would steal the cores
    cs_t = np.concatenate(([0.0], np.cumsum(tot)))
    cs_f = np.concatenate(([0.0], np.cumsum(fsum)))
    mean_f = (cs_f[stops] - cs_f[starts]) / np.maximum(cs_t[stops] - cs_t[starts], 1e-30)
    keep = mean_f >= p["min_mean_frequency_hz"]
    starts, stops = starts[keep], stops[keep]
    hop_s = sp.hop / sr
    starts, stops = _merge_runs(starts, stops, int(math.ceil(p["merge_gap_s"] / hop_s)))
    keep = (stops - starts) * hop_s >= p["min_duration_s"]
    starts, stops = starts[keep], stops[keep]
    contour_f = sp.freqs[peak_bin]
    peak_mag = S[idx, peak_bin]
    noise = max(sparse_thr, 1e-30)
    contour_db = 20 * np.log10(np.maximum(peak_mag, 1e-30) / noise)
    contour_amp = 2 * peak_mag / sp.win.sum()
    score = 20 * np.log10(np.maximum(S.max(axis=1), 1e-30) / max(energy_thr, 1e-30))
    return _summarise(starts, stops, times - hop_s / 2, times + hop_s / 2, contour_f, contour_db,
                      contour_amp, score, 0.0, margin=k + 1, valid=energy_ok & continuous)


# --------------------------------------------------------------------------------------------------
# driver


class _ImageSpool:
    """Call images written to an anonymous temporary file as they come and handed back memory-mapped
    (copy-on-write), so the images of a long recording (10 kB per call, ~85 MB per hour of a busy
    recording) do not pile up in memory: peak memory does not grow with the recording's length."""

    def __init__(self) -> None:
        self._fh = None
        self.n = 0

    def append(self, imgs: np.ndarray) -> None:
        if len(imgs) == 0:
            return
        if self._fh is None:
            import tempfile

            self._fh = tempfile.TemporaryFile()  # already unlinked: gone when the mapping is
        self._fh.write(np.ascontiguousarray(imgs, np.uint8).data)
        self.n += len(imgs)

    def array(self) -> np.ndarray:
        if self.n == 0:
            return np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.uint8)
        self._fh.flush()
        arr = np.memmap(self._fh, np.uint8, mode="c", shape=(self.n, IMAGE_SIZE, IMAGE_SIZE))
        self._fh.close()  # the mapping keeps its own handle
        return arr


def _no_progress(it: Iterable, **_: Any) -> Iterable:
    return it


def detect_file(
    path: str | Path,
    method: str = "default",
    params: dict | None = None,
    channel: Channel = 0,
    progress: bool = False,
    overview: bool = False,
    min_sample_rate_hz: int | None = None,
    jobs: int = 0,
) -> Detections:
    """Detect USVs in one WAV file.

    Parameters
    ----------
    path: the recording (PCM or float WAV, any number of channels).
    method: ``"default"`` (the project's detector) or ``"paper"`` (Ivanenko et al. 2020 Methods).
    params: overrides of :data:`DEFAULT_PARAMS` ``[method]`` (unknown names raise ``ValueError``).
    channel: 0-based channel index, or ``"mean"`` to average all channels.
    progress: show a tqdm progress bar (chunks of the file).
    overview: also build a coarse spectrogram of the whole recording (for :func:`plot_overview`).
    jobs: chunks processed in parallel (threads); 0 = up to 2, as many as there are CPU cores.
        Results do not depend on it.

    Raises :class:`~usvflow.errors.InputError` for files that cannot be used (one-line message). A
    silent or noise-only recording gives an empty table with the usual columns.
    """
    p = resolve_params(method, params)
    kw = {} if min_sample_rate_hz is None else {"min_sample_rate_hz": min_sample_rate_hz}
    info = inspect_wav(path, **kw)
    channel = _resolve_channel(info, channel)
    sr = info.sample_rate
    if method == "paper" and p["highpass_hz"] >= sr / 2:
        raise InputError(path, f"sample rate {sr} Hz is too low for a {p['highpass_hz']:.0f} Hz high-pass")

    size = max(1, int(round(p["chunk_s"] * sr)))
    overlap = int(round(p["overlap_s"] * sr))
    step = size - overlap
    n_chunks = 1 + max(0, math.ceil((info.frames - size) / step))
    if method == "paper":
        n_chunks += math.ceil(info.frames / size)  # the histogram pass

    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_chunks, unit="chunk", desc=f"detect {Path(path).name}", leave=False)

        def prog(it):
            for item in it:
                yield item
                bar.update(1)
    else:
        bar = None
        prog = _no_progress

    f_lo = p.get("f_lo_hz", IMAGE_F_LO_HZ)
    f_hi = min(p.get("f_hi_hz", 125_000.0), sr / 2)
    ov = _OverviewBuilder(info.duration_s, f_lo, f_hi) if overview else None
    sp = _PaperSpectrogram(sr, p) if method == "paper" else None
    thresholds = _paper_thresholds(path, channel, info, sp, {**p, "_fft_workers": -1}, prog) if sp else None

    parts: list[pd.DataFrame] = []
    images = _ImageSpool()
    last_offset = -math.inf
    # Chunks run on a small thread pool (numpy and pocketfft release the GIL; the call images are made
    # in the workers too); results are taken in file order and at most ``jobs + 1`` chunks are in memory.
    jobs = max(1, int(jobs if jobs else min(2, os.cpu_count() or 1)))
    p_run = {**p, "_fft_workers": 1 if jobs > 1 else -1}

    dur = info.duration_s
    slack = 0.05
    scratch: queue.SimpleQueue = queue.SimpleQueue()

    def work(chunk):
        is_first = chunk.start == 0
        is_last = chunk.stop >= info.frames
        # This chunk's own stretch: from the middle of the overlap with the previous chunk to the
        # middle of the overlap with the next one.
        own_lo = 0.0 if is_first else (chunk.start + overlap / 2) / sr
        own_hi = math.inf if is_last else (chunk.start + step + overlap / 2) / sr
        if sp is None:
            try:  # one set of scratch arrays per thread at work, handed from chunk to chunk
                buf = scratch.get_nowait()
            except queue.Empty:
                buf = {}
            buf.pop("_image_floor", None)
            found = _default_chunk(chunk.samples, sr, chunk.start, p_run, ov, (own_lo, own_hi), buf)
            floor = buf.pop("_image_floor", None)
            scratch.put(buf)
        else:
            floor = None  # the paper's method keeps the paper's plain spectrogram images
            found = _paper_chunk(chunk.samples, sr, chunk.start, p_run, sp, thresholds, ov, (own_lo, own_hi))
        # Calls starting in this stretch (with a little slack, since neighbouring chunks may place an
        # onset a frame apart), except one running into the end of a chunk that is not the file's end
        # (the next chunk sees it whole). Their images are made here, in the worker thread.
        mine = (found.onset >= own_lo - slack) & (found.onset < own_hi + slack)
        if not is_last:
            mine &= ~found.at_end
        found = found.select(mine)
        on, off = np.clip(found.onset, 0, dur), np.clip(found.offset, 0, dur)
        return found, on, off, _call_images(chunk.samples, sr, chunk.start, on, off, p, floor)

    def results():
        if jobs == 1:
            for chunk in prog(iter_chunks(path, p["chunk_s"], p["overlap_s"], channel, **kw)):
                yield work(chunk)
            return
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            pending: deque = deque()
            for chunk in prog(iter_chunks(path, p["chunk_s"], p["overlap_s"], channel, **kw)):
                pending.append(pool.submit(work, chunk))
                if len(pending) > jobs:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    try:
        for found, on, off, imgs in results():
            # A call overlapping one already reported (its duplicate from the previous chunk) is dropped.
            mine = found.onset >= last_offset
            if not mine.any():
                continue
            found = found.select(mine)
            df = pd.DataFrame(
                {
                    "onset_s": on[mine],
                    "offset_s": off[mine],
                    "f_min_hz": found.f_min,
                    "f_max_hz": found.f_max,
                    "f_mean_hz": found.f_mean,
                    "peak_amplitude": found.amp,
                    "snr_db": found.snr,
                    "score": found.score,
                }
            )
            images.append(imgs[mine])
            parts.append(df)
            last_offset = float(df["offset_s"].iloc[-1])
    finally:
        if bar is not None:
            bar.close()
    calls = pd.concat(parts, ignore_index=True) if parts else _empty_calls()
    calls = calls[CALL_COLUMNS].astype(float)
    specs = images.array()
    return Detections(calls, specs, sr, info.duration_s, method, p, ov.result() if ov else None)


def detect_array(samples: np.ndarray, sample_rate: int, method: str = "default", params: dict | None = None,
                 tmp_dir: str | Path | None = None) -> Detections:
    """Convenience for in-memory signals (tests, notebooks): writes a float WAV and runs :func:`detect_file`."""
    import tempfile

    from .io import write_wav

    with tempfile.TemporaryDirectory(dir=tmp_dir) as d:
        path = Path(d) / "signal.wav"
        write_wav(path, np.asarray(samples, np.float32), sample_rate, subtype="FLOAT")
        return detect_file(path, method, params)


# --------------------------------------------------------------------------------------------------
# writers


def save_spectrograms(path: str | Path, det: Detections) -> None:
    """Write the call images as a compressed ``.npz``.

    Arrays: ``spectrograms`` (n, 100, 100) uint8 [call, frequency row, time column]; ``onset_s`` and
    ``offset_s`` (n,) of each call; ``time_s`` (100,) offset of each column from the onset;
    ``freq_hz`` (100,) centre of each row; ``sample_rate``; ``method``; ``dynamic_range_db`` (the dB
    span mapped to 0..255); ``level_reference`` (``call``: 255 is each call's maximum, ``full_scale``: a
    full-scale sine); ``floor_margin_db`` (background bins below this margin are 0; NaN: kept).
    """
    times, freqs = _image_axes()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        spectrograms=det.spectrograms,
        onset_s=det.calls["onset_s"].to_numpy(float),
        offset_s=det.calls["offset_s"].to_numpy(float),
        time_s=times,
        freq_hz=freqs,
        sample_rate=np.int64(det.sample_rate),
        method=np.str_(det.method),
        dynamic_range_db=np.float64(det.params.get("image_dynamic_range_db", np.nan)),
        level_reference=np.str_(det.params.get("image_level", "call")),
        floor_margin_db=np.float64(np.nan if det.params.get("image_floor_margin_db") is None
                                   else det.params["image_floor_margin_db"]),
    )


def load_spectrograms(path: str | Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


RAVEN_COLUMNS = ["Selection", "View", "Channel", "Begin Time (s)", "End Time (s)", "Low Freq (Hz)",
                 "High Freq (Hz)", "Peak Freq (Hz)", "Score", "SNR (dB)"]


def write_raven(path: str | Path, calls: pd.DataFrame, channel: int = 1) -> None:
    """Raven Pro selection table (tab-separated), one spectrogram selection per call."""
    n = len(calls)
    df = pd.DataFrame(
        {
            "Selection": np.arange(1, n + 1),
            "View": ["Spectrogram 1"] * n,
            "Channel": [channel] * n,
            "Begin Time (s)": calls["onset_s"].round(6).to_numpy(),
            "End Time (s)": calls["offset_s"].round(6).to_numpy(),
            "Low Freq (Hz)": calls["f_min_hz"].round(1).to_numpy(),
            "High Freq (Hz)": calls["f_max_hz"].round(1).to_numpy(),
            "Peak Freq (Hz)": calls["f_mean_hz"].round(1).to_numpy(),
            "Score": calls["score"].round(3).to_numpy(),
            "SNR (dB)": calls["snr_db"].round(2).to_numpy(),
        },
        columns=RAVEN_COLUMNS,
    )
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, sep="\t", index=False, lineterminator="\n")


def plot_overview(det: Detections, out_png: str | Path, title: str | None = None) -> None:
    """A PNG of the whole recording's coarse spectrogram with each detection drawn as a box."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if det.overview is None:
        raise ValueError("run detect_file(..., overview=True) to build the overview")
    ov = det.overview
    width = float(np.clip(det.duration_s / 2.0, 10, 40))
    fig, ax = plt.subplots(figsize=(width, 4))
    img = ov.image
    finite = img[np.isfinite(img)]
    vmin, vmax = (np.percentile(finite, [20, 99.9]) if finite.size else (0, 1))
    ax.imshow(img, origin="lower", aspect="auto", cmap="gray_r", vmin=vmin, vmax=vmax,
              extent=(ov.t_edges[0], ov.t_edges[1], ov.f_edges[0] / 1e3, ov.f_edges[1] / 1e3),
              interpolation="nearest")
    for on, off, lo, hi in det.calls[["onset_s", "offset_s", "f_min_hz", "f_max_hz"]].to_numpy():
        ax.add_patch(plt.Rectangle((on, lo / 1e3 - 1), off - on, (hi - lo) / 1e3 + 2, fill=False,
                                   edgecolor="tab:red", linewidth=0.8))
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency (kHz)")
    ax.set_title(title or f"{len(det.calls)} calls ({det.method} detector)")
    fig.tight_layout()
    Path(out_png).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
