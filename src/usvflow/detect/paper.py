"""Ivanenko et al. 2020's detector (method ``paper``): high-pass, |FFT| frames, whole-file percentiles."""

from __future__ import annotations

import math

import numpy as np
import scipy.signal as sps

from ..audio.io import iter_chunks
from ..audio.stft import frame_grid as _frame_grid
from ..audio.stft import frame_view as _frames
from ..audio.stft import hann, rfft_freqs, windowed_rfft
from .calls import _ChunkCalls, _merge_runs, _runs, _summarise


class _PaperSpectrogram:
    """High-pass + |FFT| frames exactly as the paper, on the recording-wide frame grid."""

    def __init__(self, sr: int, p: dict):
        self.sr = sr
        self.n = int(p["window_samples"])
        self.hop = max(1, int(round(self.n * (1 - p["overlap_fraction"]))))
        self.win = hann(self.n, np.float32)
        self.freqs = rfft_freqs(self.n, sr)
        self.sos = sps.butter(int(p["highpass_order"]), p["highpass_hz"], btype="highpass", fs=sr, output="sos")

    def magnitude(self, x: np.ndarray, first: int, count: int, workers: int = -1) -> np.ndarray:
        return np.abs(windowed_rfft(_frames(x, self.n, self.hop, first, count), self.win, workers))


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
