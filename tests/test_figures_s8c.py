"""Fig 6's example calls are representative of their sex (a fixed, documented rule), and every detection in
Fig 1C is visible at print size while its box keeps the call's true duration (issue 23)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from test_figures import NOTICE, _assert_clean, _cohort, audited, fig1_stats, saved  # noqa: F401  (fixtures)

from usvflow.classify.models import build_model, layer_names
from usvflow.figures import features as figfeat
from usvflow.interpret.examples import MEASURES, image_measures, representative_call, typicality
from usvflow.interpret.layers import analyse_fold, load_example, pick_examples, save_example
from usvflow.interpret.settings import NetworkSettings

# --------------------------------------------------------------------------------------------- Fig 6's examples


def _whistles(widths: list[int], heights: list[int], side: int = 20) -> np.ndarray:
    """One filled rectangle per image (levels 1), ``widths`` columns by ``heights`` rows, plus a faint fringe."""
    out = np.zeros((len(widths), side, side))
    for i, (w, h) in enumerate(zip(widths, heights)):
        out[i, 2:2 + h, 1:1 + w] = 1.0
        out[i, 0, :] = 0.1  # faint: under the lit level, so it adds to no measure
    return out


def test_image_measures_count_lit_pixels_columns_and_rows():
    m = image_measures(_whistles([5, 12, 0], [3, 1, 0]))
    assert list(m.columns) == list(MEASURES)
    assert m["lit"].tolist() == [15, 12, 0]
    assert m["duration"].tolist() == [5, 12, 0]
    assert m["bandwidth"].tolist() == [3, 1, 0]
    gapped = np.zeros((1, 10, 10))
    gapped[0, 2, 1] = gapped[0, 7, 6] = 1.0  # two fragments: the span covers the gap
    assert image_measures(gapped).iloc[0].tolist() == [2, 6, 6]
    with pytest.raises(ValueError):
        image_measures(np.zeros((4, 4)))


def test_typicality_is_zero_at_the_sexs_median_and_grows_away_from_it():
    widths = [2, 4, 6, 8, 10, 30, 40, 50]  # F: a typical width of 6; M: 40
    images = _whistles(widths, [3] * 8, side=60)
    sex = np.array(["F"] * 5 + ["M"] * 3)
    d = typicality(image_measures(images), sex)
    assert d[2] == pytest.approx(0) and d[6] == pytest.approx(0)  # each sex's own median call
    assert d[0] > d[1] > d[2] < d[3] < d[4]
    # the same call is typical of one sex and atypical of the other: the medians are per sex
    d_other = typicality(image_measures(images), np.array(["M"] * 5 + ["F"] * 3))
    np.testing.assert_allclose(d, d_other)
    with pytest.raises(ValueError):
        typicality(image_measures(images), sex[:3])


def test_representative_call_picks_the_nearest_candidate_ties_first_and_falls_back():
    d = np.array([0.5, 0.1, 0.1, 0.0, 2.0])
    assert representative_call(d, np.array([0, 1, 2, 4]), np.arange(5)) == 1  # 3 is nearer but not a candidate
    assert representative_call(d, np.array([2, 1]), np.arange(5)) == 2  # a tie goes to the first given
    assert representative_call(d, np.array([], int), np.array([4, 0])) == 0  # no candidate: the fallback
    with pytest.raises(ValueError):
        representative_call(d, np.array([], int), np.array([], int))


def _tiny_fold_inputs(seed: int = 0):
    """Two animals per sex; each image a bar whose length is drawn around the sex's own typical length."""
    rng = np.random.default_rng(seed)
    animals = ["f1", "f2", "m1", "m2"]
    n = 10
    table = pd.DataFrame({"call_uid": [f"{a}_{i}" for a in animals for i in range(n)],
                          "animal": np.repeat(animals, n), "sex": np.repeat(["F", "F", "M", "M"], n)})
    widths = np.where(table["sex"] == "F", rng.integers(2, 9, len(table)), rng.integers(10, 19, len(table)))
    heights = rng.integers(1, 6, len(table))
    x = torch.from_numpy(_whistles(list(widths), list(heights))).float().unsqueeze(1)
    return table, x


def test_the_fold_example_is_its_most_typical_correctly_classified_call_and_is_deterministic(tmp_path):
    torch.manual_seed(0)
    model = build_model("cnn", 2, {"input_size": 20, "channels": [2, 2, 3, 3, 4, 4], "strides": [1, 2, 1, 2, 1, 1],
                                   "fc": [5, 3]}).eval()
    table, x = _tiny_fold_inputs()
    settings = NetworkSettings(reference_calls_per_sex=4, deconv_calls_per_animal=2, units_per_layer=2)
    dist = typicality(image_measures(x[:, 0].numpy()), table["sex"])
    test = np.flatnonzero(table["animal"] == "f1")
    # the fold's network "gets right" every held-out call but the most typical one: the example is the next
    correct = np.ones(len(table), bool)
    best = test[np.argmin(dist[test])]
    correct[best] = False
    _, ex = analyse_fold(model, x, table, "f1", settings, layer_names(model), correct)
    allowed = test[test != best]
    expected = allowed[np.argmin(dist[allowed])]
    assert ex["call_uid"] == table["call_uid"].iloc[expected] and ex["correct"] is True
    assert ex["distance"] == pytest.approx(dist[expected])
    np.testing.assert_array_equal(ex["stimulus"], x[expected, 0].numpy())
    # the measurements of the fold do not depend on the example: the same table with or without ``correct``
    long_a, _ = analyse_fold(model, x, table, "f1", settings, layer_names(model), correct)
    long_b, ex_all = analyse_fold(model, x, table, "f1", settings, layer_names(model))
    pd.testing.assert_frame_equal(long_a, long_b)
    assert ex_all["call_uid"] == table["call_uid"].iloc[best] and ex_all["correct"] is None
    # the fold got none right: all its held-out calls are the pool, and the file says so
    _, ex_none = analyse_fold(model, x, table, "f1", settings, layer_names(model), np.zeros(len(table), bool))
    assert ex_none["call_uid"] == ex_all["call_uid"] and ex_none["correct"] is False
    # saved and loaded intact; the pick across folds takes the smaller distance per sex
    paths = []
    for animal in ("f1", "f2", "m1", "m2"):
        _, e = analyse_fold(model, x, table, animal, settings, layer_names(model))
        paths.append(tmp_path / f"{animal}.npz")
        save_example(str(paths[-1]), e)
    loaded = [load_example(str(p)) for p in paths]
    assert all(set(e["measures"]) == set(MEASURES) for e in loaded)
    picked = pick_examples(loaded)
    for sex in ("F", "M"):
        mine = [e for e in loaded if e["sex"] == sex]
        assert picked[sex]["distance"] == min(e["distance"] for e in mine)
        assert picked[sex]["call_uid"] == min(mine, key=lambda e: e["distance"])["call_uid"]
    assert pick_examples(loaded[::-1])["F"]["call_uid"] == picked["F"]["call_uid"]  # not the order of the folds


def test_pick_examples_keeps_the_first_fold_for_examples_without_a_distance():
    old = [{"sex": "F", "call_uid": "a"}, {"sex": "F", "call_uid": "b"}, {"sex": "M", "call_uid": "c"}]
    assert {s: e["call_uid"] for s, e in pick_examples(old).items()} == {"F": "a", "M": "c"}


def test_fig6_note_says_how_the_examples_were_chosen():
    from usvflow.figures.network import fig6_note

    summary = pd.DataFrame([{"measure": "sparsity", "layer_index": 0, "layer": "conv1", "sex": s, "n": 5,
                             "mean": 0.5, "sem": 0.01} for s in "FM"])
    ex = {"F": {"call_uid": "sex_F02#235", "distance": 0.04}, "M": {"call_uid": "sex_M03#131", "distance": 0.2}}
    note = fig6_note(summary, {}, ex)
    assert note.startswith("A, E: ") and "sex_F02#235" in note and "sex_M03#131" in note
    assert "median" in note and "correctly classified" in note
    assert not fig6_note(summary, {}, {"F": {"call_uid": "x"}}).startswith("A, E")  # no distance, no claim


# --------------------------------------------------------------------------------------------- Fig 1C's detections


MIN_PT = 4.0  # every detection's drawn mark at least this wide on the printed page


def test_every_detection_in_fig1c_is_drawn_at_least_min_pt_wide_and_boxes_keep_their_duration(
        tmp_path, audited, saved):  # noqa: F811  (the fixtures imported above)
    table, images, feats = _cohort()
    stats1 = fig1_stats(table)
    times, freqs = np.linspace(3.0, 4.5, 300), np.linspace(20e3, 125e3, 100)
    # a 2-ms call (a fraction of a point at print size), a 3-ms one beside a long one, and two ordinary calls
    calls = pd.DataFrame({"onset_s": [3.2, 3.5, 3.505, 3.9, 4.2], "offset_s": [3.25, 3.502, 3.56, 3.97, 4.203],
                          "f_min_hz": [50e3, 60e3, 40e3, 60e3, 70e3], "f_max_hz": [70e3, 61e3, 80e3, 80e3, 72e3]})
    stretch = {"db": np.random.default_rng(1).gamma(1, 5, (100, 300)), "times": times, "freqs": freqs,
               "calls": calls, "title": "C  rec_1: 1.5 s with the 5 detected calls"}
    figfeat.plot_fig1(table, images, feats, stats1, stretch, "sex", ["F", "M"], NOTICE["caption"],
                      tmp_path / "fig1.pdf")
    _assert_clean(audited)
    fig = saved[0]
    fig.canvas.draw()
    pt_per_px = 72 / fig.dpi  # the figure is drawn at the print width: a display point is a printed point
    marks = [a for ax in fig.axes for a in ax.lines if a.get_gid() == figfeat.DETECTION_GID]
    assert len(marks) == 1
    mark, ax = marks[0], marks[0].axes
    x = np.asarray(mark.get_xdata(), float)
    mid = (calls["onset_s"] + calls["offset_s"]).to_numpy() / 2
    np.testing.assert_allclose(np.sort(x), np.sort(mid))  # one mark per detection, at its midpoint
    assert mark.get_markersize() >= MIN_PT and mark.get_linestyle() == "None" and mark.get_visible()
    # the marks lie inside the axes, in its upper half
    px = ax.transData.transform(np.c_[x, np.full_like(x, 60.0)])[:, 0]
    box = ax.get_window_extent()
    assert np.all((px > box.x0) & (px < box.x1))
    y_axes = np.asarray(mark.get_ydata(), float)
    assert np.all((y_axes > 0.5) & (y_axes < 1.0))
    # every detection has a drawn artist >= MIN_PT wide: its mark (MIN_PT) or a box at least that wide
    rects = [p for p in ax.patches if p.get_edgecolor()[:3] == pytest.approx(
        tuple(int(figfeat.DETECTION_COLOUR[i:i + 2], 16) / 255 for i in (1, 3, 5)))]
    assert len(rects) == len(calls)
    for r, c in zip(rects, calls.itertuples()):
        assert r.get_width() == pytest.approx(c.offset_s - c.onset_s)  # the box keeps the true duration
        assert r.get_x() == pytest.approx(c.onset_s)
    widths_pt = np.array([r.get_window_extent().width for r in rects]) * pt_per_px
    assert widths_pt.min() < MIN_PT  # the test has a call too short to see as a box: the marks are needed
    key = [t.get_text() for t in ax.texts]
    assert any("▼" in t and "to scale" in t for t in key)

