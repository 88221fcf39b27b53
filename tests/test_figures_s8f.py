"""Issue 23 (review 8): SqueakOut Fig 3's series stay apart and its legend says why the noise line breaks;
SqueakOut Fig 5's example labels stay off C's column titles with no blank band under the title; the detection
benchmark marks the in-sample score of our default detector."""

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from test_figures import NOTICE, _assert_clean, _crops, audited, saved  # noqa: E402,F401,F811  (fixtures)

from usvflow.figures import style  # noqa: E402


def _steps() -> pd.DataFrame:
    """Refinement steps shaped like the default run's: the three series meet at one step (round 1's noise task)
    and the erosion steps leave the noise share unscored (NaN)."""
    names = ["threshold", "calls task", "calls + noise tasks", "erosion", "calls task", "calls + noise tasks",
             "erosion"]
    return pd.DataFrame({"step": names, "round": [0, 1, 1, 1, 2, 2, 2],
                         "dice_mean": [76.0, 76.5, 77.2, 78.5, 78.8, 76.1, 76.0], "dice_sem": [0.3] * 7,
                         "accuracy_mean": [98.47, 98.48, 98.466, 98.69, 98.67, 98.57, 98.61],
                         "accuracy_sem": [0.03] * 7,
                         "noise_empty_pct": [95.4, 95.6, 80.9, np.nan, 85.9, 99.6, np.nan]})


def _marker_xs(fig) -> dict[str, np.ndarray]:
    """The x positions of panel A's markers, per series (its legend label's first words)."""
    out = {}
    for ax in fig.axes:
        for container in ax.containers:  # the error-bar series: their data line is the container's first
            if hasattr(container, "lines") and not container.get_label().startswith("_"):
                out[container.get_label().split(" ")[0]] = np.asarray(container.lines[0].get_xdata(), float)
        for line in ax.get_lines():
            label = line.get_label()
            if line.get_marker() not in ("None", "", None) and not label.startswith("_"):
                out[label.split(" ")[0]] = np.asarray(line.get_xdata(), float)
    return out


def test_squeakout_fig3_markers_apart_and_noise_gaps_explained(tmp_path, audited, saved):  # noqa: F811
    from usvflow.figures.segment import noise_empty_label, plot_refinement

    images, masks = _crops(2)
    steps = _steps()
    examples = {"threshold": masks, "autoencoder 1": masks, "erosion 1": masks}
    plot_refinement(steps, images, masks, examples, str(tmp_path / "sq3.pdf"), NOTICE["segment"], n_noise=50)
    _assert_clean(audited)
    fig = saved[0]
    xs = _marker_xs(fig)
    assert {"Dice", "pixel", "noise"} <= set(xs), xs
    # At every step the three series' markers sit at distinct x positions, at least 0.15 step apart.
    stacked = np.vstack([xs["Dice"], xs["pixel"], xs["noise"]])
    gaps = np.abs(stacked[:, None, :] - stacked[None, :, :])[np.triu_indices(3, 1)]
    assert gaps.min() >= 0.15, gaps.min()
    # ... and no further than a third of a step from the step's tick, so each still reads as that step's.
    ticks = fig.axes[0].get_xticks()
    assert np.abs(stacked - ticks[None, : stacked.shape[1]]).max() <= 1 / 3
    # The legend entry of the noise share says that erosion steps are unscored, and the line does break there.
    label = noise_empty_label(50)
    assert "erosion" in label and "breaks" in label
    legend_texts = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    assert label in legend_texts
    noise_y = next(line.get_ydata() for ax in fig.axes for line in ax.get_lines() if line.get_label() == label)
    assert np.isnan(np.asarray(noise_y, float)[steps["step"].to_numpy() == "erosion"]).all()


def _text_boxes(fig, renderer):
    return [(t.get_text(), t.get_window_extent(renderer)) for t in fig.findobj(matplotlib.text.Text)
            if t.get_visible() and t.get_text().strip()]


def test_squeakout_fig5_labels_clear_of_c_and_no_band_under_the_title(tmp_path, audited, saved):  # noqa: F811
    from usvflow.figures.segment import plot_augmentations

    images, masks = _crops(9)
    names = ["affine", "contrast", "blur", "additive", "gaussian", "frequency", "elastic"]
    single = {k: (images[i], masks[i]) for i, k in enumerate(names)}
    # C's titles of three lines (three augmentations applied), as the default run draws them
    combined = [(images[i], masks[i], ["affine", "contrast", "additive"]) for i in range(len(names))]
    plot_augmentations(images[8], masks[8], single, combined, str(tmp_path / "sq5.pdf"), NOTICE["segment"])
    _assert_clean(audited)
    fig = saved[0]
    fig.canvas.draw()  # lay the texts out at the canvas' own dpi (the PDF was drawn at 72)
    renderer = fig.canvas.get_renderer()
    boxes = _text_boxes(fig, renderer)
    time_label = next(b for t, b in boxes if t.startswith("time"))
    c_titles = [b for t, b in boxes if t.startswith("C  ") or t.startswith("affine\n")]
    assert c_titles
    pad = 2.0 * fig.dpi / 72  # two points
    # the example's x label sits wholly above the lowest line of C's titles' tops: not on the same line
    assert all(time_label.y0 > c.y1 + pad for c in c_titles), (time_label, [c.y1 for c in c_titles])
    # the top row of crops starts within 0.6 in of the canvas' top (the title sits above the canvas)
    top_row = max(ax.get_window_extent(renderer).y1 for ax in fig.axes if ax.get_images())
    blank_in = (fig.bbox.y1 - top_row) / fig.dpi
    assert blank_in <= 0.6, blank_in


def test_detection_benchmark_marks_the_in_sample_score(tmp_path, audited, saved):  # noqa: F811
    from usvflow.figures.detection import plot_benchmark, tool_label

    assert tool_label("usvflow-default", "in-sample") == "usvflow-default (in-sample)"
    assert tool_label("usvflow-default", "leave-one-clip-out") == "usvflow-default (LOCO)"
    assert tool_label("usvseg", "independent") == "usvseg"
    rows = []
    rng = np.random.default_rng(3)
    for tool, evaluation in [("usvflow-default", "in-sample"), ("usvflow-default", "leave-one-clip-out"),
                             ("usvseg", "independent"), ("usvflow-paper", "independent")]:
        for subset in ["clip1", "clip2", "pooled"]:
            for crit in ["iou0.3", "iou0.5", "overlap"]:
                rows.append({"dataset": "amvoc-dev", "subset": subset, "tool": tool, "evaluation": evaluation,
                             "criterion": crit, "f1": rng.random(), "onset_err_ms": 2.0, "offset_err_ms": 3.0})
    for tool in ["usvflow-default", "usvflow-paper"]:  # the simulated cohort: scored independently
        for subset in ["pooled", "noise:none", "noise:click", "type:flat", "type:up_fm"]:
            rows.append({"dataset": "simulated", "subset": subset, "tool": tool, "evaluation": "independent",
                         "criterion": "iou0.3", "f1": rng.random(), "onset_err_ms": 1.0, "offset_err_ms": 2.0})
    with style.script_figures(f"{NOTICE['cohort']} and real annotated clips (data/amvoc-dev)"):
        plot_benchmark(pd.DataFrame(rows), tmp_path / "detection_benchmark.pdf")
    _assert_clean(audited)
    fig = saved[0]
    real_panels = [ax for ax in fig.axes if ax.get_title(loc="center").startswith(("A ", "B "))
                   or ax.get_title(loc="left").startswith(("A ", "B "))]
    assert len(real_panels) == 2
    for ax in real_panels:
        ticks = [t.get_text().replace("\n", " ") for t in ax.get_xticklabels()]
        # the in-sample score is marked; no plain "usvflow-default" stands beside the independent tools
        assert "usvflow-default (in-sample)" in ticks and "usvflow-default" not in ticks, ticks
        assert "usvflow-default (LOCO)" in ticks and "usvseg" in ticks
