"""How close the simulated calls are to real ones: the same measurements on both, and a distance.

Both sides are measured the same way, inside annotated call intervals (the simulator's truth or a
human's), so the comparison does not depend on any detector.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ..audio.io import read_wav
from ..audio.stft import spectrogram

MEASURES = {
    "duration_ms": "duration (ms)",
    "mean_frequency_khz": "mean frequency (kHz)",
    "bandwidth_khz": "bandwidth (kHz)",
    "ici_ms": "inter-call interval (ms, < 1 s)",
    "snr_db": "SNR (dB, peak bin vs noise floor)",
}


def measure_calls(x: np.ndarray, fs: int, intervals: np.ndarray, band_hz: tuple[float, float] = (25e3, 125e3),
                  voiced_db: float = 10.0, min_voiced: int = 3) -> pd.DataFrame:
    """Duration, mean frequency, bandwidth, SNR and inter-call interval of each interval.

    A 1 ms Hann spectrogram (0.5 ms hop) is restricted to ``band_hz``. The noise floor of each
    frequency bin is its median over the whole recording (calls occupy a small share of the time).
    Inside a call, frames whose loudest bin is ``voiced_db`` above that floor are voiced; the loudest
    bin's frequency, refined between bins by a parabola through the log powers of it and its two
    neighbours (the 1 kHz bins would otherwise give a call that stays inside one bin 0 kHz bandwidth),
    traces the call. Bandwidth spans the 5th-95th percentiles of that trace, which keeps one noisy frame
    from setting it. A call with no voiced frame has no measurable pitch: its mean frequency and bandwidth
    are NaN (left out of the comparison), its SNR is still given; with fewer than ``min_voiced`` voiced
    frames the bandwidth alone is NaN.
    """
    spec = spectrogram(x, fs, window_s=0.001, hop_s=0.0005).band(band_hz[0], min(band_hz[1], fs / 2))
    floor = np.median(spec.power, axis=1) + 1e-20
    rows = []
    intervals = np.asarray(intervals, float).reshape(-1, 2)
    for a, b in intervals:
        cols = (spec.times >= a) & (spec.times <= b)
        if not cols.any():
            rows.append(dict(duration_ms=(b - a) * 1e3, mean_frequency_khz=np.nan, bandwidth_khz=np.nan, snr_db=np.nan))
            continue
        p = spec.power[:, cols]
        peak_bin = p.argmax(axis=0)
        peak_snr = 10 * np.log10(p[peak_bin, np.arange(p.shape[1])] / floor[peak_bin])
        voiced = peak_snr >= voiced_db
        f = peak_frequency(p[:, voiced], peak_bin[voiced], spec.freqs) / 1e3
        rows.append(dict(
            duration_ms=(b - a) * 1e3,
            mean_frequency_khz=float(f.mean()) if f.size else np.nan,
            bandwidth_khz=float(np.percentile(f, 95) - np.percentile(f, 5)) if f.size >= min_voiced else np.nan,
            snr_db=float(peak_snr.max()),
        ))
    out = pd.DataFrame(rows, columns=["duration_ms", "mean_frequency_khz", "bandwidth_khz", "snr_db"])
    ici = np.diff(intervals[:, 0]) * 1e3 if len(intervals) > 1 else np.zeros(0)
    out["ici_ms"] = np.append(ici, np.nan) if len(out) else []
    out.loc[out["ici_ms"] >= 1000, "ici_ms"] = np.nan  # pauses between bouts are not call intervals
    return out


def peak_frequency(power: np.ndarray, peak_bin: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """Each frame's peak frequency between bins: the vertex of the parabola through the log powers of the
    peak bin and its two neighbours (the peak bin's own frequency at the band's edges)."""
    k = np.clip(peak_bin, 1, len(freqs) - 2)
    cols = np.arange(power.shape[1])
    a, b, c = (np.log(power[k + d, cols] + 1e-30) for d in (-1, 0, 1))
    curve = a - 2 * b + c
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(curve < 0, 0.5 * (a - c) / curve, 0.0)
    inner = (peak_bin >= 1) & (peak_bin <= len(freqs) - 2)
    step = freqs[1] - freqs[0] if len(freqs) > 1 else 0.0
    return freqs[peak_bin] + np.where(inner, np.clip(shift, -0.5, 0.5), 0.0) * step


def measure_real_clips(realdata_dir: str | Path) -> pd.DataFrame:
    """Measure every human-annotated call of the AMVOC clips (``clip*/recording.wav`` + ``truth.csv``)."""
    frames = []
    for clip in sorted(Path(realdata_dir).glob("clip*/")):
        truth = pd.read_csv(clip / "truth.csv", header=None, names=["onset_s", "offset_s"]).sort_values("onset_s")
        x, fs = read_wav(clip / "recording.wav")
        m = measure_calls(x, fs, truth.to_numpy())
        m.insert(0, "source", clip.name)
        frames.append(m)
    return pd.concat(frames, ignore_index=True)


def measure_simulated(wav_paths: list[str | Path], truth_tables: list[pd.DataFrame]) -> pd.DataFrame:
    """Measure simulated calls inside their true intervals, one recording at a time."""
    frames = []
    for wav, truth in zip(wav_paths, truth_tables):
        x, fs = read_wav(wav)
        t = truth.sort_values("onset_s")
        m = measure_calls(x, fs, t[["onset_s", "offset_s"]].to_numpy())
        m.insert(0, "source", Path(wav).stem)
        frames.append(m)
    return pd.concat(frames, ignore_index=True)


def compare(sim: pd.DataFrame, real: pd.DataFrame) -> pd.DataFrame:
    """Per measure: medians, the two-sample Kolmogorov-Smirnov distance D (0 = same distribution,
    1 = disjoint) and the Wasserstein (earth mover's) distance in the measure's own unit."""
    rows = []
    for key, label in MEASURES.items():
        a, b = sim[key].dropna().to_numpy(), real[key].dropna().to_numpy()
        ks = stats.ks_2samp(a, b)
        rows.append(dict(measure=key, label=label, n_sim=a.size, n_real=b.size,
                         median_sim=float(np.median(a)), median_real=float(np.median(b)),
                         ks_distance=float(ks.statistic), ks_pvalue=float(ks.pvalue),
                         wasserstein=float(stats.wasserstein_distance(a, b))))
    return pd.DataFrame(rows)


def call_visibility(x: np.ndarray, fs: int, intervals: np.ndarray, visible_db: float = 10.0,
                    min_fade_s: float = 0.002, band_hz: tuple[float, float] = (25e3, 125e3)) -> pd.DataFrame:
    """How well each call stands out from the noise around it, and where it fades.

    A 1 ms Hann spectrogram (0.5 ms hop) in ``band_hz``; each bin's floor is its median over the frames
    *outside* the intervals (5 ms margins), so a stretch of raised noise is measured against its own floor.
    Per call: ``peak_snr_db``, the loudest bin's level above its floor at the call's best frame (the measure
    of :func:`measure_calls`); ``fades``, the stretches of at least ``min_fade_s`` between the call's first and
    last visible frames (some bin ``visible_db`` above the floor; noise alone reaches 10 dB in about one
    frame in ten) where it is not visible; ``fade_ms``, their total length. Used to match the simulator's
    faint-in-broadband-noise condition to a real clip (benchmarks/faint_condition.py)."""
    spec = spectrogram(x, fs, window_s=0.001, hop_s=0.0005).band(band_hz[0], min(band_hz[1], fs / 2))
    intervals = np.asarray(intervals, float).reshape(-1, 2)
    inside = np.zeros(len(spec.times), bool)
    for a, b in intervals:
        inside |= (spec.times >= a - 0.005) & (spec.times <= b + 0.005)
    floor = np.median(spec.power[:, ~inside] if (~inside).sum() >= 10 else spec.power, axis=1) + 1e-20
    hop = float(spec.times[1] - spec.times[0]) if len(spec.times) > 1 else 0.0005
    min_frames = max(1, int(round(min_fade_s / hop)))
    rows = []
    for a, b in intervals:
        cols = (spec.times >= a) & (spec.times <= b)
        if not cols.any():
            rows.append(dict(duration_ms=(b - a) * 1e3, peak_snr_db=np.nan, fades=0, fade_ms=0.0))
            continue
        p = spec.power[:, cols]
        k = p.argmax(axis=0)
        snr = 10 * np.log10(p[k, np.arange(p.shape[1])] / floor[k])
        visible = np.flatnonzero(snr >= visible_db)
        fades, fade_ms = 0, 0.0
        if len(visible) >= 2:
            gap = ~(snr[visible[0] : visible[-1] + 1] >= visible_db)
            d = np.diff(np.r_[0, gap.astype(np.int8), 0])
            lengths = np.flatnonzero(d == -1) - np.flatnonzero(d == 1)
            lengths = lengths[lengths >= min_frames]
            fades, fade_ms = int(len(lengths)), float(lengths.sum() * hop * 1e3)
        rows.append(dict(duration_ms=(b - a) * 1e3, peak_snr_db=float(snr.max()), fades=fades, fade_ms=fade_ms))
    return pd.DataFrame(rows, columns=["duration_ms", "peak_snr_db", "fades", "fade_ms"])


def noise_spectrum(x: np.ndarray, fs: int, intervals: np.ndarray,
                   bands_khz: tuple = ((25, 40), (40, 60), (60, 80), (80, 100), (100, 125))) -> dict[str, float]:
    """The noise floor outside the intervals (5 ms margins) per frequency band, as the level (dBFS) of a white
    noise with the same power density: flat numbers mean broadband white noise."""
    spec = spectrogram(x, fs, window_s=0.001, hop_s=0.0005)
    inside = np.zeros(len(spec.times), bool)
    for a, b in np.asarray(intervals, float).reshape(-1, 2):
        inside |= (spec.times >= a - 0.005) & (spec.times <= b + 0.005)
    floor = np.median(spec.power[:, ~inside], axis=1)
    ref = spectrogram(np.random.default_rng(0).standard_normal(fs // 10).astype(np.float32), fs, window_s=0.001,
                      hop_s=0.0005)
    level = 10 * np.log10(floor / np.median(ref.power, axis=1) + 1e-30)
    out = {}
    for lo, hi in bands_khz:
        m = (spec.freqs >= lo * 1e3) & (spec.freqs < min(hi * 1e3, fs / 2))
        out[f"{lo}-{hi} kHz"] = float(np.mean(level[m])) if m.any() else float("nan")
    return out
