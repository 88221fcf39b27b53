"""Figure fixes after a reader's review (issue 23): Fig 1D names where the six properties come from, read from
the data; simulator_vs_real's densities carry values and B's time labels do not touch; Fig 6's colour-bar
labels stay within their bars and A's (E's) "input level" sits by its own bar, apart from B's (F's) images."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from test_figures import NOTICE, _assert_clean, _cohort, _wav, audited, draw_simulator_vs_real, saved  # noqa: F401  (fixtures)

from usvflow.figures import style
from usvflow.figures.features import plot_fig1, properties_origin
from usvflow.figures.network import ACTIVATION_LABEL, INPUT_LABEL, RECONSTRUCTION_LABEL, plot_fig6

# ------------------------------------------------------------------------------------------------ Fig 1D


def test_properties_origin_follows_the_source_column():
    assert properties_origin(pd.Series(["truth"] * 5)) == "6 from the simulator's truth"
    assert properties_origin(["annotations"] * 3) == "6 scored by a human"
    assert properties_origin(np.array(["auto", "auto"])) == "6 scored automatically"
    mixed = properties_origin(["truth"] * 1674 + ["auto"])
    assert mixed.startswith("6 from the simulator's truth") and "1674 of 1675" in mixed
    assert "scored automatically" in mixed
    human = properties_origin(["annotations"] * 7 + ["none"] * 2 + ["auto"])  # 'none' is auto-filled
    assert human.startswith("6 scored by a human") and "7 of 10" in human
    assert "unrecorded" in properties_origin(None)


def _fig1(tmp_path, feats, table, images) -> None:
    animals = sorted(table["animal"].unique())
    stats1 = {"values": {"rates_per_animal": {a: 150.0 + 10 * i for i, a in enumerate(animals)},
                         "animal_group": {a: a[0] for a in animals},
                         "calls_per_group": table["sex"].value_counts().to_dict()}}
    times, freqs = np.linspace(3.0, 4.5, 300), np.linspace(20e3, 125e3, 100)
    calls = pd.DataFrame({"onset_s": [3.2], "offset_s": [3.25], "f_min_hz": [50e3], "f_max_hz": [70e3]})
    stretch = {"db": np.random.default_rng(1).gamma(1, 5, (100, 300)), "times": times, "freqs": freqs,
               "calls": calls, "title": "C  rec_1: 1.5 s with the 1 detected call"}
    plot_fig1(table, images, feats, stats1, stretch, "sex", ["F", "M"], NOTICE["caption"], tmp_path / "fig1.pdf")


@pytest.mark.parametrize("sources, expected", [("truth", "simulator's truth"), ("annotations", "by a human"),
                                               ("mixed", "of 120 calls")])
def test_fig1d_box_names_the_datas_property_source(tmp_path, audited, saved, sources, expected):  # noqa: F811
    table, images, feats = _cohort()
    if sources == "mixed":  # one human-scored call, the rest auto-scored: the majority is named with its count
        feats["properties_source"] = ["annotations"] + ["auto"] * (len(feats) - 1)
    else:
        feats["properties_source"] = sources
    _fig1(tmp_path, feats, table, images)
    _assert_clean(audited)
    texts = [" ".join(t.get_text().split()) for ax in saved[0].axes for t in ax.texts
             if t.get_text().startswith("9 features")]  # the box's lines joined
    assert len(texts) == 1 and expected in texts[0]
    if sources == "mixed":
        assert texts[0].startswith("9 features (6 scored automatically") and f"{len(feats) - 1} of {len(feats)}" in texts[0]
    if sources == "truth":  # simulated data: no human in the box
        assert "human" not in texts[0]


# ------------------------------------------------------------------------------------- simulator_vs_real


def _simulator_vs_real(tmp_path, length_s: float = 0.6):
    draw_simulator_vs_real(tmp_path, n_real=4, n_sim=4, length_s=length_s)


def _histograms(fig):
    return [ax for ax in fig.axes if ax.patches and ax.get_ylabel().startswith("density")]


def test_simulator_vs_real_densities_have_values_and_a_unit(tmp_path, audited, saved):  # noqa: F811
    _simulator_vs_real(tmp_path)
    _assert_clean(audited)
    fig = saved[0]
    fig.canvas.draw()
    hists = _histograms(fig)
    assert len(hists) == 5
    for ax in hists:
        labels = [t for t in ax.get_yticklabels() if t.get_text() and t.get_visible()]
        assert len(labels) >= 2, ax.get_ylabel()
        assert min(t.get_fontsize() for t in labels) >= 7
        assert ax.get_ylabel().startswith("density (1/")  # values in 1 per the measure's unit
        assert not ax.yaxis.get_offset_text().get_text()  # no multiplier hidden above the panel
        r = fig.canvas.get_renderer()  # the x values stay apart ("250500750" ran together)
        xs = sorted((t.get_window_extent(r) for t in ax.get_xticklabels() if t.get_text() and t.get_visible()),
                    key=lambda b: b.x0)
        assert all(a.x1 + 2 < b.x0 for a, b in zip(xs, xs[1:])), ax.get_xlabel()


@pytest.mark.parametrize("length_s", [0.6, 1.0])
def test_simulator_vs_real_b_time_labels_do_not_touch(tmp_path, audited, saved, length_s):  # noqa: F811
    _simulator_vs_real(tmp_path, length_s)
    _assert_clean(audited)
    fig = saved[0]
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    bottom = [ax for ax in fig.axes if ax.images and ax.get_xlabel() == "time (ms)"]
    assert len(bottom) == 4
    boxes = [[t.get_window_extent(r) for t in ax.get_xticklabels() if t.get_text() and t.get_visible()]
             for ax in sorted(bottom, key=lambda a: a.get_position().x0)]
    gap_pt = 2.0 * fig.dpi / 72
    for left, right in zip(boxes, boxes[1:]):
        assert max(b.x1 for b in left) + gap_pt < min(b.x0 for b in right)


# --------------------------------------------------------------------------------------------------- Fig 6


def _fig6():
    rng = np.random.default_rng(5)
    layers = [f"conv{k}" for k in range(1, 7)] + ["fc1", "fc2"]
    summary = pd.DataFrame([{"measure": m, "layer_index": i, "layer": lay, "sex": sx, "n": 40,
                             "mean": rng.random(), "sem": 0.01}
                            for m in ["sparsity", "within_corr", "across_corr", "deconv_stim_corr",
                                      "deconv_similarity"] for i, lay in enumerate(layers) for sx in "FM"])
    acts = [rng.random((4, 20, 20))] * 6 + [rng.random(30), rng.random(30)]
    examples = {sx: {"call_uid": f"{sx}#1", "animal": f"{sx}01", "sex": sx, "stimulus": rng.random((100, 100)),
                     "layers": layers, "activations": acts,
                     "reconstructions": [rng.normal(size=(100, 100)) for _ in layers]} for sx in "FM"}
    return plot_fig6(summary, examples, {}, NOTICE["cohort"])


def test_fig6_colour_bar_labels_stay_within_their_bars_and_input_level_by_its_own(tmp_path, audited):  # noqa: F811
    with style.script_figures(NOTICE["caption"]):
        fig = _fig6()
        fig.savefig(tmp_path / "fig6.pdf")
    _assert_clean(audited)
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    bars = {}
    for ax in fig.axes:
        text = " ".join(ax.get_ylabel().split())
        if text in {INPUT_LABEL, ACTIVATION_LABEL, RECONSTRUCTION_LABEL}:
            bars.setdefault(text, []).append(ax)
    assert len(bars[INPUT_LABEL]) == 2 and len(bars[ACTIVATION_LABEL]) == 1 and len(bars[RECONSTRUCTION_LABEL]) == 1
    images = [ax for ax in fig.axes if ax.images and not ax.get_ylabel()]  # B's and F's layer images
    for text, axes in bars.items():
        for cax in axes:
            bar, label = cax.get_window_extent(r), cax.yaxis.label.get_window_extent(r)
            assert bar.y0 - 1 <= label.y0 and label.y1 <= bar.y1 + 1, (text, label, bar)
            if text == INPUT_LABEL:  # nearer its own bar than the first layer image to its right
                right = [im.get_window_extent(r) for im in images
                         if im.get_window_extent(r).x0 > bar.x1 and im.get_window_extent(r).y1 > bar.y0
                         and im.get_window_extent(r).y0 < bar.y1]
                first = min(b.x0 for b in right)
                ticks = max(t.get_window_extent(r).x1 for t in cax.get_yticklabels() if t.get_text())
                assert first - label.x1 >= 2 * (label.x0 - ticks), (first, label, ticks)
    plt.close(fig)
