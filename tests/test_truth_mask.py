"""Truth masks see what each spectrogram frame sees: on a grid without overlap (the SqueakOut crops: window =
hop = 1 ms) a column takes the contour of its own 1-ms window only, not its neighbours' (issues 18, 23)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from usvflow.audio.stft import spectrogram
from usvflow.segment.crops import CropGrid
from usvflow.segment.dataset import recording_crops
from usvflow.simulate.calls import CallShape, synthesize_call
from usvflow.simulate.plan import CONTOUR_STEP_S
from usvflow.simulate.recording import load_truth, render_mask

MS = 1e-3
HALF = 2e3  # render_mask's default half-width on a 1-kHz grid: two bins
SLOPE = 4e3 / MS  # Hz/s: a steep upward sweep, 4 kHz per frame
T0, N = 2.05 * MS, 200  # contour from 2.05 to 21.95 ms, every 0.1 ms: never on a frame edge


def _one_call(t: np.ndarray, f: np.ndarray, bb: tuple[float, float, float, float] | None = None):
    contours = {"call_index": np.zeros(t.size, int), "t": t, "f": f.astype(np.float32)}
    b = bb or (np.nan,) * 4
    calls = pd.DataFrame({"call_id": [0], "harmonic_amp": [0.0], "bb_onset_s": [b[0]], "bb_offset_s": [b[1]],
                          "bb_f_low_hz": [b[2]], "bb_f_high_hz": [b[3]]})
    return contours, calls


def _sweep():
    t = T0 + np.arange(N) * CONTOUR_STEP_S
    return _one_call(t, 40e3 + SLOPE * (t - T0))


# Frames of 1 ms every 1 ms centred on 0.5, 1.5, ... ms; bins every 1 kHz, off the sweep's integer-kHz edges.
TIMES = (np.arange(30) + 0.5) * MS
FREQS = 25.5e3 + np.arange(96) * 1e3


def test_no_overlap_column_spans_only_its_own_frames_sweep():
    contours, calls = _sweep()
    t_end = T0 + (N - 1) * CONTOUR_STEP_S
    mask = render_mask(contours, calls, TIMES, FREQS, frame_s=1 * MS)
    for j, tj in enumerate(TIMES):
        a, b = max(tj - 0.5 * MS, T0), min(tj + 0.5 * MS, t_end)
        if a > b:  # the call does not sound in this frame
            assert not mask[:, j].any(), j
            continue
        # the sweep visits f(a)..f(b) during the frame (contour points 0.05 ms inside its edges)
        lo = 40e3 + SLOPE * (np.ceil(round((a - T0) / CONTOUR_STEP_S, 6)) * CONTOUR_STEP_S)
        hi = 40e3 + SLOPE * (np.floor(round((b - T0) / CONTOUR_STEP_S, 6)) * CONTOUR_STEP_S)
        expected = (FREQS >= lo - HALF) & (FREQS <= hi + HALF)
        assert np.array_equal(mask[:, j], expected), (j, FREQS[mask[:, j]], FREQS[expected])
    # the frames whose window meets the call (2-3 ms ... 21-22 ms), no more
    assert np.array_equal(np.flatnonzero(mask.any(0)), np.arange(2, 22))
    # two hops (the default, right only at 50 % overlap) reach into the neighbours: a column longer at either
    # end and every inner column taller by the sweep's 4 kHz over the extra half frame each side
    old = render_mask(contours, calls, TIMES, FREQS)
    assert np.array_equal(np.flatnonzero(old.any(0)), np.arange(1, 23))
    assert (old.sum(0)[3:21] - mask.sum(0)[3:21] == 4).all()
    assert (old >= mask).all()


def test_no_overlap_mask_fits_the_energy_of_a_simulated_sweep():
    """On the audio the simulator makes of the sweep: the new mask still holds every loud pixel of a 1-ms/1-ms
    spectrogram, and far fewer quiet ones than the two-hop mask."""
    fs = 250_000
    contours, calls = _sweep()
    rel_t = contours["t"] - T0
    env = np.ones(N)
    env[:20], env[-20:] = np.linspace(0, 1, 20), np.linspace(1, 0, 20)
    shape = CallShape("up_fm", rel_t, contours["f"].astype(float), env, 0, False)
    x = synthesize_call(shape, 0.5, fs, np.random.default_rng(0))
    onset = 10.33 * MS  # off the frame grid
    sig = 1e-4 * np.random.default_rng(1).standard_normal(int(0.04 * fs))
    s0 = int(round(onset * fs))
    sig[s0:s0 + x.size] += x
    spec = spectrogram(sig, fs, window_s=MS, hop_s=MS).band(25e3, 121e3)
    contours["t"] = s0 / fs + rel_t
    new = render_mask(contours, calls, spec.times, spec.freqs, frame_s=MS)
    old = render_mask(contours, calls, spec.times, spec.freqs)
    loud = spec.power > 1e-2 * spec.power.max()  # within 20 dB of the peak
    assert loud.any() and not (loud & ~new).any()
    assert spec.power[new].sum() / spec.power.sum() > 0.999
    assert new.sum() < 0.75 * old.sum()
    assert loud[new].mean() > loud[old].mean() + 0.1


def test_broadband_patch_covers_the_frames_it_sounds_in():
    t = np.arange(0.002, 0.012, CONTOUR_STEP_S)
    contours, calls = _one_call(t, np.full(t.size, 60e3), bb=(4.2 * MS, 6.7 * MS, 40e3, 90e3))
    rows = (FREQS >= 40e3) & (FREQS <= 90e3) & ((FREQS < 58e3) | (FREQS > 62e3))  # the patch, not the tone
    new = render_mask(contours, calls, TIMES, FREQS, frame_s=MS)
    assert np.array_equal(np.flatnonzero(new[rows].any(0)), [4, 5, 6])  # frames 4-5, 5-6, 6-7 ms
    assert new[np.ix_(rows, [4, 5, 6])].all()
    old = render_mask(contours, calls, TIMES, FREQS)
    assert np.array_equal(np.flatnonzero(old[rows].any(0)), [3, 4, 5, 6, 7])


def test_a_call_inside_one_frame_is_one_column_wide():
    """A call (or a crop's edge) that sounds within one frame gives a one-column mask, and that is right: only
    that frame sees it. The simulator's own calls last at least 3 ms and its patches 2 ms, so on the 1-ms grid
    a whole call is never one column wide; the two-hop frames made such a call three columns wide."""
    t = np.arange(5.2 * MS, 5.8 * MS, CONTOUR_STEP_S)
    contours, calls = _one_call(t, np.full(t.size, 60e3))
    assert np.array_equal(np.flatnonzero(render_mask(contours, calls, TIMES, FREQS, frame_s=MS).any(0)), [5])
    assert np.array_equal(np.flatnonzero(render_mask(contours, calls, TIMES, FREQS).any(0)), [4, 5, 6])


@pytest.mark.parametrize("window_s, hop_s", [(0.001, 0.0005), (0.002, 0.001), (0.0005, 0.00025)])
def test_fifty_percent_overlap_is_unchanged(tiny_cohort, window_s, hop_s):
    """At 50 % overlap the window is two hops: passing it gives the masks the default (today's) gives."""
    from usvflow.audio.io import read_wav

    rec = tiny_cohort["samples"].index[0]
    calls, _, contours = load_truth(tiny_cohort["truth_dir"], rec)
    x, fs = read_wav(tiny_cohort["samples"].loc[rec, "path"])
    spec = spectrogram(x, fs, window_s=window_s, hop_s=hop_s).band(25e3, 125e3)
    given = render_mask(contours, calls, spec.times, spec.freqs, frame_s=window_s)
    assert given.any() and np.array_equal(given, render_mask(contours, calls, spec.times, spec.freqs))


def test_crops_render_truth_with_the_grids_window(tiny_cohort):
    """recording_crops (the dataset builder's step) passes its grid's window: on the crops' 1-ms/1-ms grid the
    truth is the one-frame mask, not the two-hop one."""
    grid = CropGrid(n_freq=96, n_frames=64)
    rec = tiny_cohort["samples"].index[0]
    calls, _, contours = load_truth(tiny_cohort["truth_dir"], rec)
    out = recording_crops(tiny_cohort["samples"].loc[rec, "path"], calls[["onset_s", "offset_s"]].head(4), grid,
                          0, np.random.default_rng(0), tiny_cohort["truth_dir"], rec)
    assert len(out["meta"]) == 4
    wider = 0
    for k, m in out["meta"].iterrows():
        times = np.linspace(m["t0_s"], m["t1_s"], grid.n_frames)
        freqs = np.linspace(m["f0_hz"], m["f1_hz"], grid.n_freq)
        assert np.array_equal(out["truth"][k], render_mask(contours, calls, times, freqs, frame_s=grid.window_s))
        old = render_mask(contours, calls, times, freqs)
        assert (old >= out["truth"][k]).all()
        wider += int(old.sum() > out["truth"][k].sum())
    assert wider == 4


def test_frame_must_be_positive():
    contours, calls = _sweep()
    with pytest.raises(ValueError, match="frame_s"):
        render_mask(contours, calls, TIMES, FREQS, frame_s=0.0)
