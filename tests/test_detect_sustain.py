"""Faint calls kept whole (issue 15). Sustained evidence: a faint call that never reaches the threshold but
holds its level is found, the faint remainder of a call joins the piece of it that reached the threshold,
clear calls are unchanged and white noise never sustains. Trajectory bridging: a fragment whose strongest bin
is a louder noise band still continues the trajectory it holds."""

from types import SimpleNamespace

import numpy as np
import pytest

from usvflow.detect import detect_array, resolve_params
from usvflow.detect.default import _BLOCK, _default_evidence
from usvflow.detect.evaluate import iou_matrix
from usvflow.detect.segments import _sustained_runs, _with_sustained

P = resolve_params("default")
HOP = P["hop_s"]


def _tone(fs, snr_db, seed, dur=0.08, at=1.0, seconds=2.0, f_hz=70e3):
    """White noise with one flat tone, ``snr_db`` = tone power over the noise power in a 10 kHz band."""
    rng = np.random.default_rng(seed)
    rms = 0.01
    x = rms * rng.standard_normal(int(seconds * fs))
    t = np.arange(int(dur * fs)) / fs
    amp = np.sqrt(2 * rms**2 * 10e3 / (fs / 2) * 10 ** (snr_db / 10))
    i = int(at * fs)
    x[i : i + len(t)] += amp * np.minimum(1, np.minimum(t, dur - t) / 0.002) * np.sin(2 * np.pi * f_hz * t)
    return x.astype(np.float32), np.array([[at, at + dur]])


@pytest.mark.parametrize("fs", [250_000, 300_000])
def test_white_noise_never_sustains(fs):
    # The level (sustain_db) stands 1.5 dB above what the 5 ms average of pure noise reaches over minutes,
    # as the threshold does above the noise's ridge score; over 12 s it stays well below.
    x = (0.01 * np.random.default_rng(3).standard_normal(12 * fs)).astype(np.float32)
    ev = _default_evidence(x, fs, 0, {**P, "_fft_workers": 1}, None, (0, np.inf), None)
    a, _ = _sustained_runs(ev, {**P, "sustain_db": P["sustain_db"] - 1.0})
    assert len(a) == 0
    assert len(detect_array(x, fs).calls) == 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_faint_call_below_the_threshold_is_found_by_its_sustained_evidence(seed):
    # A 1 dB tone peaks at a ridge score of 9-10 dB: with the threshold at 10 dB only its sustained level
    # finds it.
    fs = 250_000
    x, truth = _tone(fs, 1.0, seed)
    high = {"threshold_db": 10.0}
    assert len(detect_array(x, fs, params={**high, "sustain_db": None}).calls) == 0
    calls = detect_array(x, fs, params=high).calls
    assert len(calls) >= 1
    assert iou_matrix(truth, calls[["onset_s", "offset_s"]].to_numpy()).max() > 0


def test_clear_calls_are_unchanged():
    fs = 300_000
    x = np.zeros(int(2 * fs), np.float32)
    for k, snr in enumerate((8.0, 14.0, 20.0)):
        y, _ = _tone(fs, snr, k, dur=0.03 + 0.02 * k, at=0.3 + 0.5 * k, f_hz=55e3 + 10e3 * k)
        x = x + y if k else y
    on = detect_array(x, fs).calls
    off = detect_array(x, fs, params={"sustain_db": None}).calls
    assert len(on) == 3
    np.testing.assert_array_equal(on[["onset_s", "offset_s"]].to_numpy(), off[["onset_s", "offset_s"]].to_numpy())


def _evidence(levels):
    """A stand-in for a chunk's evidence: the per-frame ridge score only (noise at 4 dB, +/- 0.3 dB)."""
    s = 4.0 + 0.3 * np.sin(np.arange(3 * _BLOCK))
    for a, b, v in levels:
        s[a:b] = v
    return SimpleNamespace(s=s, hop_s=HOP)


def test_faint_remainder_joins_the_piece_and_a_faint_call_stands_alone():
    L = int(round(P["sustain_s"] / HOP))
    ev = _evidence([
        (1000, 1100, 7.5), (1040, 1060, 12.0),  # a faint 50 ms call of which 10 ms reached the threshold
        (2000, 2040, 20.0),  # a clear call
        (2500, 2540, 7.5),  # a faint call of its own
    ])
    starts, stops = np.array([1040, 2000]), np.array([1060, 2040])
    a, b = _with_sustained(ev, starts, stops, P)
    assert len(a) == 3
    # The piece and its remainder are one call, within a window of the faint call's ends.
    assert 1000 <= a[0] <= 1000 + L and 1100 - L <= b[0] <= 1100
    assert (a[1], b[1]) == (2000, 2040)  # the clear call keeps its extent
    assert abs(a[2] - 2500) <= L // 2 and abs(b[2] - 2540) <= L // 2  # the faint call: its windows
    # Without sustained evidence the piece stays a piece.
    a, b = _with_sustained(_evidence([]), starts, stops, P)
    np.testing.assert_array_equal(a, starts)
    np.testing.assert_array_equal(b, stops)


def _fragments(near_db):
    """Ridge evidence of two fragments 5 ms apart: the first at bin 30 throughout; the second strongest at
    bin 60 (a louder noise band), with ``near_db`` at bin 31 in its first frames (the call going on)."""
    F, T, half = 90, 400, 2
    R = np.full((F, T), 2.0 / (10.0 / (2 * half + 1)), np.float32)  # 2 dB everywhere
    to_r = 1.0 / (10.0 / (2 * half + 1))
    R[30, 100:140] = 15.0 * to_r
    R[60, 150:190] = 20.0 * to_r
    R[31, 150:160] = near_db * to_r
    s = R.max(axis=0) * (10.0 / (2 * half + 1))
    ev = SimpleNamespace(R=R, s=s, hop_s=HOP, fb=30_000.0 + 1000.0 * np.arange(F), half=half)
    return ev, np.array([100, 150]), np.array([140, 190])


def test_a_trajectory_continues_under_a_louder_band():
    from usvflow.detect.segments import _bridges

    # The second fragment holds the hysteresis level 1 kHz from where the first ended: one trajectory,
    # although its strongest bin (30 kHz away) says otherwise.
    ev, a, b = _fragments(P["hysteresis_db"] + 1.0)
    assert list(_bridges(ev, a, b, P)) == [1, -1]
    assert list(_bridges(ev, a, b, {**P, "bridge_near": False})) == [-1, -1]
    # Below the hysteresis level there, nothing continues the first fragment.
    ev, a, b = _fragments(P["hysteresis_db"] - 1.0)
    assert list(_bridges(ev, a, b, P)) == [-1, -1]
