"""What a reviewer of Fig 6 asked for (issue 23), checked by code on small synthetic inputs: in A and E the lower
example's title ("male M01") sits clear below the upper example's lowest frequency tick label ("25"), instead of
on the same line (it read as "25 male M01")."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from test_figures import NOTICE, _assert_clean, audited  # noqa: E402, F401

from usvflow.figures import style  # noqa: E402

LAYERS = ["conv1", "conv2", "conv3", "conv4", "conv5", "conv6", "fc1", "fc2"]  # the reference run's eight
MIN_CLEARANCE_PT = 3.0  # the title's top below the tick label's bottom: a visible gap, not a shared line


def _fig6_inputs():
    rng = np.random.default_rng(9)
    measures = ["sparsity", "sparsity_seen", "within_corr", "across_corr", "deconv_stim_corr", "deconv_similarity"]
    summary = pd.DataFrame([{"measure": m, "layer_index": i, "layer": lay, "sex": sx, "n": 40,
                             "mean": 0.3 + 0.2 * rng.random(), "sem": 0.01}
                            for m in measures for i, lay in enumerate(LAYERS) for sx in "FM"])
    acts = [rng.random((4, 25 // (i + 1) + 2, 25 // (i + 1) + 2)) for i in range(6)] + [rng.random(64), rng.random(40)]
    examples = {sx: {"call_uid": f"{sx}#1", "animal": f"{sx}01", "sex": sx, "stimulus": rng.random((50, 50)),
                     "layers": LAYERS, "activations": acts,
                     "reconstructions": [rng.normal(size=(50, 50)) for _ in LAYERS]} for sx in "FM"}
    return summary, examples


def _example_inputs(fig) -> list[plt.Axes]:
    """The input axes of A and E (titled with the sex and animal), top to bottom on the page."""
    axes = [a for a in fig.axes if a.get_title(loc="left").startswith(("female ", "male "))]
    return sorted(axes, key=lambda a: -a.get_position().y0)


def test_fig6_example_titles_share_no_line_with_a_tick_label(tmp_path, audited):  # noqa: F811
    from usvflow.figures.network import plot_fig6

    summary, examples = _fig6_inputs()
    with style.script_figures(NOTICE["caption"]):
        fig = plot_fig6(summary, examples, {"n_folds": 8}, NOTICE["cohort"])
        fig.savefig(tmp_path / "fig6.pdf")
    renderer = fig.canvas.get_renderer()
    pt = 72 / fig.dpi
    inputs = _example_inputs(fig)
    assert len(inputs) == 4  # A: female, male; E: female, male
    ticks = [t.get_window_extent(renderer) for a in inputs for t in a.get_yticklabels() if t.get_text()]
    for ax in inputs:
        title = ax._left_title.get_window_extent(renderer)
        gap = min(max(t.y0 - title.y1, title.y0 - t.y1) for t in ticks) * pt
        assert gap >= MIN_CLEARANCE_PT, (f"'{ax.get_title(loc='left')}' is {gap:.1f} pt (vertically) from an input "
                                         "panel's frequency tick label: they read as one line")
    for upper, lower in zip(inputs[0::2], inputs[1::2]):
        assert upper.get_title(loc="left").startswith("female") and lower.get_title(loc="left").startswith("male")
        # the male title below the female panel's spine and any tick marks on it
        assert upper.get_tightbbox(renderer).y0 - lower._left_title.get_window_extent(renderer).y1 >= 1 / pt
    plt.close("all")
    _assert_clean(audited)
