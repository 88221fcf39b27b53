"""Per-call features of Ivanenko et al. 2020 (Methods, "Vocalization properties").

For every detected call the audio inside the call interval (plus a short margin) is turned into a power
spectrogram ``S(f, t) = |STFT|^2`` with the paper's settings expressed in seconds (500 samples at 300 kHz =
1.67 ms Hann windows, 50 % overlap), restricted to 25-125 kHz (or Nyquist). One STFT is computed per
streamed chunk of the recording; calls only index into it, so a whole cohort takes seconds.

Steps (paper → here)

1. *Denoising.* The paper filters the spectrogram with a level-set curvature flow. Here the dB spectrogram is
   first whitened by the chunk's per-frequency noise floor (median over time, so a constant tonal band or a
   coloured floor is removed) and then smoothed with total-variation denoising
   (:func:`skimage.restoration.denoise_tv_chambolle`). Total-variation flow is the divergence form of the
   same curvature flow of level sets (``u_t = div(grad u / |grad u|)`` versus
   ``u_t = |grad u| div(grad u / |grad u|)``): both remove small noise blobs while keeping the sharp outline
   of a call.
2. *Edges.* Prewitt edge magnitude of the denoised image (MATLAB ``edge(S, 'Prewitt')``: squared gradient
   above 4 x its mean), kept only where the edge is a transition into sound at least ``edge_min_db`` above
   the floor. The call's temporal range is first to last time bin with an edge.
3. *FF(t)*: per time bin the frequency of maximal power (parabolic interpolation between bins for sub-bin
   precision); 0 in bins without an edge between bins with edges (a break); a single bin whose frequency
   differs by more than 5 kHz from both neighbours (both with edges) is replaced by their interpolation.
4. *FE(t)* = ``S(FF(t), t)`` where FF(t) > 0 (the temporal marginal); the *spectral marginal* is the
   temporal average, over the bins where FE(t) > 0, of the floor-subtracted spectrum, on a fixed grid of 233
   bins from 25 to 125 kHz (the same for every call and every sample rate).

Columns of a feature table (:data:`FEATURE_COLUMNS`, SI units; the paper's names in :data:`FEATURE_NAMES`)
    ``spectral_width_hz, duration_s, f_start_hz, f_end_hz, f_min_ff_hz, f_max_ff_hz, mean_frequency_hz``
    (mean of FF > 0), ``mean_frequency_weighted_hz`` (intensity-weighted over the floor-subtracted spectrogram),
    ``temporal_skewness, temporal_kurtosis`` (of the values of FE), ``spectral_skewness,
    spectral_kurtosis`` (of the values of the spectral marginal; kurtosis is not excess, as MATLAB's),
    ``ff_direction`` (sign of the mean step of FF), ``wiener_entropy`` (mean over bins of ln(geometric /
    arithmetic mean of S)), ``spectral_salience`` (mean over bins of the largest off-zero peak / zero-lag of the
    autocorrelation across frequency), ``ff_tremolo`` (the same estimate applied to FF(t)), ``volume_db``
    (spectral energy: the mean of FE, in dB re a full-scale sine), ``spectral_purity`` (mean over bins of
    max S / sum S). Together with the six scored properties (:data:`PROPERTIES`: ``direction, peaks, breaks,
    broadband, tremolo, complexity``) these are the paper's 24 single-value features (:data:`FEATURES_24`);
    :data:`FEATURES_9` are the inputs of its dense DNN (duration, average frequency, average volume and the
    six properties). Extra columns: ``ff_onset_s, ff_offset_s`` (absolute times of the first and last FF
    bin), ``n_ff_bins``, and ``auto_<property>`` for the six properties scored from FF by
    :func:`auto_score` (always computed, so agreement with a reference can be measured).

Vectors (:class:`CallVectors`)
    ``ff_line`` (100,) FF(t) in Hz on a 1 ms grid from the first FF bin (0 = break or after the end; calls
    longer than 100 ms are cut), ``time_marginal`` (100,) FE(t) on the same grid (power, full-scale sine = 1),
    ``spectral_marginal`` (233,) on :data:`SPECTRAL_GRID_HZ` (power).

A call with no edge at all (noise picked up by a detector) gets NaN features and zero vectors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd
import scipy.fft as sfft
import scipy.signal as sps
from scipy import ndimage as ndi
from skimage.filters import prewitt_h, prewitt_v
from skimage.restoration import denoise_tv_chambolle

from .errors import InputError
from .io import Channel, inspect_wav, iter_chunks

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
    "interp_jump_hz": 5_000.0,  # the paper's single-bin replacement rule
    "min_segment_s": 0.002,
    "min_ff_s": 0.0015,  # an FF line shorter than this (in voiced time) is noise: the call gets NaN features  # shorter pieces at the ends of FF, cut off by a break or jump, are noise
    "duration_offset_s": 0.0,  # added to (last - first) x hop; see estimate_duration
    # auto-scoring
    "flat_slope_hz_per_s": 1.0e5,  # |slope| below 0.1 kHz/ms is flat (as the simulator's truth)
    "jump_hz": 6_000.0,  # a step between neighbouring FF bins larger than this is a break
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


@dataclass
class CallVectors:
    """The three 1-D vectors of one call (see module docstring)."""

    ff_line: np.ndarray
    time_marginal: np.ndarray
    spectral_marginal: np.ndarray

    @staticmethod
    def zeros() -> "CallVectors":
        return CallVectors(np.zeros(VECTOR_LEN, np.float32), np.zeros(VECTOR_LEN, np.float32),
                           np.zeros(N_SPECTRAL, np.float32))


@dataclass
class ChunkSpectrogram:
    """Power spectrogram of one stretch of audio, with its per-frequency noise floor."""

    power: np.ndarray  # (freq, time), full-scale sine = 1
    freqs: np.ndarray  # Hz
    times: np.ndarray  # frame centres, s from the file start
    floor: np.ndarray  # (freq,), median power over time
    hop_s: float


def chunk_spectrogram(x: np.ndarray, fs: int, t0: float, p: dict) -> ChunkSpectrogram:
    """|STFT|^2 of ``x`` (starting at ``t0`` s) in the feature band, scaled so a full-scale sine peaks at 1."""
    n = max(16, int(round(p["window_s"] * fs)))
    hop = max(1, int(round(p["hop_s"] * fs)))
    freqs = np.fft.rfftfreq(n, 1 / fs)
    band = (freqs >= p["f_lo_hz"]) & (freqs <= min(p["f_hi_hz"], fs / 2))
    if len(x) < n:
        return ChunkSpectrogram(np.zeros((band.sum(), 0)), freqs[band], np.zeros(0), np.zeros(band.sum()), hop / fs)
    win = sps.windows.hann(n, sym=False)
    frames = np.lib.stride_tricks.sliding_window_view(np.asarray(x, np.float32), n)[::hop]
    spec = sfft.rfft(frames * win.astype(np.float32), axis=1)[:, band]  # float32 in, complex64 out: fast
    power = (np.abs(spec) ** 2).T / (win.sum() / 2) ** 2
    times = t0 + (np.arange(power.shape[1]) * hop + n / 2) / fs
    floor = np.median(power, axis=1) if power.shape[1] else np.zeros(power.shape[0])
    return ChunkSpectrogram(power.astype(np.float64), freqs[band], times, np.maximum(floor, 1e-14), hop / fs)


def _skew_kurt(v: np.ndarray) -> tuple[float, float]:
    """Sample skewness and (non-excess, MATLAB-style) kurtosis of the values of ``v``; 0 when constant."""
    v = np.asarray(v, float)
    if v.size < 3:
        return 0.0, 0.0
    d = v - v.mean()
    m2 = np.mean(d ** 2)
    if m2 <= 1e-30 * max(1.0, np.mean(v ** 2)):
        return 0.0, 0.0
    return float(np.mean(d ** 3) / m2 ** 1.5), float(np.mean(d ** 4) / m2 ** 2)


def _salience(v: np.ndarray) -> float:
    """Largest off-zero local maximum of the (mean-removed) autocorrelation over its zero-lag value."""
    v = np.asarray(v, float)
    if v.size < 4:
        return 0.0
    v = v - v.mean()
    ac = np.correlate(v, v, mode="full")[v.size - 1:]
    if ac[0] <= 0:
        return 0.0
    peaks = sps.argrelmax(ac)[0]
    return float(max(0.0, ac[peaks].max() / ac[0])) if peaks.size else 0.0


def _salience_columns(P: np.ndarray) -> np.ndarray:
    """:func:`_salience` of every column of ``P`` at once (autocorrelation by FFT)."""
    X = P - P.mean(axis=0, keepdims=True)
    nf = X.shape[0]
    F = np.fft.rfft(X, n=2 * nf, axis=0)
    ac = np.fft.irfft(np.abs(F) ** 2, axis=0)[:nf]
    out = np.zeros(X.shape[1])
    inner = ac[1:-1]
    is_peak = (inner > ac[:-2]) & (inner > ac[2:])
    masked = np.where(is_peak, inner, -np.inf).max(axis=0)
    ok = (ac[0] > 0) & np.isfinite(masked)
    out[ok] = np.maximum(0.0, masked[ok] / ac[0][ok])
    return out


def _parabolic(db_col: np.ndarray, k: int) -> float:
    """Sub-bin offset of a peak at bin ``k`` from a parabola through its neighbours (in bins)."""
    if 0 < k < db_col.size - 1:
        a, b, c = db_col[k - 1], db_col[k], db_col[k + 1]
        den = a - 2 * b + c
        if den < 0:
            return float(np.clip(0.5 * (a - c) / den, -0.5, 0.5))
    return 0.0


def ff_line(power: np.ndarray, floor: np.ndarray, freqs: np.ndarray, p: dict) -> tuple[np.ndarray, int, int, np.ndarray]:
    """The fundamental-frequency line of one call's spectrogram.

    Returns ``(ff, first, last, db)``: FF(t) in Hz for the bins ``first..last`` (inclusive, 0 = break;
    empty when no edge was found) and the whitened dB image (dB above the floor) used for it.
    """
    db = 10 * np.log10(np.maximum(power, 1e-14) / floor[:, None])
    white = np.clip(db, 0, None)
    if white.shape[1] == 0:
        return np.zeros(0), 0, -1, db
    top = max(float(white.max()), 1e-6)
    den = denoise_tv_chambolle(white / top, weight=p["tv_weight"]) * top
    grad2 = prewitt_h(den) ** 2 + prewitt_v(den) ** 2
    edge = grad2 > p["edge_scale"] * grad2.mean()
    # Only transitions into real sound count: a neighbour of the edge pixel is well above the floor.
    # (neighbours in frequency only: Prewitt spreads edges one column into the silence either side).
    loud = ndi.maximum_filter(den, size=(3, 1)) >= p["edge_min_db"]
    has_edge = (edge & loud).any(axis=0)
    if not has_edge.any():
        return np.zeros(0), 0, -1, db
    idx = np.flatnonzero(has_edge)
    first, last = int(idx[0]), int(idx[-1])
    df = freqs[1] - freqs[0] if freqs.size > 1 else 1.0
    ff = np.zeros(last - first + 1)
    for j, t in enumerate(range(first, last + 1)):
        if not has_edge[t]:
            continue  # a break: FF = 0
        # The peak of the denoised column (robust to single noisy pixels), refined on the raw one.
        k = int(np.argmax(den[:, t]))
        k = max(0, k - 1) + int(np.argmax(db[max(0, k - 1):k + 2, t]))
        ff[j] = freqs[k] + _parabolic(db[:, t], k) * df
    ff = _trim_fragments(ff, p["min_segment_s"] / max(p["hop_s"], 1e-9), p["jump_hz"])
    if (ff > 0).sum() * p["hop_s"] < p["min_ff_s"]:  # a noise speck, not a call
        return np.zeros(0), 0, -1, db
    nz = np.flatnonzero(ff > 0)
    first, last, ff = first + int(nz[0]), first + int(nz[-1]), ff[nz[0]:nz[-1] + 1]
    # The paper's rule: a single bin between two edge bins that jumps > 5 kHz away is interpolated.
    for j in range(1, ff.size - 1):
        a, b, c = ff[j - 1], ff[j], ff[j + 1]
        if a > 0 and b > 0 and c > 0 and abs(b - a) > p["interp_jump_hz"] and abs(b - c) > p["interp_jump_hz"]:
            ff[j] = 0.5 * (a + c)
    return ff, first, last, db


def _trim_fragments(ff: np.ndarray, min_bins: float, jump_hz: float) -> np.ndarray:
    """Drop short pieces at either end of FF that are cut off from the rest by a break or a jump.

    Noise next to a call (a click, a burst, low-frequency movement noise reaching above 25 kHz) leaves
    edges that would otherwise extend the call by a few bins at an unrelated frequency.
    """
    ff = ff.copy()
    while True:
        voiced = ff > 0
        cut = np.flatnonzero(np.diff(voiced.astype(int)) != 0) + 1
        jumps = np.flatnonzero(voiced[1:] & voiced[:-1] & (np.abs(np.diff(ff)) > jump_hz)) + 1
        bounds = np.unique(np.concatenate([[0], cut, jumps, [ff.size]]))
        segs = [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if voiced[a]]
        if len(segs) < 2:
            return ff
        (a0, b0), (a1, b1) = segs[0], segs[-1]
        if b0 - a0 < min_bins and b0 - a0 <= b1 - a1:
            ff[a0:b0] = 0.0
        elif b1 - a1 < min_bins:
            ff[a1:b1] = 0.0
        else:
            return ff


def _runs_of_zeros(v: np.ndarray) -> int:
    z = np.concatenate([[0], (v == 0).astype(int), [0]])
    return int(np.sum(np.diff(z) == 1))


def auto_score(ff: np.ndarray, hop_s: float, broadband_bins: int, p: dict) -> dict[str, float]:
    """The paper's six scored properties, judged automatically from FF(t) (used where nobody scored them).

    direction: the majority of rising / falling / flat steps of FF (|slope| < ``flat_slope_hz_per_s`` is flat;
    jumps and breaks excluded; tremolo removed by smoothing first); peaks: local maxima of FF (breaks bridged)
    with prominence ≥ ``peak_prominence_hz``; breaks: runs of FF = 0 plus jumps > ``jump_hz``; broadband: at
    least ``broadband_min_bins`` broadband time bins; tremolo: periodic FF modulation (autocorrelation salience
    and depth); complexity: peaks + breaks ≥ 2, or tremolo.
    """
    voiced = ff > 0
    if voiced.sum() < 2:
        return {k: (0.0 if voiced.any() else np.nan) for k in PROPERTIES}
    steps = np.diff(ff)
    both = voiced[1:] & voiced[:-1]
    jumps = both & (np.abs(steps) > p["jump_hz"])
    breaks = _runs_of_zeros(ff[np.flatnonzero(voiced)[0]:np.flatnonzero(voiced)[-1] + 1]) + int(jumps.sum())
    # Bridge breaks by interpolation (as a human reads a broken line); steps stay, as in the truth.
    level = np.interp(np.arange(ff.size), np.flatnonzero(voiced), ff[voiced])
    # Tremolo: salience of the detrended line, with a period in the plausible range and a visible depth.
    lo, hi = (int(round(x / hop_s)) for x in p["tremolo_period_s"])
    trem = 0.0
    if level.size >= 2 * lo + 2:
        win = max(5, (hi * 2) // 2 * 2 + 1)
        trend = ndi.uniform_filter1d(level, size=min(win, level.size - (1 - level.size % 2)), mode="nearest")
        resid = level - trend
        r = resid - resid.mean()
        ac = np.correlate(r, r, mode="full")[r.size - 1:]
        if ac[0] > 0:
            seg = ac[lo:min(hi, ac.size - 1) + 1]
            pk = sps.argrelmax(ac)[0]
            pk = pk[(pk >= lo) & (pk <= hi)]
            depth = np.sqrt(2) * resid.std()
            if pk.size and seg.size and ac[pk].max() / ac[0] > p["tremolo_salience"] and depth > p["tremolo_min_depth_hz"]:
                trem = 1.0
    smooth = level
    if trem:
        smooth = ndi.uniform_filter1d(level, size=max(3, hi), mode="nearest")
    slope = np.diff(smooth) / hop_s
    valid = both & ~jumps
    s = slope[valid] if valid.any() else slope
    flat = p["flat_slope_hz_per_s"]
    counts = {1: int(np.sum(s > flat)), -1: int(np.sum(s < -flat)), 0: int(np.sum(np.abs(s) <= flat))}
    direction = max(counts, key=lambda k: (counts[k], k == 0))
    peaks = len(sps.find_peaks(smooth, prominence=p["peak_prominence_hz"])[0])
    broadband = float(broadband_bins >= p["broadband_min_bins"])
    complexity = float(peaks + breaks >= 2 or trem > 0)
    return {"direction": float(direction), "peaks": float(peaks), "breaks": float(breaks),
            "broadband": broadband, "tremolo": trem, "complexity": complexity}


def _broadband_bins(db: np.ndarray, freqs: np.ndarray, ff: np.ndarray, first: int, p: dict) -> int:
    """Time bins whose energy spreads over a wide band away from FF (and its 2nd harmonic)."""
    if ff.size == 0 or freqs.size < 2:
        return 0
    df = freqs[1] - freqs[0]
    cols = db[:, first:first + ff.size]
    hot = cols > p["broadband_db"]
    f = freqs[:, None]
    ref = np.where(ff > 0, ff, np.nan)[None, :]
    near = (np.abs(f - ref) < 4_000) | (np.abs(f - 2 * ref) < 4_000)
    wide = (hot & ~near).sum(axis=0) * df
    return int(np.sum(wide >= p["broadband_width_hz"]))


def _on_grid(values: np.ndarray, t_bins: np.ndarray, t0: float) -> np.ndarray:
    """Sample a per-bin line on the 1 ms grid starting at ``t0`` (nearest bin; 0 after the end)."""
    out = np.zeros(VECTOR_LEN, np.float32)
    if values.size == 0:
        return out
    grid = t0 + np.arange(VECTOR_LEN) * VECTOR_STEP_S
    inside = grid <= t_bins[-1] + 1e-9
    j = np.clip(np.round((grid[inside] - t_bins[0]) / (t_bins[1] - t_bins[0]) if t_bins.size > 1 else 0).astype(int),
                0, values.size - 1)
    out[inside] = values[j]
    return out


def call_features(spec: ChunkSpectrogram, onset_s: float, offset_s: float,
                  p: dict) -> tuple[dict[str, float], CallVectors]:
    """Features, auto-scored properties and vectors of the call detected in ``[onset_s, offset_s]``."""
    lo = np.searchsorted(spec.times, onset_s - p["margin_s"])
    hi = np.searchsorted(spec.times, offset_s + p["margin_s"], side="right")
    row: dict[str, float] = {c: np.nan for c in FEATURE_COLUMNS + EXTRA_COLUMNS + AUTO_COLUMNS}
    row["n_ff_bins"] = 0
    P = spec.power[:, lo:hi]
    ff, first, last, db = ff_line(P, spec.floor, spec.freqs, p)
    if ff.size == 0:
        return row, CallVectors.zeros()
    voiced = ff > 0
    times = spec.times[lo + first: lo + last + 1]
    cols = P[:, first:last + 1]
    kbin = np.clip(np.round((ff - spec.freqs[0]) / (spec.freqs[1] - spec.freqs[0])).astype(int), 0, P.shape[0] - 1)
    fe = np.where(voiced, cols[kbin, np.arange(ff.size)], 0.0)
    excess = np.maximum(cols - spec.floor[:, None], 0.0)
    vcols, vexcess, fv = cols[:, voiced], excess[:, voiced], ff[voiced]
    marginal = np.interp(SPECTRAL_GRID_HZ, spec.freqs, vexcess.mean(axis=1), left=0.0, right=0.0)
    fe_v = fe[voiced]
    ok_steps = voiced[1:] & voiced[:-1]
    (t_skew, t_kurt), (s_skew, s_kurt) = _skew_kurt(fe_v), _skew_kurt(marginal)
    mean_step = float(np.mean(np.diff(ff)[ok_steps])) if ok_steps.any() else 0.0
    row.update(
        spectral_width_hz=float(fv.max() - fv.min()),
        duration_s=(last - first + 1) * spec.hop_s + p["duration_offset_s"],  # each bin covers one hop
        f_start_hz=float(fv[0]), f_end_hz=float(fv[-1]),
        f_min_ff_hz=float(fv.min()), f_max_ff_hz=float(fv.max()),
        mean_frequency_hz=float(fv.mean()),
        mean_frequency_weighted_hz=float((spec.freqs[:, None] * excess).sum() / max(excess.sum(), 1e-30)),
        temporal_skewness=t_skew, temporal_kurtosis=t_kurt, spectral_skewness=s_skew, spectral_kurtosis=s_kurt,
        ff_direction=float(np.sign(mean_step)),
        wiener_entropy=float(np.mean(np.mean(np.log(vcols + 1e-14), axis=0) - np.log(vcols.mean(axis=0) + 1e-14))),
        spectral_salience=float(_salience_columns(vcols).mean()),
        ff_tremolo=_salience(fv),
        volume_db=float(10 * np.log10(max(fe_v.mean(), 1e-14))),
        spectral_purity=float(np.mean(vcols.max(axis=0) / np.maximum(vcols.sum(axis=0), 1e-30))),
        ff_onset_s=float(times[0]), ff_offset_s=float(times[-1]), n_ff_bins=int(voiced.sum()),
    )
    auto = auto_score(ff, spec.hop_s, _broadband_bins(db, spec.freqs, ff, first, p), p)
    row.update({f"auto_{k}": v for k, v in auto.items()})
    vec = CallVectors(_on_grid(ff, times, times[0]), _on_grid(fe, times, times[0]), marginal.astype(np.float32))
    return row, vec


def _chunks_for(calls: pd.DataFrame, path: str | Path, channel: Channel, p: dict,
                min_sample_rate_hz: int | None) -> Iterator[tuple[ChunkSpectrogram, np.ndarray]]:
    """Stream the recording; yield each chunk's spectrogram with the calls that lie wholly inside it."""
    kw = {} if min_sample_rate_hz is None else {"min_sample_rate_hz": min_sample_rate_hz}
    info = inspect_wav(path, **kw)
    fs = info.sample_rate
    on = calls["onset_s"].to_numpy(float) - p["margin_s"] - p["window_s"]
    off = calls["offset_s"].to_numpy(float) + p["margin_s"] + p["window_s"]
    longest = float((off - on).max()) if len(calls) else 0.0
    overlap = max(1.0, longest + 0.1)
    chunk_s = max(p["chunk_s"], 4 * overlap)
    done = np.zeros(len(calls), bool)
    for ch in iter_chunks(path, chunk_s=chunk_s, overlap_s=overlap, channel=channel, **kw):
        t0, t1 = ch.start / fs, ch.stop / fs
        last_chunk = ch.stop >= info.frames
        inside = ~done & (np.maximum(on, 0) >= t0) & ((off <= t1) | last_chunk)
        if inside.any():
            yield chunk_spectrogram(ch.samples, fs, t0, p), np.flatnonzero(inside)
            done |= inside
        if done.all():
            break


def compute_features(calls: pd.DataFrame, wav_path: str | Path, channel: Channel = 0, params: dict | None = None,
                     min_sample_rate_hz: int | None = None) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Features of every call of one recording (rows in the order of ``calls``).

    ``calls`` needs ``onset_s`` and ``offset_s`` (seconds from the file start). Returns the feature table
    (:data:`FEATURE_COLUMNS` + extra and ``auto_*`` columns) and the vectors as arrays
    ``ff_line (n, 100)``, ``time_marginal (n, 100)``, ``spectral_marginal (n, 233)``.
    """
    p = resolve_params(params)
    if not {"onset_s", "offset_s"} <= set(calls.columns):
        raise InputError(wav_path, "call table needs columns onset_s and offset_s")
    n = len(calls)
    rows: list[dict | None] = [None] * n
    vecs = {"ff_line": np.zeros((n, VECTOR_LEN), np.float32), "time_marginal": np.zeros((n, VECTOR_LEN), np.float32),
            "spectral_marginal": np.zeros((n, N_SPECTRAL), np.float32)}
    if n:
        onsets, offsets = calls["onset_s"].to_numpy(float), calls["offset_s"].to_numpy(float)
        for spec, idx in _chunks_for(calls, wav_path, channel, p, min_sample_rate_hz):
            for i in idx:
                row, v = call_features(spec, onsets[i], offsets[i], p)
                rows[i] = row
                vecs["ff_line"][i], vecs["time_marginal"][i], vecs["spectral_marginal"][i] = (
                    v.ff_line, v.time_marginal, v.spectral_marginal)
    empty = {c: np.nan for c in FEATURE_COLUMNS + EXTRA_COLUMNS + AUTO_COLUMNS}
    table = pd.DataFrame([r if r is not None else dict(empty, n_ff_bins=0) for r in rows],
                         columns=FEATURE_COLUMNS + EXTRA_COLUMNS + AUTO_COLUMNS)
    table["n_ff_bins"] = table["n_ff_bins"].fillna(0).astype(int)
    return table, vecs


def add_feature_columns(calls_df: pd.DataFrame, wav_path: str | Path, channel: Channel = 0,
                        params: dict | None = None, min_sample_rate_hz: int | None = None) -> pd.DataFrame:
    """The call table with the feature columns (and auto-scored properties) appended.

    For ``usvflow detect --features``: the detector's own columns (``f_mean_hz`` included) are kept; the
    values are those the workflow's ``features`` rule computes for the same calls.
    """
    table, _ = compute_features(calls_df, wav_path, channel, params, min_sample_rate_hz)
    out = calls_df.reset_index(drop=True).copy()
    for col in table.columns:
        out[col] = table[col].to_numpy()
    return out


def fill_properties(dataset: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """The six properties per call: the reference's where the dataset has them, auto-scored otherwise.

    Rows with ``properties_source == 'none'`` (or a missing value) take ``auto_<property>`` and are
    recorded as ``'auto'``.
    """
    out = pd.DataFrame(index=dataset.index)
    source = dataset.get("properties_source", pd.Series("none", index=dataset.index)).astype(str).copy()
    missing = (source == "none") | dataset[PROPERTIES].isna().any(axis=1) if set(PROPERTIES) <= set(dataset) \
        else pd.Series(True, index=dataset.index)
    for prop in PROPERTIES:
        ref = dataset[prop] if prop in dataset else pd.Series(np.nan, index=dataset.index)
        out[prop] = np.where(missing, features[f"auto_{prop}"].to_numpy(), ref.to_numpy()).astype(float)
    out["properties_source"] = np.where(missing, "auto", source)
    return out


def merge_cohort(dataset: pd.DataFrame, per_recording: dict[str, tuple[pd.DataFrame, dict[str, np.ndarray]]]
                 ) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """One feature table + vectors per cohort, row-aligned with the dataset table (``call_uid`` order).

    ``per_recording`` maps a recording to what :func:`compute_features` returned for its call table (rows
    in the detector's order, which is how the dataset numbers ``call_index``).
    """
    parts, vec_parts = [], {k: [] for k in ("ff_line", "time_marginal", "spectral_marginal")}
    for rec, sub in dataset.groupby("recording", sort=False):
        table, vecs = per_recording[rec]
        idx = sub["call_index"].to_numpy(int)
        if len(table) and idx.max(initial=-1) >= len(table):
            raise InputError(rec, f"dataset has call_index {idx.max()} but only {len(table)} feature rows")
        part = table.iloc[idx].reset_index(drop=True)
        part.index = sub.index
        parts.append(part)
        for k in vec_parts:
            vec_parts[k].append(pd.DataFrame(vecs[k][idx], index=sub.index))
    if parts:
        feats = pd.concat(parts).loc[dataset.index]
        vectors = {k: pd.concat(v).loc[dataset.index].to_numpy(np.float32) for k, v in vec_parts.items()}
    else:
        feats = pd.DataFrame(columns=FEATURE_COLUMNS + EXTRA_COLUMNS + AUTO_COLUMNS)
        vectors = {"ff_line": np.zeros((0, VECTOR_LEN), np.float32), "time_marginal": np.zeros((0, VECTOR_LEN), np.float32),
                   "spectral_marginal": np.zeros((0, N_SPECTRAL), np.float32)}
    props = fill_properties(dataset, feats) if len(dataset) else pd.DataFrame(columns=PROPERTIES + ["properties_source"])
    out = pd.concat([dataset[["call_uid"]] if "call_uid" in dataset else pd.DataFrame(index=dataset.index),
                     feats[FEATURE_COLUMNS], props, feats[EXTRA_COLUMNS + AUTO_COLUMNS]], axis=1)
    vectors["call_uid"] = out["call_uid"].to_numpy(str) if "call_uid" in out else np.zeros(0, str)
    return out.reset_index(drop=True), vectors


def save_vectors(path: str | Path, vectors: dict[str, np.ndarray]) -> None:
    """Write ``call_uid``, ``ff_line``, ``time_marginal``, ``spectral_marginal`` (+ the frequency grid)."""
    np.savez_compressed(path, call_uid=np.asarray(vectors["call_uid"], dtype=str), ff_line=vectors["ff_line"],
                        time_marginal=vectors["time_marginal"], spectral_marginal=vectors["spectral_marginal"],
                        spectral_grid_hz=SPECTRAL_GRID_HZ)


def load_vectors(path: str | Path) -> dict[str, np.ndarray]:
    """Read what :func:`save_vectors` wrote."""
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def load_features(features_path: str | Path, vectors_path: str | Path | None = None
                  ) -> tuple[pd.DataFrame, dict[str, np.ndarray] | None]:
    """A cohort's feature table (and vectors), as the ``features`` rule wrote them."""
    table = pd.read_parquet(features_path)
    vectors = load_vectors(vectors_path) if vectors_path is not None else None
    if vectors is not None and len(vectors["call_uid"]) != len(table):
        raise InputError(vectors_path, f"{len(vectors['call_uid'])} vectors but {len(table)} rows in {features_path}")
    return table, vectors


def semiconv_matrix(table: pd.DataFrame, vectors: dict[str, np.ndarray]) -> np.ndarray:
    """The paper's 457-dimensional input of the semi-convolutional models: 24 features + 3 vectors."""
    return np.hstack([table[FEATURES_24].to_numpy(float), vectors["ff_line"], vectors["time_marginal"],
                      vectors["spectral_marginal"]]).astype(np.float64)


def truth_errors(features: pd.DataFrame, dataset: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Per matched call, measured minus true value of every feature the simulator's truth defines.

    ``truth`` must hold the truth rows of all recordings with ``recording`` and the per-recording row index
    ``reference_index`` (as the dataset's). Returns one row per matched call with ``err_<feature>`` columns.
    """
    pairs = {"duration_s": "duration_s", "mean_frequency_hz": "f_mean_hz", "f_start_hz": "f_start_hz",
             "f_end_hz": "f_end_hz", "f_min_ff_hz": "f_min_hz", "f_max_ff_hz": "f_max_hz",
             "spectral_width_hz": None}
    m = dataset["reference_index"].to_numpy(int) >= 0
    keys = pd.MultiIndex.from_arrays([dataset.loc[m, "recording"], dataset.loc[m, "reference_index"]])
    t = truth.set_index(["recording", "reference_index"]).reindex(keys)
    out = pd.DataFrame({"call_uid": dataset.loc[m, "call_uid"].to_numpy(),
                        "call_type": t["call_type"].to_numpy() if "call_type" in t else ""})
    f = features.loc[m]
    for feat, col in pairs.items():
        true = (t["f_max_hz"] - t["f_min_hz"]).to_numpy() if col is None else t[col].to_numpy()
        out[f"true_{feat}"] = true
        out[f"err_{feat}"] = f[feat].to_numpy(float) - true
    return out


def recovery_summary(errors: pd.DataFrame, dataset: pd.DataFrame, features: pd.DataFrame,
                     group: str = "all") -> pd.DataFrame:
    """Per feature the truth defines: the error distribution; per property: auto-score agreement.

    ``errors`` from :func:`truth_errors`; ``dataset``/``features`` row-aligned. Properties are compared on
    the calls whose reference is the truth (``properties_source == 'truth'`` in the dataset table).
    """
    from sklearn.metrics import cohen_kappa_score

    rows = []
    for col in [c for c in errors.columns if c.startswith("err_")]:
        e = errors[col].to_numpy(float)
        e = e[np.isfinite(e)]
        feat = col[4:]
        unit = "s" if feat.endswith("_s") else "Hz"
        rows.append({"group": group, "kind": "feature", "name": feat, "unit": unit, "n": int(e.size),
                     "mean_error": float(e.mean()) if e.size else np.nan,
                     "median_error": float(np.median(e)) if e.size else np.nan,
                     "median_abs_error": float(np.median(np.abs(e))) if e.size else np.nan,
                     "p90_abs_error": float(np.quantile(np.abs(e), 0.9)) if e.size else np.nan,
                     "sd_error": float(e.std(ddof=1)) if e.size > 1 else np.nan,
                     "accuracy": np.nan, "kappa": np.nan})
    ref = (dataset["properties_source"].to_numpy() == "truth") if len(dataset) else np.zeros(0, bool)
    for prop in PROPERTIES:
        a = features.loc[ref, f"auto_{prop}"].to_numpy(float)
        t = dataset.loc[ref, prop].to_numpy(float)
        ok = np.isfinite(a) & np.isfinite(t)
        a, t = a[ok].astype(int), t[ok].astype(int)
        kappa = float(cohen_kappa_score(t, a)) if a.size and len(np.unique(np.concatenate([a, t]))) > 1 else np.nan
        rows.append({"group": group, "kind": "property", "name": prop, "unit": "", "n": int(a.size),
                     "mean_error": float(np.mean(a - t)) if a.size else np.nan,
                     "median_error": float(np.median(a - t)) if a.size else np.nan,
                     "median_abs_error": float(np.median(np.abs(a - t))) if a.size else np.nan,
                     "p90_abs_error": float(np.quantile(np.abs(a - t), 0.9)) if a.size else np.nan,
                     "sd_error": np.nan,
                     "accuracy": float(np.mean(a == t)) if a.size else np.nan, "kappa": kappa})
    return pd.DataFrame(rows)
