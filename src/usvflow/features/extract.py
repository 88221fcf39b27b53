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
4. *The denoised spectrogram S*: the power above the per-frequency floor where the denoised image is at least
   ``support_db`` above the floor, 0 elsewhere. The spectral features are computed on S: on the raw power
   they measure the recording (its floor, its tonal bands) and the call's level as much as the call.
5. *FE(t)* = ``S(FF(t), t)`` where FF(t) > 0; the *temporal marginal* is FE(t) / max FE (its level is
   ``volume_db``). The *spectral marginal* is the paper's "temporal average per frequency bin of FE(t), where
   FE(t) > 0" on a fixed grid of 233 bins from 25 to 125 kHz (every call, every sample rate), / its maximum.

Columns of a feature table (:data:`FEATURE_COLUMNS`, SI units; the paper's names in :data:`FEATURE_NAMES`)
    ``spectral_width_hz, duration_s, f_start_hz, f_end_hz, f_min_ff_hz, f_max_ff_hz, mean_frequency_hz``
    (mean of FF > 0), ``mean_frequency_weighted_hz`` (intensity-weighted over the floor-subtracted spectrogram),
    ``temporal_skewness, temporal_kurtosis`` (of the values of FE), ``spectral_skewness,
    spectral_kurtosis`` (of the values of the spectral marginal; kurtosis is not excess, as MATLAB's),
    ``ff_direction`` (sign of the mean step of FF), ``wiener_entropy`` (mean over bins of ln(geometric /
    arithmetic mean of S), S scaled to the call's peak with empty bins at ``denoised_floor_db`` below it),
    ``spectral_salience`` (mean over bins of the largest off-zero peak / zero-lag of the autocorrelation of S
    across frequency), ``ff_tremolo`` (the same estimate applied to FF(t)), ``volume_db`` (spectral energy:
    the mean of FE, in dB re a full-scale sine), ``spectral_purity`` (mean over bins of max S / sum S): see
    :func:`spectral_shape`. Together with the six scored properties (:data:`PROPERTIES`: ``direction, peaks, breaks,
    broadband, tremolo, complexity``) these are the paper's 24 single-value features (:data:`FEATURES_24`);
    :data:`FEATURES_9` are the inputs of its dense DNN (duration, average frequency, average volume and the
    six properties). Extra columns: ``ff_onset_s, ff_offset_s`` (absolute times of the first and last FF
    bin), ``n_ff_bins``, and ``auto_<property>`` for the six properties scored from FF by
    :func:`auto_score` (always computed, so agreement with a reference can be measured).

Vectors (:class:`CallVectors`)
    ``ff_line`` (100,) FF(t) in Hz on a 1 ms grid from the first FF bin (0 = break or after the end; calls
    longer than 100 ms are cut), ``time_marginal`` (100,) FE(t) / max FE on the same grid,
    ``spectral_marginal`` (233,) on :data:`SPECTRAL_GRID_HZ`, maximum 1: per-call shapes, the same for the
    same call nearer or farther, over a quieter or louder floor (``tests/test_features.py``).

A call with no edge at all (noise picked up by a detector) gets NaN features and zero vectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import scipy.signal as sps
from scipy import ndimage as ndi
from skimage.filters import prewitt_h, prewitt_v
from skimage.restoration import denoise_tv_chambolle

from ..audio.io import Channel, inspect_wav, iter_chunks
from ..audio.stft import ChunkSpectrogram, chunk_spectrogram
from ..errors import InputError
from .columns import (
    AUTO_COLUMNS,
    EXTRA_COLUMNS,
    FEATURE_COLUMNS,
    N_SPECTRAL,
    PROPERTIES,
    SPECTRAL_GRID_HZ,
    VECTOR_LEN,
    VECTOR_STEP_S,
    resolve_params,
)


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


def _salience_columns(P: np.ndarray, center: bool = True) -> np.ndarray:
    """:func:`_salience` of every column of ``P`` at once (autocorrelation by FFT); ``center=False`` keeps
    the column's mean (a denoised column is zero away from the call, and that zero is real)."""
    X = P - P.mean(axis=0, keepdims=True) if center else np.asarray(P, float)
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


def denoise(power: np.ndarray, floor: np.ndarray, p: dict) -> tuple[np.ndarray, np.ndarray]:
    """Step 1 of the module docstring: ``(db, den)``, the dB image above the per-frequency floor and its
    total-variation-denoised version (dB above the floor, background near 0)."""
    db = 10 * np.log10(np.maximum(power, 1e-14) / floor[:, None])
    white = np.clip(db, 0, None)
    if white.shape[1] == 0:
        return db, white
    top = max(float(white.max()), 1e-6)
    return db, denoise_tv_chambolle(white / top, weight=p["tv_weight"]) * top


def ff_line(power: np.ndarray, floor: np.ndarray, freqs: np.ndarray, p: dict) -> tuple[np.ndarray, int, int, np.ndarray]:
    """The fundamental-frequency line of one call's spectrogram.

    Returns ``(ff, first, last, db)``: FF(t) in Hz for the bins ``first..last`` (inclusive, 0 = break;
    empty when no edge was found) and the whitened dB image (dB above the floor) used for it.
    """
    db, den = denoise(power, floor, p)
    return (*_ff_of(db, den, freqs, p), db)


def _ff_of(db: np.ndarray, den: np.ndarray, freqs: np.ndarray, p: dict) -> tuple[np.ndarray, int, int]:
    """Steps 2-3 of the module docstring on the images of :func:`denoise`."""
    if den.shape[1] == 0:
        return np.zeros(0), 0, -1
    grad2 = prewitt_h(den) ** 2 + prewitt_v(den) ** 2
    edge = grad2 > p["edge_scale"] * grad2.mean()
    # Only transitions into real sound count: a neighbour of the edge pixel is well above the floor.
    # (neighbours in frequency only: Prewitt spreads edges one column into the silence either side).
    loud = ndi.maximum_filter(den, size=(3, 1)) >= p["edge_min_db"]
    has_edge = (edge & loud).any(axis=0)
    if not has_edge.any():
        return np.zeros(0), 0, -1
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
        return np.zeros(0), 0, -1
    nz = np.flatnonzero(ff > 0)
    first, last, ff = first + int(nz[0]), first + int(nz[-1]), ff[nz[0]:nz[-1] + 1]
    # The paper's rule: a single bin between two edge bins that jumps > 5 kHz away is interpolated.
    for j in range(1, ff.size - 1):
        a, b, c = ff[j - 1], ff[j], ff[j + 1]
        if a > 0 and b > 0 and c > 0 and abs(b - a) > p["interp_jump_hz"] and abs(b - c) > p["interp_jump_hz"]:
            ff[j] = 0.5 * (a + c)
    return ff, first, last


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


def _jump_mask(ff: np.ndarray, jump_hz: float, half_window: int = 3) -> np.ndarray:
    """Per step of FF (length ``ff.size - 1``): a jump, i.e. a step between two voiced bins larger than
    ``jump_hz`` that departs by more than ``jump_hz / 2`` from the median step around it (``half_window``
    steps either side, itself included). A steep but steady sweep (several kHz per bin, every step alike) is
    a line, not a string of breaks; a step call's jump stands out from the flat steps around it, also when
    the paper's single-bin interpolation has split it into two half-steps."""
    voiced = ff > 0
    steps = np.diff(ff)
    both = voiced[1:] & voiced[:-1]
    out = np.zeros(steps.size, bool)
    for j in np.flatnonzero(both & (np.abs(steps) > jump_hz)):
        lo, hi = max(0, j - half_window), min(steps.size, j + half_window + 1)
        around = steps[lo:hi][both[lo:hi]]
        out[j] = abs(steps[j] - float(np.median(around))) > jump_hz / 2
    return out


def line_pieces(ff: np.ndarray, p: dict) -> list[tuple[int, int]]:
    """The pieces of the FF line a scorer counts: voiced runs split at breaks (FF = 0) and jumps
    (:func:`_jump_mask`), without specks shorter than ``min_segment_s`` and without pieces lying at the
    bottom edge of the band (median FF within ``edge_band_hz`` of ``f_lo_hz``: low-frequency noise reaching
    into the band peaks there, a call does not). ``[start, stop)`` bin indices."""
    voiced = ff > 0
    if not voiced.any():
        return []
    cut = _jump_mask(ff, p["jump_hz"])
    pieces, start = [], None
    for j in range(ff.size):
        if voiced[j] and start is None:
            start = j
        end_here = start is not None and (j == ff.size - 1 or not voiced[j + 1] or cut[j])
        if end_here:
            pieces.append((start, j + 1))
            start = None
    min_bins = p["min_segment_s"] / max(p["hop_s"], 1e-9)
    return [(a, b) for a, b in pieces
            if b - a >= min_bins and np.median(ff[a:b]) > p["f_lo_hz"] + p["edge_band_hz"]]


def auto_score(ff: np.ndarray, hop_s: float, broadband_bins: int, p: dict) -> dict[str, float]:
    """The paper's six scored properties, judged automatically from FF(t) (used where nobody scored them).

    direction: the majority of rising / falling / flat steps of FF (|slope| < ``flat_slope_hz_per_s`` is flat;
    jumps and breaks excluded; tremolo removed by smoothing first); peaks: local maxima of FF (breaks bridged)
    with prominence ≥ ``peak_prominence_hz``; breaks: the gaps and jumps between the pieces of
    :func:`line_pieces` (a noise detection of scattered fragments is not a call with 8 breaks); broadband: at
    least ``broadband_min_bins`` broadband time bins; tremolo: periodic FF modulation (autocorrelation salience
    and depth); complexity: peaks + breaks ≥ 2, or tremolo.
    """
    voiced = ff > 0
    if voiced.sum() < 2:
        return {k: (0.0 if voiced.any() else np.nan) for k in PROPERTIES}
    both = voiced[1:] & voiced[:-1]
    jumps = _jump_mask(ff, p["jump_hz"])
    # Breaks: where the line is disconnected, i.e. between consecutive pieces of a real line (noise specks
    # and low-frequency noise at the band edge are not pieces of the call's line).
    breaks = max(0, len(line_pieces(ff, p)) - 1)
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


def spectral_marginal(ff_voiced: np.ndarray, fe_voiced: np.ndarray) -> np.ndarray:
    """The paper's spectral marginal on :data:`SPECTRAL_GRID_HZ`: per frequency bin, the temporal average of
    FE(t) over the voiced bins whose FF(t) falls in it (nearest grid bin), scaled to a maximum of 1."""
    out = np.zeros(N_SPECTRAL)
    if ff_voiced.size == 0:
        return out
    step = SPECTRAL_GRID_HZ[1] - SPECTRAL_GRID_HZ[0]
    k = np.round((ff_voiced - SPECTRAL_GRID_HZ[0]) / step).astype(int)
    inside = (k >= 0) & (k < N_SPECTRAL)
    np.add.at(out, k[inside], fe_voiced[inside])
    out /= ff_voiced.size
    top = out.max()
    return out / top if top > 0 else out


def spectral_shape(S: np.ndarray, floor_db: float) -> tuple[float, float, float]:
    """Wiener entropy, spectral salience and spectral purity of the denoised spectrogram ``S`` (frequency x
    voiced time bins; 0 where there is no sound), each the mean over the time bins that hold sound.

    Wiener entropy: ln(geometric / arithmetic mean) of a column, on ``S`` scaled to the call's maximum with
    empty bins at ``floor_db`` below it (a geometric mean needs positive values; a floor tied to the call, not
    to the recording, keeps the value free of the noise floor and the distance). Salience: the largest
    off-zero peak of a column's autocorrelation across frequency over its zero-lag value. Purity: a column's
    maximum over its sum. NaN when no column holds sound.
    """
    keep = S.sum(axis=0) > 0
    if not keep.any():
        return float("nan"), float("nan"), float("nan")
    C = S[:, keep] / S.max()
    eps = 10 ** (-floor_db / 10)
    Cf = np.maximum(C, eps)
    we = float(np.mean(np.mean(np.log(Cf), axis=0) - np.log(Cf.mean(axis=0))))
    salience = float(_salience_columns(C, center=False).mean())
    purity = float(np.mean(C.max(axis=0) / C.sum(axis=0)))
    return we, salience, purity


def call_features(spec: ChunkSpectrogram, onset_s: float, offset_s: float,
                  p: dict) -> tuple[dict[str, float], CallVectors]:
    """Features, auto-scored properties and vectors of the call detected in ``[onset_s, offset_s]``."""
    lo = np.searchsorted(spec.times, onset_s - p["margin_s"])
    hi = np.searchsorted(spec.times, offset_s + p["margin_s"], side="right")
    row: dict[str, float] = {c: np.nan for c in FEATURE_COLUMNS + EXTRA_COLUMNS + AUTO_COLUMNS}
    row["n_ff_bins"] = 0
    P = spec.power[:, lo:hi]
    db, den = denoise(P, spec.floor, p)
    ff, first, last = _ff_of(db, den, spec.freqs, p)
    if ff.size == 0:
        return row, CallVectors.zeros()
    voiced = ff > 0
    times = spec.times[lo + first: lo + last + 1]
    cols = P[:, first:last + 1]
    excess = np.maximum(cols - spec.floor[:, None], 0.0)
    # The denoised spectrogram S: the call's power above the floor where the denoised image shows sound.
    S = np.where(den[:, first:last + 1] >= p["support_db"], excess, 0.0)
    kbin = np.clip(np.round((ff - spec.freqs[0]) / (spec.freqs[1] - spec.freqs[0])).astype(int), 0, P.shape[0] - 1)
    fe = np.where(voiced, excess[kbin, np.arange(ff.size)], 0.0)  # FE(t) = S(FF(t), t)
    fv, fe_v = ff[voiced], fe[voiced]
    marginal = spectral_marginal(fv, fe_v)
    ok_steps = voiced[1:] & voiced[:-1]
    (t_skew, t_kurt), (s_skew, s_kurt) = _skew_kurt(fe_v), _skew_kurt(marginal)
    mean_step = float(np.mean(np.diff(ff)[ok_steps])) if ok_steps.any() else 0.0
    we, salience, purity = spectral_shape(S[:, voiced], p["denoised_floor_db"])
    row.update(
        spectral_width_hz=float(fv.max() - fv.min()),
        duration_s=(last - first + 1) * spec.hop_s + p["duration_offset_s"],  # each bin covers one hop
        f_start_hz=float(fv[0]), f_end_hz=float(fv[-1]),
        f_min_ff_hz=float(fv.min()), f_max_ff_hz=float(fv.max()),
        mean_frequency_hz=float(fv.mean()),
        mean_frequency_weighted_hz=float((spec.freqs[:, None] * excess).sum() / max(excess.sum(), 1e-30)),
        temporal_skewness=t_skew, temporal_kurtosis=t_kurt, spectral_skewness=s_skew, spectral_kurtosis=s_kurt,
        ff_direction=float(np.sign(mean_step)),
        wiener_entropy=we, spectral_salience=salience,
        ff_tremolo=_salience(fv),
        volume_db=float(10 * np.log10(max(fe_v.mean(), 1e-14))),
        spectral_purity=purity,
        ff_onset_s=float(times[0]), ff_offset_s=float(times[-1]), n_ff_bins=int(voiced.sum()),
    )
    auto = auto_score(ff, spec.hop_s, _broadband_bins(db, spec.freqs, ff, first, p), p)
    row.update({f"auto_{k}": v for k, v in auto.items()})
    top = float(fe.max())
    time_marginal = fe / top if top > 0 else fe  # per call: its shape, not its level (that is volume_db)
    vec = CallVectors(_on_grid(ff, times, times[0]), _on_grid(time_marginal, times, times[0]),
                      marginal.astype(np.float32))
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
