"""The project's detector (method ``default``), steps 1-5 of :mod:`usvflow.detect` on one chunk: the evidence
(ridge scores per frame and bin) that segmentation (:mod:`usvflow.detect.segments`, step 6) turns into calls."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..audio.stft import band_power as _band_power
from ..audio.stft import frame_grid as _frame_grid
from ..audio.stft import frame_view as _frames
from ..audio.stft import hann, hop_samples, rfft_freqs, window_samples
from .calls import _OverviewBuilder

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
        self.fill = None  # stationary lines whose level the ring interpolates (see set_floor)

    def set_floor(self, log_floor: np.ndarray, fill) -> None:
        """Whiten the next blocks against ``log_floor`` (bins,). ``fill``: the floor's stationary lines
        (:func:`_tonal_fills`; None: none), whose level the ring that their neighbours are compared with
        takes interpolated across them. Whitened against a floor that holds the line, such a bin becomes
        a notch as soon as noise rises around it (the line does not rise with the noise), and a notch in
        the ring makes the bins beside it look like a tone."""
        self.log_floor = log_floor[:, None]
        self.fill = fill

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
        if self.fill is not None:  # the ring sees the lines interpolated; the rows are restored after
            idx, below, above, w = self.fill
            kept = L[idx]  # a copy (fancy indexing)
            Lp[o + idx] = (1 - w)[:, None] * L[below] + w[:, None] * L[above]
            Lp[:o] = Lp[o]
            Lp[o + F :] = Lp[o + F - 1]
        # Local spectral contrast: level minus (1 + penalty) x the positive part of the mean level
        # inner+1 .. outer bins to either side.
        box = _window_reduce(Lp, o - i, np.add)
        if self.fill is not None:
            if np.shares_memory(box, Lp):  # a ring of one bin's width is Lp itself
                box = box.copy()
            L[idx] = kept
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


def _tonal_fills(floors: np.ndarray, tonal_db: float | None, df: float) -> list:
    """The stationary lines of each floor (rows of ``floors``, log10, blocks x bins): bins whose floor
    stands more than ``tonal_db`` above the running median of the floor (15 kHz). Per floor: (bins, the
    clean bin below and above each, weight of the one above), or None when there is none (or ``tonal_db``
    is None). The running medians of all floors are taken at once."""
    if tonal_db is None:
        return [None] * len(floors)
    F = floors.shape[1]
    width = min(F, max(3, int(round(15_000.0 / df)) | 1))
    padded = np.pad(floors.astype(np.float64), ((0, 0), (width // 2, width // 2)), mode="reflect")
    smooth = np.median(np.lib.stride_tricks.sliding_window_view(padded, width, axis=1), axis=2)[:, :F]
    lines = 10 * (floors - smooth) > tonal_db
    return [_fill_of(line) for line in lines]


def _fill_of(line: np.ndarray):
    """(bins, clean bin below and above each, weight of the one above) of the lines ``line`` (bins,) marks."""
    clean = np.flatnonzero(~line)
    if not line.any() or len(clean) == 0:
        return None
    idx = np.flatnonzero(line)
    pos = np.searchsorted(clean, idx)
    below = clean[np.clip(pos - 1, 0, len(clean) - 1)]
    above = clean[np.clip(pos, 0, len(clean) - 1)]
    below = np.where(pos == 0, above, below)
    above = np.where(pos == len(clean), below, above)
    w = np.where(above > below, (idx - below) / np.maximum(above - below, 1), 0.0).astype(np.float32)
    return idx, below, above, w


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


@dataclass
class _Evidence:
    """What steps 1-5 of the default detector leave for segmentation, for one chunk."""

    times: np.ndarray  # frame centres, s
    hop_s: float
    s: np.ndarray  # per frame, the best ridge's mean contrast, dB
    R: np.ndarray  # (bins, frames) ridge sums, log10 units (s = max over bins x 10 / (2 half + 1))
    W: np.ndarray  # (bins, frames) power smoothed across frequency
    P4: np.ndarray  # (bins, frames) 4 x power
    fb: np.ndarray  # bin frequencies, Hz
    log_floor: np.ndarray  # (bins,) noise floor of W, log10
    floor_min: float
    win_sum: float
    half: int  # ridge half-length, frames
    contrast: _Contrast  # steps 3-4, to recompute the ridge without the broadband penalty (see _plain_ridge)
    block_floors: np.ndarray  # (blocks of _BLOCK frames, bins) the floor each block is whitened with, log10
    fills: list  # per block, the floor's stationary lines (_tonal_fills)

def _default_evidence(x: np.ndarray, sr: int, chunk_start: int, p: dict, overview: _OverviewBuilder | None,
                      own: tuple[float, float], buf: dict | None = None) -> _Evidence | None:
    """Steps 1-5 of the default detector on one chunk (None when the chunk holds too few frames).
    ``buf``: arrays to reuse from chunk to chunk (the three chunk-sized ones), so that long runs of
    threads do not fragment the heap and memory stays flat with file length."""
    n = window_samples(p["window_s"], sr)
    hop = hop_samples(p["hop_s"], sr)
    k0, first, count = _frame_grid(chunk_start, len(x), n, hop)
    if count < 3:
        return None
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
    block_floors = _block_floors(W, energy, p, floor_min, hop / sr, log_floor)

    # 3-4. Contrast and ridge, block by block (each block sees ``half`` frames either side).
    inner = max(1, int(round(p["ring_inner_hz"] / df)))
    outer = max(inner + 1, int(round(p["ring_outer_hz"] / df)))
    half = max(0, int(round(p["ridge_s"] / p["hop_s"])))
    drift = max(1, int(round(p["ridge_slope_hz_per_s"] * p["hop_s"] / df)))
    con = _Contrast(F, log_floor, floor_min, inner, outer, p["broadband_penalty"], half, drift)
    R = _scratch(buf, "R", (F, count))
    fills = _tonal_fills(block_floors, p.get("tonal_db"), df)
    for k, a in enumerate(range(0, count, _BLOCK)):
        c0, c1 = max(0, a - half), min(count, a + _BLOCK + half)
        con.set_floor(block_floors[k], fills[k])
        con.block(W[:, c0:c1], a - c0, R[:, a : a + _BLOCK])
    # 5. Per frame, the best ridge: mean contrast along the path, in dB.
    s = R.max(axis=0).astype(float) * (10.0 / (2 * half + 1))
    return _Evidence(times, hop / sr, s, R, W, P4, fb, log_floor, floor_min, float(win.sum()), half, con,
                     block_floors, fills)


def _block_floors(W: np.ndarray, energy: np.ndarray, p: dict, floor_min: float, hop_s: float,
                  chunk_floor: np.ndarray) -> np.ndarray:
    """Step 2 over time: the floor each block of ``_BLOCK`` frames (0.5 s) is whitened with (log10, blocks x
    bins), so whitening follows broadband noise that rises or falls for seconds.

    Each block's own floor is the mean of its quietest ``floor_quantile`` of frames, and its noise level
    the median of that floor over frequency (a call occupies a few bins: it does not move the median). A
    block is then whitened with the median, bin by bin, of the own floors of the blocks within
    ``floor_window_s`` around it whose noise level is within ``floor_regime_db`` of its own: the floor of
    the noise regime the block is in, measured on several seconds of it. The median over blocks keeps
    calls out of the floor even in a dense bout (a bin holds a call in few of the blocks), and the regime
    keeps quieter or louder stretches out: a floor mixing the two (the quiet frames of a window are those
    of its quieter part) is too low for the louder part, and where calls of the quiet part leak into it,
    it holds bumps at their frequencies; whitened against it, the louder part shows notches, and the bins
    between notches look like tones. ``floor_window_s`` None or 0, or longer than the chunk: the chunk's
    floor."""
    F, count = W.shape
    n_blocks = -(-count // _BLOCK)
    win = p.get("floor_window_s")
    if not win or win / hop_s >= count:
        return np.repeat(chunk_floor[None, :], n_blocks, axis=0)
    own = np.empty((n_blocks, F), np.float64)
    full = count // _BLOCK  # the full blocks' quantiles at once
    q_full = np.quantile(energy[: full * _BLOCK].reshape(full, _BLOCK), p["floor_quantile"], axis=1)
    for j in range(n_blocks):
        a, b = j * _BLOCK, min(count, (j + 1) * _BLOCK)
        if b - a < _BLOCK // 4 and j > 0:  # a short last block is measured on the last full block's frames
            a = max(0, b - _BLOCK)
        e = energy[a:b]
        q = q_full[j] if j < full else np.quantile(e, p["floor_quantile"])
        quiet = np.flatnonzero(e <= q) + a
        own[j] = np.maximum(W[:, quiet].mean(axis=1), floor_min)
    level = np.log10(np.median(own, axis=1))
    reach = int(round(win / hop_s / 2 / _BLOCK))
    tol = np.inf if p.get("floor_regime_db") is None else p["floor_regime_db"] / 10
    out = np.empty((n_blocks, F), np.float32)
    for k in range(n_blocks):
        js = np.arange(max(0, k - reach), min(n_blocks, k + reach + 1))
        js = js[np.abs(level[js] - level[k]) <= tol]
        out[k] = np.log10(np.median(own[js], axis=0))
    return out


#: Settings of the default method that shape its evidence (steps 1-5); the others act on segmentation.
EVIDENCE_KEYS = ("window_s", "hop_s", "f_lo_hz", "f_hi_hz", "freq_smooth_hz", "floor_quantile", "floor_window_s",
                 "floor_regime_db", "floor_min_dbfs", "tonal_db", "ring_inner_hz", "ring_outer_hz",
                 "broadband_penalty", "ridge_s", "ridge_slope_hz_per_s")
