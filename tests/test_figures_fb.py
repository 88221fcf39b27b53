"""What a reviewer of Fig 6, Fig 7, the S1 Video and the aggregation figure asked for (issue 23), checked by
code on small synthetic inputs: every error bar and shading defined on the figure, every drawn line named, the
legend's markers drawn, the video's letters in order and its colour bars clear of the turning axis labels."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PathCollection, PolyCollection  # noqa: E402
from test_figures import NOTICE, _assert_clean, _crops, _fig7_inputs, audited  # noqa: E402, F401

from usvflow.figures import checks, style  # noqa: E402

LAYERS = ["conv1", "conv2", "fc1"]


def _fig6_inputs():
    rng = np.random.default_rng(5)
    n = {"sparsity": 40, "sparsity_seen": 40, "within_corr": 40, "across_corr": 40, "deconv_stim_corr": 12,
         "deconv_similarity": 12}
    summary = pd.DataFrame([{"measure": m, "layer_index": i, "layer": lay, "sex": sx, "n": n[m] + (sx == "M"),
                             "mean": 0.3 + 0.2 * rng.random(), "sem": 0.01}
                            for m in n for i, lay in enumerate(LAYERS) for sx in "FM"])
    examples = {sx: {"call_uid": f"{sx}#1", "animal": f"{sx}01", "sex": sx, "stimulus": rng.random((100, 100)),
                     "layers": LAYERS, "activations": [rng.random((4, 20, 20)), rng.random((4, 10, 10)),
                                                       rng.random(30)],
                     "reconstructions": [rng.normal(size=(100, 100)) for _ in LAYERS]} for sx in "FM"}
    return summary, examples


def _panel(fig, letter: str):
    return next(a for a in fig.axes
                if any(a.get_title(loc=loc).startswith(f"{letter}  ") for loc in ("left", "center")))


def _legend_texts(ax) -> list[str]:
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend is not None else []


def test_fig6_defines_its_error_bars_and_d_lines_and_keeps_legends_off_the_data(tmp_path, audited):  # noqa: F811
    from usvflow.figures.network import ACROSS_LABELS, WITHIN_LABELS, plot_fig6

    summary, examples = _fig6_inputs()
    with style.script_figures(NOTICE["caption"]):
        fig = plot_fig6(summary, examples, {"n_folds": 6}, NOTICE["cohort"])
        fig.savefig(tmp_path / "fig6.pdf")
    _assert_clean(audited)
    note = "\n".join(t.get_text() for t in fig.texts if t.get_gid() == style.NOTE_GID).replace("\n", " ")
    # C, D, G, H: what the points and error bars are, with the calls behind them (from the summary's n)
    assert "± 2 SEM" in note and "error bars" in note
    assert "40 F, 41 M" in note and "12 F, 13 M" in note and "6 folds" in note
    # D: each line says what it averages; the note says why the two across-sex lines differ
    d = _panel(fig, "D")
    assert set(_legend_texts(d)) == set(WITHIN_LABELS.values()) | set(ACROSS_LABELS.values())
    assert "female calls vs male references" in note and "male calls vs female references" in note
    # G: the paper's plateaus named in the key, and every curve panel's key above its axes (off the data and
    # off the reference lines)
    assert any("paper's plateau" in t for t in _legend_texts(_panel(fig, "G")))
    renderer = fig.canvas.get_renderer()
    for letter in "CDGH":
        ax = _panel(fig, letter)
        key = ax.get_legend().get_window_extent(renderer)
        assert key.y0 >= ax.get_window_extent(renderer).y1 - 0.5, letter
        title = ax.title.get_window_extent(renderer)
        assert title.y0 >= key.y1 - 0.5, letter  # the title above the key, not on it
    plt.close("all")


def test_fig7_legend_matches_panel_a_and_b_says_what_its_labels_mean(tmp_path, audited):  # noqa: F811
    from usvflow.figures.callspace import CIRCLE_SIZE, plot_fig7

    calls, grid, images, values, noise = _fig7_inputs()
    with style.script_figures(NOTICE["caption"]):
        fig = plot_fig7(calls, grid, images, values, NOTICE["cohort"], noise)
        fig.savefig(tmp_path / "fig7.pdf")
    _assert_clean(audited)
    # The key's open circle is drawn in A, round the cluster's calls, at a size a reader sees.
    key = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    assert "cluster 2 (circled in A)" in key
    a = _panel(fig, "A")
    rings = [c for c in a.collections if isinstance(c, PathCollection) and len(c.get_facecolors()) == 0]
    assert len(rings) == 1 and len(rings[0].get_offsets()) == (calls["cluster"] == 2).sum()
    assert rings[0].get_sizes().min() >= CIRCLE_SIZE >= 12
    # B: every example says where it is and, in words, whether noise lies under it; the words are keyed.
    examples = [ax for ax in fig.axes if ax.get_title(loc="center") and ax.name != "3d"]
    titles = [ax.get_title(loc="center") for ax in examples]
    assert len(examples) == 5 and not any("clean" in t for t in titles)
    assert titles[:3] == ["outside:\nno noise", "outside:\nno true call", "outside:\nno noise"]
    assert titles[3:] == ["cluster 2:\non click", "cluster 2:\nno noise"]
    note = " ".join(t.get_text() for t in fig.texts if t.get_gid() == style.NOTE_GID).replace("\n", " ")
    assert "'no noise': no simulated noise event" in note and "'no true call'" in note
    # every example with its time ticks
    fig.canvas.draw()
    for ax in examples:
        assert [t.get_text() for t in ax.get_xticklabels() if t.get_visible()] == ["0", "50", "100"]
        assert ax.xaxis.get_tick_params()["labelbottom"]
    plt.close("all")


def _movie_calls(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    return pd.DataFrame({"x": rng.normal(size=n), "y": rng.normal(size=n), "z": rng.normal(size=n),
                         "sex": np.where(np.arange(n) % 2, "M", "F"), "confident": rng.random(n) < 0.2,
                         "density_difference": 3e-6 * rng.normal(size=n), "mean frequency (kHz)": rng.normal(65, 9, n),
                         "frequency range (kHz)": rng.gamma(2, 8, n), "duration (ms)": rng.gamma(3, 15, n)})


def test_movie_s1_letters_in_order_and_numbered_colour_bars_clear_of_the_turning_labels():
    from usvflow.figures.movie import MOVIE_RC, build_movie_figure

    with matplotlib.rc_context(MOVIE_RC):
        fig, axes = build_movie_figure(_movie_calls(), NOTICE["caption"])
        assert checks.panel_letters(fig) == list("ABCDEF")
        assert not getattr(fig, "_usvflow_letters_exempt", None) and checks.letter_problems(fig) == []
        assert [ax.get_title(loc="center")[:3] for ax in axes] == [f"{x}  " for x in "ABCDEF"]
        assert "Fig 7C" in axes[1].get_title(loc="center")
        key = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
        assert fig.legends[0].get_title().get_text() == "A, C: emitter's sex" and key == ["female", "male"]
        # The density difference's bar: numbers (of the scaled density) and a unit saying the scale.
        bars = [a for a in fig.axes if a not in axes]
        density = next(b for b in bars if "density" in b.get_ylabel())
        fig.canvas.draw()
        numbers = [t.get_text().replace("−", "-") for t in density.get_yticklabels() if t.get_text()]
        assert len(numbers) >= 3 and all(float(x) == float(x) for x in numbers)
        assert "×10⁻⁶ per t-SNE unit³" in density.get_ylabel()
        # Through the turn, no bar's label or numbers touch a panel's axis labels (t-SNE 3 swings side to side).
        renderer = fig.canvas.get_renderer()
        for azim in range(-60, 300, 15):
            for ax in axes:
                ax.view_init(elev=20, azim=azim)
            fig.canvas.draw()
            labels = [lab for ax in axes for lab in (ax.xaxis.label, ax.yaxis.label, ax.zaxis.label)]
            for bar in bars:
                texts = [bar.yaxis.label] + [t for t in bar.get_yticklabels() if t.get_text()]
                for t in texts:
                    box = t.get_window_extent(renderer)
                    for lab in labels:
                        assert not box.overlaps(lab.get_window_extent(renderer)), (azim, t.get_text(), lab.get_text())
        plt.close(fig)


def test_aggregation_defines_its_shading_and_names_every_grey_model(tmp_path, audited):  # noqa: F811
    from usvflow.figures.attribution import plot_aggregation
    from usvflow.report.attribution import MODEL_LABELS

    rng = np.random.default_rng(12)
    models = {"sex": ["cnn", "dnn9", "ridge", "svm", "svm_feat9", "ridge_feat9", "semiconv"],
              "strain": ["cnn", "ridge", "svm"]}
    rows = [{"task": task, "model": model, "n_calls": n, "n_calls_used": 180 if n == "all" else int(n),
             "accuracy": min(1.0, 0.5 + 0.1 * k + 0.05 * rng.random()), "sem": 0.1,
             "mean_posterior": 0.6 + 0.05 * k if model == "cnn" else np.nan, "n_animals": 8 if task == "sex" else 6}
            for task, ms in models.items() for model in ms for k, n in enumerate(["1", "3", "10", "30", "all"])]
    with style.script_figures(NOTICE["caption"]):
        fig = plot_aggregation(pd.DataFrame(rows), ["cnn", "dnn9", "ridge", "svm"], NOTICE["caption"])
        fig.savefig(tmp_path / "aggregation.pdf")
    _assert_clean(audited)
    key = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    for grey in ("svm_feat9", "ridge_feat9", "semiconv"):  # each grey line named, none as "other models"
        assert MODEL_LABELS[grey] in key
    assert "other models" not in key
    assert "CNN ± 1 SEM (animals)" in key
    # one band per panel (the CNN's), not one per model
    for ax in fig.axes:
        if ax.get_visible():
            assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 1
    grey_markers = {line.get_marker() for ax in fig.axes for line in ax.get_lines() if line.get_color() == "0.6"}
    assert len(grey_markers) == 3  # three grey models, three markers: the key can tell them apart
    note = " ".join(t.get_text() for t in fig.texts if t.get_gid() == style.NOTE_GID).replace("\n", " ")
    assert "± 1 SEM over the held-out animals (8 in sex, 6 in strain)" in note
    plt.close("all")


@pytest.mark.parametrize("truth, word", [("none", "no noise"), ("burst", "on burst"), ("unmatched", "no true call")])
def test_fig7_noise_words(truth, word):
    from usvflow.figures.callspace import _noise_word

    assert _noise_word(pd.DataFrame({"noise_like": [False], "truth": [truth]}), 0) == word
