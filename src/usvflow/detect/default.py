"""The project's detector (method ``default``), steps 1-5 of :mod:`usvflow.detect` on one chunk."""

from __future__ import annotations

import math

import numpy as np

from ..audio.stft import band_power as _band_power
from ..audio.stft import frame_grid as _frame_grid
from ..audio.stft import frame_view as _frames
from ..audio.stft import hann, hop_samples, rfft_freqs, window_samples
from .calls import (
    _ChunkCalls,
    _merge_runs,
    _OverviewBuilder,
    _run_frames,
    _runs,
    _summarise,
)

# The default detector works on (frequency, time) float32 arrays: a filter along frequency is then a
# shifted operation on whole contiguous rows, which numpy vectorises well. It runs in blocks of
# frames small enough to stay in the CPU caches (memory bandwidth, not arithmetic, limits it, all the
# more on a shared machine), and makes no scipy.ndimage or BLAS call (which may hold the GIL or spin
# threads), so two chunk threads really run in parallel.

_BLOCK = 1024  # frames per block: the working arrays (~100 bins x 1024 frames, float32) stay in L2/L3


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
    n = window_samples(p["window_s"], sr)
    hop = hop_samples(p["hop_s"], sr)
    k0, first, count = _frame_grid(chunk_start, len(x), n, hop)
    if count < 3:
        return _ChunkCalls.empty()
    win = hann(n)
    freqs = rfft_freqs(n, sr)
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
