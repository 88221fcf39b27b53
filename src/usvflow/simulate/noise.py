"""Noise of the simulated recordings (layer 4 of :mod:`usvflow.simulate`)."""

from __future__ import annotations

import numpy as np
import scipy.signal as sps

from .conditions import _add_faint_epochs

# --------------------------------------------------------------------------------------------
# Noise
# --------------------------------------------------------------------------------------------


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
              call_spans: np.ndarray, faint_epochs: list[tuple[float, float, float]] = (),
              epoch_rng: np.random.Generator | None = None) -> list[dict]:
    """Add every noise source in place; returns the noise events for the truth table.

    ``call_spans`` (n×2, seconds) lets a share of clicks and bursts land on top of calls, the case
    that breaks energy-threshold detectors. ``faint_epochs`` (:func:`~usvflow.simulate.conditions.plan_faint_epochs`)
    add white noise over the whole band on top of the floor, drawn from ``epoch_rng`` (so the other noise is
    unchanged).
    """
    n = len(audio)
    dur = n / fs
    events: list[dict] = []
    floor = float(10 ** (noise["floor_dbfs"] / 20)) * float(np.exp(noise["floor_jitter_log_sd"] * rng.standard_normal()))
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
    t = rng.exponential(mv["mean_interval_s"])
    while t < dur:
        length = rng.uniform(*mv["duration_s"])
        m = int(length * fs)
        top = rng.uniform(*mv["top_hz"])
        x = _bandlimited_noise(rng, m, fs, 0.0, top)
        x *= np.hanning(m) * floor * 10 ** (rng.uniform(*mv["level_db_above_floor"]) / 20)
        _add_event(audio, int(t * fs), x)
        events.append(dict(recording=recording, kind="movement", onset_s=t, offset_s=t + length, f_low_hz=0.0,
                           f_high_hz=top, amplitude=float(np.abs(x).max())))
        t += length + rng.exponential(mv["mean_interval_s"])

    def placed_times(rate: float, share_on_calls: float) -> list[float]:
        k = rng.poisson(rate * dur)
        times = list(rng.uniform(0, dur, size=k))
        if len(call_spans):
            on = rng.random(len(call_spans)) < share_on_calls
            times += [float(rng.uniform(a, b)) for a, b in call_spans[on]]
        return sorted(times)

    ck = noise["clicks"]
    for t in placed_times(ck["rate_per_s"], ck["share_of_calls_hit"]):
        m = max(8, int(rng.uniform(*ck["duration_ms"]) / 1000 * fs))
        decay = np.exp(-np.arange(m) / (m / 4))
        x = rng.standard_normal(m).astype(np.float32) * decay * floor * 10 ** (rng.uniform(*ck["level_db_above_floor"]) / 20)
        _add_event(audio, int(t * fs), x.astype(np.float32))
        events.append(dict(recording=recording, kind="click", onset_s=t, offset_s=t + m / fs, f_low_hz=0.0,
                           f_high_hz=fs / 2, amplitude=float(np.abs(x).max())))

    bs = noise["bursts"]
    for t in placed_times(bs["rate_per_s"], bs["share_of_calls_hit"]):
        length = rng.uniform(*bs["duration_ms"]) / 1000
        m = int(length * fs)
        lo, hi = 2000.0, 0.97 * fs / 2
        x = _bandlimited_noise(rng, m, fs, lo, hi) * np.hanning(m)
        x *= floor * 10 ** (rng.uniform(*bs["level_db_above_floor"]) / 20)
        _add_event(audio, int(t * fs), x)
        events.append(dict(recording=recording, kind="burst", onset_s=t, offset_s=t + length, f_low_hz=lo,
                           f_high_hz=hi, amplitude=float(np.abs(x).max())))

    tb = noise["tonal_band"]
    if rng.random() < tb["probability"]:
        f0 = rng.uniform(*tb["frequency_hz"])
        amp = floor * 10 ** (rng.uniform(*tb["level_db_above_floor"]) / 20)
        for i in range(0, n, block):
            k = np.arange(i, min(n, i + block))
            # A slow ±jitter keeps the band from being a perfect line, as with real electrical noise.
            audio[i:i + len(k)] += (amp * np.sin(2 * np.pi * f0 * k / fs + 0.3 * np.sin(2 * np.pi * 0.2 * k / fs))).astype(np.float32)
        events.append(dict(recording=recording, kind="tonal_band", onset_s=0.0, offset_s=dur, f_low_hz=f0 - 100,
                           f_high_hz=f0 + 100, amplitude=float(amp)))
    return events
