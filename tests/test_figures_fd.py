"""Figs 1, 2 and the robustness figure as the reviewer of issue 23 read them: Fig 1B marks its noise-like
examples by Fig 7's criterion (and keeps them), Fig 2's 3-D clouds are large and interleave the sexes, and the
robustness figure names the models as its other rows do."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
from test_figures import NOTICE, _assert_clean, _cohort, audited, saved  # noqa: F401  (fixtures)

from usvflow.features.noise import image_noise_measures
from usvflow.figures.features import NOISE_MARK, level_colours, noise_note, plot_fig1, plot_fig2
from usvflow.figures.robustness import plot_robustness

ROOT = Path(__file__).resolve().parents[1]


def _fig1_inputs(n: int = 120):
    table, images, feats = _cohort(n)
    images[1::4, :10, :] = 220  # every fourth male call sits on a low broadband block (an animal moving)
    animals = sorted(table["animal"].unique())
    stats = {"values": {"rates_per_animal": {a: 150.0 + 10 * i for i, a in enumerate(animals)},
                        "animal_group": {a: a[0] for a in animals},
                        "calls_per_group": table["sex"].value_counts().to_dict()}}
    stretch = {"db": np.random.default_rng(1).gamma(1, 5, (100, 300)), "times": np.linspace(3.0, 4.5, 300),
               "freqs": np.linspace(20e3, 125e3, 100),
               "calls": pd.DataFrame({"onset_s": [3.2], "offset_s": [3.25], "f_min_hz": [50e3], "f_max_hz": [70e3]}),
               "title": "C  rec_1: 1.5 s with the 1 detected call (box)"}
    return table, images, feats, stats, stretch


def test_fig1b_marks_noise_like_examples_by_fig7s_criterion_and_keeps_them(tmp_path, saved, audited):  # noqa: F811
    table, images, feats, stats, stretch = _fig1_inputs()
    noise_like = image_noise_measures(images)["noise_like"].to_numpy(bool)  # Fig 7's function, not a copy
    assert 0 < noise_like.sum() < len(noise_like)
    plot_fig1(table, images, feats, stats, stretch, "sex", ["F", "M"], NOTICE["caption"], tmp_path / "fig1.pdf",
              noise_like=noise_like)
    _assert_clean(audited)
    fig = saved[-1]
    # B: the same random draw as without marks (seeded), every example shown, the noise-like ones marked.
    rng = np.random.default_rng(0)
    expected = []
    for lvl in ["F", "M"]:
        idx = np.flatnonzero(table["sex"].to_numpy() == lvl)
        expected += list(np.sort(rng.choice(idx, size=8, replace=False)))
    titles = [ax.get_title("left") for ax in fig.axes if re.fullmatch(r"[FM] [FM]\d\d\*?", ax.get_title("left"))]
    assert len(titles) == 16
    marked = [t.endswith(NOISE_MARK) for t in titles]
    assert marked == [bool(noise_like[i]) for i in expected] and any(marked)
    frames = [ax for ax in fig.axes if ax.get_title("left").endswith(NOISE_MARK)]
    assert all(ax.spines["left"].get_linestyle() == "--" for ax in frames)
    # The note states the cohort's share (overall and per sex) by the same measure.
    share = f"{100 * noise_like.mean():.0f} % of the cohort's {len(noise_like)} detections"
    notes = [t.get_text().replace("\n", " ") for ax in fig.axes for t in ax.texts]
    assert any(share in t and "Fig 7's criterion" in t for t in notes), notes


def test_the_noise_note_counts_per_group():
    groups = np.array(["F"] * 4 + ["M"] * 6)
    flags = np.array([1, 0, 0, 0, 1, 1, 1, 0, 0, 0], bool)
    note = noise_note(groups, flags, ["F", "M"])
    assert "40 % of the cohort's 10 detections (F 25 %, M 50 %)" in note.replace("\n", " ")
    assert "> 20 %" in note and "30 kHz" in note  # the thresholds of usvflow.features.noise


def test_fig1_and_fig7_read_the_noise_marks_the_dataset_stage_computed():
    """One computation of the image criterion (features.dataset.noise_columns, whose agreement with
    image_noise_measures tests/test_noise_like.py checks); the two plotting adapters read its columns."""
    fig1 = (ROOT / "scripts" / "plot_fig1.py").read_text()
    fig7 = (ROOT / "scripts" / "plot_fig7.py").read_text()
    assert 'table["noise_like"]' in fig1 and "noise_like=" in fig1
    assert "table[NOISE_COLUMNS]" in fig7
    assert "image_noise_measures" not in fig1 + fig7


def _fig2(tmp_path, n: int = 400):
    table, _, feats = _cohort(n)
    feats["sex"] = table["sex"]
    stats = {"values": {"tests": [{"feature": c, "p": 0.01} for c in feats.columns if c != "sex"],
                        "n_significant": 7}}
    rng = np.random.default_rng(2)
    emb = {k: rng.normal(size=(n, 3)) for k in
           ["features.pca", "spectrograms.pca", "features.tsne", "spectrograms.tsne"]}
    plot_fig2(feats, "sex", ["F", "M"], emb, stats, NOTICE["caption"], tmp_path / "fig2.pdf")
    return table


def test_fig2_3d_clouds_are_large_and_interleave_the_sexes(tmp_path, saved, audited):  # noqa: F811
    table = _fig2(tmp_path)
    _assert_clean(audited)
    fig = saved[-1]
    # (the page's height <= 8.75 in is the audit's, clean above)
    cubes = [ax for ax in fig.axes if ax.name == "3d"]
    assert len(cubes) == 4
    widths = [ax.get_position().width * fig.get_figwidth() for ax in cubes]
    assert min(widths) >= 1.45, widths  # was 1.16 in within A-I's columns
    # Drawn in a seeded random order: neither sex lies wholly on top of the other.
    colours = level_colours(["F", "M"])
    import matplotlib.colors as mc

    female = np.array(mc.to_rgb(colours["F"]))
    for ax in cubes:
        rgb = ax.collections[0].get_facecolors()[:, :3]
        is_f = np.all(np.isclose(rgb, female, atol=0.01), axis=1)
        assert is_f.sum() == (table["sex"] == "F").sum()
        half = len(is_f) // 2
        assert 0.3 < is_f[:half].mean() < 0.7 and 0.3 < is_f[half:].mean() < 0.7


def test_robustness_claims_name_the_models_as_the_other_rows_do(tmp_path):
    """The claims are named at their source (report.claims) as the accuracy rows name the models, and the
    figure prints those names unchanged."""
    from test_claims import _stats

    from usvflow.report.claims import check_sex_claims
    names = [c.name for c in check_sex_claims(_stats(tmp_path, 0.62, 0.55, 0.57, 0.51, 0.004))]
    assert "CNN shuffled at chance" in names and "SVM shuffled at chance" in names
    assert not any(re.search(r"\b(cnn|svm|dnn)\b", n) for n in names)
    long = pd.DataFrame({"seed": [1, 2], "kind": "accuracy", "quantity": "sex: CNN, shuffled labels",
                         "value": [49.0, 51.0]})
    summary = pd.DataFrame({"kind": ["accuracy", "claim", "claim"],
                            "quantity": ["sex: CNN, shuffled labels", "CNN shuffled at chance",
                                         "SVM shuffled at chance"],
                            "mean": [50.0, np.nan, np.nan], "sd": [1.0, np.nan, np.nan],
                            "holds": ["", "2/2", "1/2"], "pass_rate": [np.nan, 1.0, 0.5]})
    fig = plot_robustness(long, summary, "Headline numbers and claims over simulation seeds")
    labels = [t.get_text() for t in fig.axes[1].get_yticklabels()]
    assert labels == ["CNN shuffled at chance", "SVM shuffled at chance"]
