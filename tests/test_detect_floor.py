"""The default detector's noise floor over time (regimes), stationary lines, and short strong calls (issue 15)."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as sps

from usvflow.audio.io import write_wav
from usvflow.detect import detect_file, resolve_params
from usvflow.detect.default import _BLOCK, _block_floors, _tonal_fills
from usvflow.detect.evaluate import CRITERIA, score


def _floors(W, **params):
    p = resolve_params("default", params)
    energy = W.sum(axis=0)
    chunk = np.log10(W[:, energy <= np.quantile(energy, p["floor_quantile"])].mean(axis=1))
    return _block_floors(W, energy, p, 1e-30, p["hop_s"], chunk)


def _power(levels_db, seed=0, bins=90, frames=24_000):
    """Power (bins x frames) of white noise at ``levels_db`` (frame -> level, dB), with a dense bout of calls
    in the quiet frames: 30 % of them hold a call 20 dB up in bins 28-30."""
    rng = np.random.default_rng(seed)
    W = rng.chisquare(6, size=(bins, frames)) / 6 * 10 ** (levels_db / 10)
    calls = (rng.random(frames) < 0.3) & (levels_db == 0)
    W[28:31, calls] += 100.0
    return W


def test_floor_follows_a_noise_regime_and_keeps_calls_out():
    # 12 s (24 blocks): quiet, then 14 dB louder from block 8 to 11 (2 s, half the floor window), then quiet.
    levels = np.zeros(24_000)
    levels[8 * _BLOCK : 12 * _BLOCK] = 14.0
    W = _power(levels)
    floors = 10 * _floors(W)  # dB, blocks x bins
    loud = np.arange(8, 12)
    quiet = np.setdiff1d(np.arange(24), loud)
    # Each block is whitened with the floor of its own noise regime: the quiet one in the bins of the bout
    # too (the median over blocks keeps calls out), the loud one right from its first block.
    assert np.abs(floors[quiet]).max() < 1.0
    assert np.abs(floors[loud] - 14.0).max() < 1.0
    # Without regimes, a louder stretch shorter than the window gets the floor of the quiet one around it.
    mixed = 10 * _floors(W, floor_regime_db=None)
    assert (mixed[loud] < 1.0).all()


def test_floor_of_the_whole_chunk_when_the_window_is_off():
    levels = np.zeros(24_000)
    levels[12_000:] = 14.0
    W = _power(levels)
    floors = _floors(W, floor_window_s=None)
    assert np.allclose(floors, floors[0])


def test_stationary_lines_are_found_in_the_floor():
    df = 1000.0
    floor = np.zeros(90)
    floor[40:45] += np.log10(10 ** (np.array([2.0, 6.0, 9.0, 6.0, 2.0]) / 10))  # a tonal band, smoothed
    floor[0:3] += 1.5  # one at the band's lower edge
    floor += 0.3 * np.linspace(0, 1, 90)  # a gentle slope is not a line
    slope = 0.3 * np.linspace(0, 1, 90)
    fills = _tonal_fills(np.stack([floor, slope, floor]), 2.0, df)  # all blocks' floors at once
    idx, below, above, w = fills[0]
    assert {0, 1, 2, 41, 42, 43} <= set(idx) and not {10, 60, 89} & set(idx)
    line = idx >= 40
    assert (below[line] == 40).all() and (above[line] == 44).all()
    np.testing.assert_allclose(w[line], [0.25, 0.5, 0.75])
    assert fills[1] is None
    assert all(np.array_equal(a, b) for a, b in zip(fills[2], fills[0]))  # each row on its own
    assert _tonal_fills(np.stack([floor]), None, df) == [None]


def _line_under_rumble(seed, fs=250_000):
    """6 s of white noise with a constant tone at 34.5 kHz 10 dB above it, and two 1 s episodes of loud
    low-frequency rumble (movement noise) whose top edge, 31 kHz, leaks into the band around the tone."""
    rng = np.random.default_rng(seed)
    n = int(6 * fs)
    x = (0.002 * rng.standard_normal(n)).astype(np.float32)
    x += (0.002 * np.sqrt(2) * 10 ** 0.5 * np.sin(2 * np.pi * 34.5e3 * np.arange(n) / fs)).astype(np.float32)
    sos = sps.butter(4, 31e3, btype="lowpass", fs=fs, output="sos")
    for on in (1.0, 3.5):
        m = fs
        r = sps.sosfilt(sos, rng.standard_normal(m))
        x[int(on * fs) : int(on * fs) + m] += (0.15 * r / r.std() * np.hanning(m)).astype(np.float32)
    return x


@pytest.mark.parametrize("seed", [0, 1])
def test_a_tonal_band_under_rising_noise_makes_no_calls(tmp_path, seed):
    # Whitened against a floor that holds the tone, the tone's bins become a notch when the rumble rises
    # around them, and the bins beside the notch looked like a tone: false calls along the band.
    path = tmp_path / "line.wav"
    write_wav(path, _line_under_rumble(seed), 250_000)
    assert len(detect_file(path).calls) == 0
    assert len(detect_file(path, params={"tonal_db": None}).calls) > 0


def _short_calls(fs, amp, seed=0):
    rng = np.random.default_rng(seed)
    x = (0.002 * rng.standard_normal(int(1.0 * fs))).astype(np.float32)
    onsets = [0.2, 0.45, 0.7]
    dur = 0.0025
    t = np.arange(int(dur * fs)) / fs
    env = np.minimum(1, np.minimum(t, dur - t) / 0.0005)
    for k, on in enumerate(onsets):
        c = amp * env * np.sin(2 * np.pi * (60e3 + 10e3 * k) * t)
        x[int(on * fs) : int(on * fs) + len(c)] += c.astype(np.float32)
    return x, np.array([[on, on + dur] for on in onsets])


def test_short_strong_calls_are_kept_and_faint_ones_not(tmp_path):
    # 2.5 ms calls, whose runs (the ridge spreads a call by about a frame either side: 4 ms) are shorter than
    # a minimum duration of 5 ms (the shipped 3.5 ms would keep them anyway): kept when their ridge reaches
    # short_call_db.
    fs = 250_000
    path = tmp_path / "short.wav"
    five_ms = {"min_duration_s": 0.005}
    x, truth = _short_calls(fs, 0.01)  # 32 dB in a 1 kHz band, like the simulated short calls
    write_wav(path, x, fs)
    calls = detect_file(path, params=five_ms).calls
    assert (calls.score >= resolve_params("default")["short_call_db"]).all()
    assert score(truth, calls, 0.3).f1 == 1.0
    assert len(detect_file(path, params={**five_ms, "short_call_db": None}).calls) == 0
    # The same calls 11-12 dB up (ridge score) are left out: noise and the pieces of clicks reach that.
    x, truth = _short_calls(fs, 0.002)
    write_wav(path, x, fs)
    assert len(detect_file(path, params=five_ms).calls) == 0
    # At 8 dB they are kept (padded to about 8 ms at this level, so scored at any overlap).
    assert score(truth, detect_file(path, params={**five_ms, "short_call_db": 8.0}).calls, CRITERIA["overlap"]).f1 == 1.0

