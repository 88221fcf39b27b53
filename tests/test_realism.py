"""The simulator-vs-real measurements (usvflow.simulate.realism.measure_calls) on synthetic calls whose
pitch is known: a call inside one 1-kHz bin gets its bandwidth between bins, not 0 kHz; a call with no
frame above the voicing threshold has no measurable pitch (NaN), not a one-frame 0 kHz bandwidth."""

from __future__ import annotations

import numpy as np

from usvflow.simulate.realism import measure_calls

FS = 250_000


def _recording(calls: list[tuple[float, float, float, float, float]], seed: int = 0) -> np.ndarray:
    """1 s of white noise (sd 0.01) with linear sweeps (onset s, offset s, f0 Hz, f1 Hz, amplitude)."""
    rng = np.random.default_rng(seed)
    x = 0.01 * rng.standard_normal(FS)
    for on, off, f0, f1, amp in calls:
        t = np.arange(int((off - on) * FS)) / FS
        phase = 2 * np.pi * (f0 * t + 0.5 * (f1 - f0) / (off - on) * t ** 2)
        x[int(on * FS):int(on * FS) + t.size] += amp * np.sin(phase)
    return x.astype(np.float32)


def test_a_call_inside_one_bin_gets_a_sub_bin_bandwidth_and_frequency():
    calls = [(0.20, 0.23, 60_000, 60_600, 0.2),  # a 0.6 kHz sweep: inside one 1-kHz bin for most frames
             (0.50, 0.53, 70_300, 70_300, 0.2),  # a pure tone between two bins' centres
             (0.80, 0.83, 50_000, 58_000, 0.2)]  # an 8 kHz sweep: unchanged by the refinement (to a bin)
    m = measure_calls(_recording(calls), FS, np.array([[c[0], c[1]] for c in calls]))
    assert 0.3 < m.loc[0, "bandwidth_khz"] < 0.8  # 5th-95th percentile of a 0.6 kHz sweep: 0.54 kHz
    assert abs(m.loc[0, "mean_frequency_khz"] - 60.3) < 0.15
    assert abs(m.loc[1, "mean_frequency_khz"] - 70.3) < 0.1  # the bin alone would say 70.0
    assert m.loc[1, "bandwidth_khz"] < 0.2
    assert abs(m.loc[2, "bandwidth_khz"] - 0.9 * 8.0) < 1.0


def test_a_call_without_voiced_frames_has_no_pitch_rather_than_zero_bandwidth():
    calls = [(0.30, 0.33, 60_000, 66_000, 0.0005), (0.60, 0.63, 60_000, 66_000, 0.2), (0.80, 0.8006, 60_000, 60_000, 0.2)]
    x = _recording(calls)
    x[int(0.295 * FS):int(0.335 * FS)] *= 0.1  # a quiet stretch: no frame of the faint call 10 dB above the floor
    m = measure_calls(x, FS, np.array([[c[0], c[1]] for c in calls]))
    assert np.isnan(m.loc[0, "bandwidth_khz"]) and np.isnan(m.loc[0, "mean_frequency_khz"])
    assert np.isfinite(m.loc[0, "snr_db"]) and m.loc[0, "snr_db"] < 10
    assert m.loc[1, "bandwidth_khz"] > 4
    # a 0.6 ms call has too few voiced frames (hop 0.5 ms) for a bandwidth, but a pitch
    assert np.isnan(m.loc[2, "bandwidth_khz"]) and abs(m.loc[2, "mean_frequency_khz"] - 60) < 0.3
