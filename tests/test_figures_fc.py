"""SqueakOut Figs 3 and 6 as a reviewer read them (issue 23): the noise line only where it is defined and named for
what it measures, the zoomed accuracy axis said, the truth column's strokes explained, Fig 6's scores readable."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd

matplotlib.use("Agg")
from matplotlib.colors import to_rgb  # noqa: E402
from test_figures import NOTICE, _assert_clean, _crops, audited, saved  # noqa: E402, F401

from usvflow.figures import segment  # noqa: E402


def _steps() -> pd.DataFrame:
    """The refinement's steps as :func:`usvflow.segment.refine.refine_masks` writes them: erosion scores no noise."""
    names = ["threshold"] + ["calls task", "calls + noise tasks", "erosion"] * 2
    rounds = [0, 1, 1, 1, 2, 2, 2]
    return pd.DataFrame({"step": names, "round": rounds,
                         "dice_mean": [78.7, 79.6, 80.4, 79.6, 81.5, 78.8, 77.8], "dice_sem": [0.3] * 7,
                         "accuracy_mean": [98.56, 98.59, 98.59, 98.67, 98.74, 98.64, 98.62],
                         "accuracy_sem": [0.03] * 7,
                         "noise_empty_pct": [95.4, 95.6, 80.9, np.nan, 85.9, 99.6, np.nan]})


def _fig3(tmp_path, saved, n_noise=517):  # noqa: F811 - the fixture imported above
    images, masks = _crops(2)
    examples = {"threshold": masks, "autoencoder 1": masks, "erosion 1": masks}
    segment.plot_refinement(_steps(), images, masks, examples, str(tmp_path / "sq3.pdf"), NOTICE["segment"],
                            n_noise=n_noise)
    fig = saved[-1]
    panel = next(a for a in fig.axes if a.get_title(loc="left").startswith("A "))
    right = next(a for a in fig.axes if a is not panel and a.bbox.bounds == panel.bbox.bounds)
    return fig, panel, right


def test_noise_line_is_drawn_only_at_the_steps_that_score_it(tmp_path, saved, audited):  # noqa: F811
    _, panel, _ = _fig3(tmp_path, saved)
    green = [ln for ln in panel.get_lines() if ln.get_label().startswith("noise crops")]
    assert len(green) == 1
    x, y = np.asarray(green[0].get_xdata(), float), np.asarray(green[0].get_ydata(), float)
    steps = _steps()
    undefined = steps["noise_empty_pct"].isna().to_numpy()
    # Every step has its place on the line (shifted sideways by one constant so its markers clear the Dice and
    # accuracy markers of the same step); the erosion steps are gaps (NaN), so no segment crosses them.
    shift = x - np.arange(len(steps))
    assert len(x) == len(steps) and np.allclose(shift, shift[0]) and abs(shift[0]) < 0.5
    assert np.isnan(y[undefined]).all() and np.isfinite(y[~undefined]).all()
    _assert_clean(audited)


def test_noise_line_says_what_it_measures(tmp_path, saved):  # noqa: F811
    _, panel, _ = _fig3(tmp_path, saved, n_noise=517)
    texts = [t.get_text() for t in panel.get_legend().get_texts()]
    label = next(t for t in texts if t.startswith("noise crops"))
    # refine._score_step: the share of ALL noise crops (the noise task trains on ~90 % of them) whose mask,
    # the threshold's or the autoencoder's, has no pixel at all
    assert "no mask pixel" in label and "of all 517 noise crops" in label and "training crops" in label
    assert label == segment.noise_empty_label(517)


def test_the_zoomed_accuracy_axis_says_its_span(tmp_path, saved, audited):  # noqa: F811
    _, panel, right = _fig3(tmp_path, saved)
    lo, hi = right.get_ylim()
    assert hi - lo < 1  # the zoom the reviewer saw: a fraction of a point
    assert "zoomed" in right.get_ylabel()
    texts = [t.get_text() for t in panel.get_legend().get_texts()]
    acc = next(t for t in texts if t.startswith("pixel accuracy"))
    assert f"spans only {hi - lo:.2g} points" in acc
    assert f"the left axis {np.diff(panel.get_ylim())[0]:.0f}" in acc
    _assert_clean(audited)


def test_the_truth_column_says_what_its_strokes_are(tmp_path, saved):  # noqa: F811
    fig, _, _ = _fig3(tmp_path, saved)
    header = next(t.get_text() for a in fig.axes for t in a.texts if t.get_text().startswith("B "))
    assert header.split("\n", 1)[1].replace("\n", " ") == segment.TRUTH_NOTE


def test_the_truth_note_is_what_the_simulator_renders():
    """The note's two claims, on :func:`render_mask` itself: a frame spanning a frequency step is filled between
    both frequencies, and a broadband burst is marked over its whole band (noise events are not an input)."""
    from usvflow.simulate.recording import render_mask

    t = np.arange(0, 0.02, 1e-4)
    f = np.where(t < 0.01, 50e3, 75e3).astype(np.float32)  # a step from 50 to 75 kHz at 10 ms
    contours = {"t": t, "f": f, "call_index": np.zeros(t.size, int)}
    calls = pd.DataFrame({"call_id": [0], "harmonic_amp": [0.0], "bb_onset_s": [0.004], "bb_offset_s": [0.005],
                          "bb_f_low_hz": [30e3], "bb_f_high_hz": [90e3]})
    freqs = np.arange(25e3, 121e3, 1e3)
    times = np.arange(0.0005, 0.02, 1e-3)
    mask = render_mask(contours, calls, times, freqs)
    between = (freqs > 55e3) & (freqs < 70e3)  # neither frequency's ±2 kHz: silent in the spectrogram
    after_burst = times > 0.007
    step_frames = np.flatnonzero(mask[between].all(0) & after_burst)
    assert step_frames.size and np.all(np.abs(times[step_frames] - 0.01) <= 1e-3)
    burst = (freqs >= 30e3) & (freqs <= 90e3)
    assert mask[np.ix_(burst, (times >= 0.004) & (times <= 0.005))].all()
    calls.loc[0, ["bb_onset_s", "bb_offset_s"]] = np.nan  # without the burst, nothing above the call there
    assert not render_mask(contours, calls, times, freqs)[np.ix_(freqs > 80e3, times < 0.008)].any()


def _luminance(colour) -> float:
    c = np.array(to_rgb(colour))
    c = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2])


def test_fig6_scores_sit_under_the_masks_and_read_on_white(tmp_path, saved, audited):  # noqa: F811
    images, masks = _crops(3)
    scores = {"threshold": (np.array([0.959, 0.95, 0.97]), np.array([0.003, 0.6, 0.7])),
              "SqueakOut": (np.array([0.963, 0.97, 0.99]), np.array([0.213, 0.8, 0.9]))}
    segment.plot_examples(images, {"truth": masks, "threshold": masks, "SqueakOut": masks}, scores,
                          str(tmp_path / "sq6.pdf"), NOTICE["segment"])
    fig = saved[-1]
    r = fig.canvas.get_renderer()
    found = 0
    for ax in fig.axes:
        for t in ax.texts:
            if t.get_text().replace(".", "").isdigit():
                found += 1
                box, img = t.get_window_extent(r), ax.get_window_extent(r)
                assert box.y1 <= img.y0 + 0.5, f"{t.get_text()!r} covers its mask"  # outside the dark image
                # WCAG contrast against the white page: at least 4.5 (normal text)
                assert 1.05 / (_luminance(t.get_color()) + 0.05) >= 4.5, t.get_color()
    assert found == 2 * 2 * 3
    _assert_clean(audited)
