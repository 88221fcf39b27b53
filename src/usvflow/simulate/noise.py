"""Noise of the simulated recordings (layer 4 of :mod:`usvflow.simulate`)."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import scipy.signal as sps
from scipy.stats import poisson

from .conditions import _add_faint_epochs

# --------------------------------------------------------------------------------------------
# Noise
# --------------------------------------------------------------------------------------------


def nuisance_levels(sim: dict, q: dict[str, float], duration_s: float) -> dict[str, float]:
    """The recording-level nuisance of one recording, from its stratified quantiles ``q``
    (:func:`usvflow.simulate.plan.plan_nuisance`): each value is the quantile ``q`` of its distribution, so
    groups balanced in ``q`` are balanced in the value.

    ``distance_centre_m`` (the distance walk's start and centre) is uniform in ``distance.centre_m``;
    ``gain_db`` uniform in ``gain_db``; ``floor_dbfs`` is ``noise.floor_dbfs`` plus the log-normal jitter
    (``floor_jitter_log_sd``) plus the gain; a tonal band is present when ``q < tonal_band.probability``, at a level
    uniform in ``level_db_above_floor``; the numbers of movement episodes, clicks and bursts are Poisson quantiles
    (means: the recording's length over the mean gap plus the mean episode; rate times length).
    """
    noise = sim["noise"]
    lo, hi = sim["distance"]["centre_m"]
    g_lo, g_hi = sim["gain_db"]
    gain_db = g_lo + q["gain"] * (g_hi - g_lo)
    jitter_db = 20 * np.log10(np.e) * noise["floor_jitter_log_sd"] * NormalDist().inv_cdf(q["floor"])
    tb, mv = noise["tonal_band"], noise["movement"]
    t_lo, t_hi = tb["level_db_above_floor"]
    movement_mean = duration_s / (mv["mean_interval_s"] + float(np.mean(mv["duration_s"])))
    return dict(
        distance_centre_m=lo + q["distance"] * (hi - lo),
        gain_db=gain_db,
        floor_dbfs=noise["floor_dbfs"] + jitter_db + gain_db,
        tonal_band=float(q["tonal_band"] < tb["probability"]),
        tonal_level_db=t_lo + q["tonal_level"] * (t_hi - t_lo),
        movement=float(poisson.ppf(q["movement"], movement_mean)),
        clicks=float(poisson.ppf(q["clicks"], noise["clicks"]["rate_per_s"] * duration_s)),
        bursts=float(poisson.ppf(q["bursts"], noise["bursts"]["rate_per_s"] * duration_s)),
    )


def _movement_onsets(rng: np.random.Generator, count: int, lengths: np.ndarray, duration_s: float) -> np.ndarray:
    """Onsets of ``count`` non-overlapping episodes of ``lengths`` in ``duration_s``: the free time is split
    into ``count + 1`` gaps uniformly at random (the gaps of a Poisson process given its count)."""
    free = duration_s - float(lengths.sum())
    gaps = rng.exponential(size=count + 1)
    gaps *= max(free, 0.0) / gaps.sum()
    return np.cumsum(gaps[:-1]) + np.concatenate([[0.0], np.cumsum(lengths[:-1])])


def _add_event(audio: np.ndarray, start: int, burst: np.ndarray) -> None:
    stop = min(len(audio), start + len(burst))
    if stop > start:
        audio[start:stop] += burst[: stop - start]


def _bandlimited_noise(rng: np.random.Generator, n: int, fs: int, lo: float, hi: float) -> np.ndarray:
    if lo <= 0:
        sos = sps.butter(4, hi, btype="lowpass", fs=fs, output="sos")
    else:
        sos = sps.butter(4, [lo, min(hi, 0.99 * fs / 2)], btype="bandpass", fs=fs, output="sos")
    x = sps.sosfilt(sos, rng.standard_normal(n).astype(np.float32))
    return (x / (np.std(x) + 1e-12)).astype(np.float32)


def add_noise(audio: np.ndarray, fs: int, rng: np.random.Generator, noise: dict, recording: str,
              call_spans: np.ndarray, levels: dict[str, float], faint_epochs: list[tuple[float, float, float]] = (),
              epoch_rng: np.random.Generator | None = None) -> list[dict]:
    """Add every noise source in place; returns the noise events for the truth table.

    ``levels`` (:func:`nuisance_levels`) sets the recording-level nuisance: the floor, whether there is a tonal
    band and its level, and how many movement episodes, clicks and bursts there are; their times, lengths and
    the other levels are drawn here from ``rng``.

    ``call_spans`` (n×2, seconds) lets a share of clicks and bursts land on top of calls, the case
    that breaks energy-threshold detectors. ``faint_epochs`` (:func:`~usvflow.simulate.conditions.plan_faint_epochs`)
    add white noise over the whole band on top of the floor, drawn from ``epoch_rng`` (so the other noise is
    unchanged).
    """
    n = len(audio)
    dur = n / fs
    events: list[dict] = []
    floor = float(10 ** (levels["floor_dbfs"] / 20))
    block = 1 << 22  # ~14 s at 300 kHz: bounded temporary memory
    low_sos = sps.butter(2, noise["floor_low_corner_hz"], btype="lowpass", fs=fs, output="sos")
    zi = np.zeros((low_sos.shape[0], 2))
    for i in range(0, n, block):
        w = rng.standard_normal(min(block, n - i), dtype=np.float32)
        # Microphones are noisier at low frequencies: a low-passed copy of the same white noise
        # gives that tilt for the cost of one filter.
        low, zi = sps.sosfilt(low_sos, w, zi=zi)
        audio[i:i + len(w)] += floor * (w + noise["floor_low_gain"] * low.astype(np.float32))
    _add_faint_epochs(audio, fs, floor, faint_epochs, epoch_rng, recording, events)

    # Movement noise: episodes of loud low-frequency rumble whose top edge leaks above 25 kHz.
    mv = noise["movement"]
    lengths = rng.uniform(*mv["duration_s"], size=int(levels["movement"]))
    for t, length in zip(_movement_onsets(rng, len(lengths), lengths, dur), lengths):
        m = int(length * fs)
        top = rng.uniform(*mv["top_hz"])
        x = _bandlimited_noise(rng, m, fs, 0.0, top)
        x *= np.hanning(m) * floor * 10 ** (rng.uniform(*mv["level_db_above_floor"]) / 20)
        _add_event(audio, int(t * fs), x)
        events.append(dict(recording=recording, kind="movement", onset_s=t, offset_s=t + length, f_low_hz=0.0,
                           f_high_hz=top, amplitude=float(np.abs(x).max())))

    def placed_times(k: int, share_on_calls: float) -> list[float]:
        times = list(rng.uniform(0, dur, size=k))
        if len(call_spans):
            on = rng.random(len(call_spans)) < share_on_calls
            times += [float(rng.uniform(a, b)) for a, b in call_spans[on]]
        return sorted(times)

    ck = noise["clicks"]
    for t in placed_times(int(levels["clicks"]), ck["share_of_calls_hit"]):
        m = max(8, int(rng.uniform(*ck["duration_ms"]) / 1000 * fs))
        decay = np.exp(-np.arange(m) / (m / 4))
        x = rng.standard_normal(m).astype(np.float32) * decay * floor * 10 ** (rng.uniform(*ck["level_db_above_floor"]) / 20)
        _add_event(audio, int(t * fs), x.astype(np.float32))
        events.append(dict(recording=recording, kind="click", onset_s=t, offset_s=t + m / fs, f_low_hz=0.0,
                           f_high_hz=fs / 2, amplitude=float(np.abs(x).max())))

    bs = noise["bursts"]
    for t in placed_times(int(levels["bursts"]), bs["share_of_calls_hit"]):
        length = rng.uniform(*bs["duration_ms"]) / 1000
        m = int(length * fs)
        lo, hi = 2000.0, 0.97 * fs / 2
        x = _bandlimited_noise(rng, m, fs, lo, hi) * np.hanning(m)
        x *= floor * 10 ** (rng.uniform(*bs["level_db_above_floor"]) / 20)
        _add_event(audio, int(t * fs), x)
        events.append(dict(recording=recording, kind="burst", onset_s=t, offset_s=t + length, f_low_hz=lo,
                           f_high_hz=hi, amplitude=float(np.abs(x).max())))

    tb = noise["tonal_band"]
    if levels["tonal_band"]:
        f0 = rng.uniform(*tb["frequency_hz"])
        amp = floor * 10 ** (levels["tonal_level_db"] / 20)
        for i in range(0, n, block):
            k = np.arange(i, min(n, i + block))
            # A slow ±jitter keeps the band from being a perfect line, as with real electrical noise.
            audio[i:i + len(k)] += (amp * np.sin(2 * np.pi * f0 * k / fs + 0.3 * np.sin(2 * np.pi * 0.2 * k / fs))).astype(np.float32)
        events.append(dict(recording=recording, kind="tonal_band", onset_s=0.0, offset_s=dur, f_low_hz=f0 - 100,
                           f_high_hz=f0 + 100, amplitude=float(amp)))
    return events
