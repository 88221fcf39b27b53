"""The figures as a reviewer reads them, checked by code on small synthetic inputs (usvflow.figures.checks):
no text under 7 pt on the printed page, no overlapping text, every axes labelled, every image with a colour
bar (or a stated exemption), no empty panel, and the data tag ("SIMULATED data ...") above the title.

Each figure function is called directly; the data tag comes from the data notice that the workflow passes to
every plotting rule (``planning.data_notice``), through the same hook as the Snakemake scripts
(``script_main`` → ``style.script_figures``)."""

from __future__ import annotations

import types

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from usvflow.audio.io import write_wav  # noqa: E402
from usvflow.features.columns import FEATURES_9, PROPERTIES  # noqa: E402
from usvflow.figures import checks, style  # noqa: E402
from usvflow.workflow.planning import data_notice  # noqa: E402

SIM_CONFIG = {"preset": "test", "simulation": {"seed": 7, "sample_rate_hz": 250000}, "samples": "my_lab.tsv"}
NOTICE = data_notice(SIM_CONFIG, True, 4)
REAL_NOTICE = data_notice(SIM_CONFIG, False, 4)


@pytest.fixture()
def audited(monkeypatch):
    """Every figure saved while the test runs is audited first; returns {file name: problems}."""
    found: dict[str, list[str]] = {}
    original = Figure.savefig

    def savefig(self, fname, *args, **kwargs):
        found[str(getattr(fname, "name", fname)).rsplit("/", 1)[-1]] = checks.audit(self, simulated=True)
        return original(self, fname, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    return found


@pytest.fixture()
def saved(audited, monkeypatch):
    """The figures saved while the test runs (audited as they are saved), kept open to be read afterwards."""
    figs: list[Figure] = []
    audited_savefig = Figure.savefig

    def savefig(self, fname, *args, **kwargs):
        figs.append(self)
        return audited_savefig(self, fname, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    close = plt.close
    monkeypatch.setattr(plt, "close", lambda *a, **k: None)
    yield figs
    for fig in figs:
        close(fig)


# What the audit still finds, and why (issue 23: left to a redesign, listed here rather than hidden). Empty:
# Fig 1's letters, the last entry, read in order since its rows became [A | B] / [C | D] / E F.
KNOWN: dict[tuple[str, str], str] = {}


def _assert_clean(found: dict[str, list[str]], n: int = 1) -> None:
    assert len(found) >= n, f"expected {n} figure(s) saved, got {sorted(found)}"
    found = {name: [p for p in probs if not any(name == n and s in p for n, s in KNOWN)]
             for name, probs in found.items()}
    bad = {name: probs for name, probs in found.items() if probs}
    assert not bad, "\n".join(f"{name}:\n  " + "\n  ".join(p) for name, p in bad.items())


# --------------------------------------------------------------------------------------------- inputs


def _cohort(n: int = 120, seed: int = 0):
    rng = np.random.default_rng(seed)
    sex = np.where(np.arange(n) % 2, "M", "F")
    animal = np.array([f"{s}{1 + i % 3:02d}" for i, s in enumerate(sex)])
    table = pd.DataFrame({"sex": sex, "animal": animal, "call_uid": np.arange(n)})
    images = np.zeros((n, 100, 100), np.uint8)
    for i in range(n):  # a rising whistle per image
        t = np.arange(10, 10 + rng.integers(20, 80))
        images[i, np.clip(30 + (t - 10) // 2 + rng.integers(0, 20), 0, 99), t] = 200
    feats = pd.DataFrame({"duration_s": rng.gamma(4, 0.012, n), "mean_frequency_hz": rng.normal(65e3, 9e3, n),
                          "volume_db": rng.normal(-35, 8, n)})
    for p, top in zip(PROPERTIES, [1, 3, 3, 1, 1, 1]):
        feats[p] = rng.integers(-1 if p == "direction" else 0, top + 1, n).astype(float)
    return table, images, feats


def fig1_stats(table: pd.DataFrame) -> dict:
    """Fig 1's stats file for a test cohort: call rates per animal (150, 160, ... per min), groups, calls."""
    animals = sorted(table["animal"].unique())
    return {"values": {"rates_per_animal": {a: 150.0 + 10 * i for i, a in enumerate(animals)},
                       "animal_group": {a: a[0] for a in animals},
                       "calls_per_group": table["sex"].value_counts().to_dict()}}


def test_fig1_and_fig2_pass_the_checks(tmp_path, audited):
    from usvflow.figures.features import plot_fig1, plot_fig2

    table, images, feats = _cohort()
    stats1 = fig1_stats(table)
    times, freqs = np.linspace(3.0, 4.5, 300), np.linspace(20e3, 125e3, 100)
    calls = pd.DataFrame({"onset_s": [3.2, 3.9], "offset_s": [3.25, 3.97], "f_min_hz": [50e3, 60e3],
                          "f_max_hz": [70e3, 80e3]})
    stretch = {"db": np.random.default_rng(1).gamma(1, 5, (100, 300)), "times": times, "freqs": freqs,
               "calls": calls, "title": "C  rec_1: 1.5 s with the 2 detected calls (boxes)"}
    plot_fig1(table, images, feats, stats1, stretch, "sex", ["F", "M"], NOTICE["caption"], tmp_path / "fig1.pdf")
    feats["sex"] = table["sex"]
    stats2 = {"values": {"tests": [{"feature": c, "p": 10.0 ** -k} for k, c in enumerate(FEATURES_9)],
                         "n_significant": 7}}
    rng = np.random.default_rng(2)
    emb = {k: rng.normal(size=(len(table), 3)) for k in
           ["features.pca", "spectrograms.pca", "features.tsne", "spectrograms.tsne"]}
    plot_fig2(feats, "sex", ["F", "M"], emb, stats2, NOTICE["caption"], tmp_path / "fig2.pdf")
    _assert_clean(audited, 2)


def _wav(path, fs: int = 250000, seconds: float = 1.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(fs * seconds)) / fs
    x = 0.01 * rng.normal(size=t.size)
    for on in (0.1, 0.3, 0.5):
        m = (t >= on) & (t < on + 0.04)
        x[m] += 0.3 * np.sin(2 * np.pi * (55e3 * (t[m] - on) + 2.5e5 * (t[m] - on) ** 2))
    write_wav(path, x.astype(np.float32), fs)
    return pd.DataFrame({"onset_s": [0.1, 0.3, 0.5], "offset_s": [0.14, 0.34, 0.54]})


def draw_simulator_vs_real(tmp_path, n_real: int = 3, n_sim: int = 5, **kwargs):
    """simulator_vs_real on ``n_real`` synthetic "real" clips and ``n_sim`` simulated recordings (seeded noise WAVs
    with three calls each) and gamma-distributed measures; ``kwargs`` go to the plotting function."""
    from usvflow.figures.simulator import plot_simulator_vs_real
    from usvflow.simulate.realism import MEASURES, compare

    real_dir = tmp_path / "real"
    wavs, truths = [], []
    for k in range(n_real):
        (real_dir / f"clip{k}").mkdir(parents=True)
        _wav(real_dir / f"clip{k}" / "recording.wav", seed=k).to_csv(real_dir / f"clip{k}" / "truth.csv",
                                                                     header=False, index=False)
    for k in range(n_sim):
        wavs.append(str(tmp_path / f"sex_F0{k}.wav"))
        truths.append(_wav(wavs[-1], seed=10 + k))
    rng = np.random.default_rng(3)
    sim = pd.DataFrame({key: rng.gamma(4, 10, 300) for key in MEASURES})
    real = pd.DataFrame({key: rng.gamma(4, 11, 80) for key in MEASURES})
    plot_simulator_vs_real(sim, real, compare(sim, real), wavs, truths, real_dir, tmp_path / "sim.pdf",
                           note=NOTICE["caption"], **kwargs)


def test_simulator_vs_real_passes_the_checks(tmp_path, audited):
    draw_simulator_vs_real(tmp_path, n_real=3, n_sim=5)  # more simulated recordings than real clips: rows match
    _assert_clean(audited)


def _crops(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 60, (n, 64, 64)).astype(np.uint8)
    masks = np.zeros((n, 64, 64), bool)
    for i in range(n):
        r = rng.integers(15, 45)
        masks[i, r:r + 4, 10:50] = True
        images[i][masks[i]] = 220
    return images, masks


def test_squeakout_figures_pass_the_checks(tmp_path, audited):
    from usvflow.figures.segment import plot_augmentations, plot_examples, plot_refinement

    images, masks = _crops(3)
    steps = pd.DataFrame({"step": ["threshold", "calls + noise tasks", "calls + noise tasks"], "round": [0, 1, 2],
                          "dice_mean": [50.0, 60, 65], "dice_sem": [2.0, 2, 2], "accuracy_mean": [95.0, 96, 97],
                          "accuracy_sem": [0.5, 0.5, 0.5], "noise_empty_pct": [np.nan, 80, 90]})
    examples = {"threshold": masks, "model 1": masks, "model 2": masks}
    plot_refinement(steps, images, masks, examples, str(tmp_path / "sq3.pdf"), NOTICE["segment"])
    single = {k: (images[0], masks[0]) for k in ["affine", "contrast", "blur", "gaussian", "elastic"]}
    combined = [(images[0], masks[0], ["affine", "blur"]), (images[1], masks[1], [])]
    plot_augmentations(images[0], masks[0], single, combined, str(tmp_path / "sq5.pdf"), NOTICE["segment"])
    scores = {"threshold": (np.array([0.9, 0.95, 0.97]), np.array([0.5, 0.6, 0.7])),
              "SqueakOut": (np.array([0.95, 0.97, 0.99]), np.array([0.7, 0.8, 0.9]))}
    plot_examples(images, {"truth": masks, "threshold": masks, "SqueakOut": masks}, scores,
                  str(tmp_path / "sq6.pdf"), NOTICE["segment"])
    _assert_clean(audited, 3)


def _per_animal(levels: list[str], column: str) -> pd.DataFrame:
    rows = [{"animal": f"{lvl}{i}", "sex": "F" if column == "strain" else lvl, "strain": lvl if column == "strain"
             else "C57BL/6", "n": 50, "correct": 30 + i, "accuracy": (30 + i) / 50, "p_binomial": 0.2 / (1 + i)}
            for lvl in levels for i in range(4)]
    return pd.DataFrame(rows)


def test_models_supplement_and_fig5_pass_the_checks(tmp_path, audited):
    from usvflow.figures.models import plot_fig5, plot_supplement

    pa = _per_animal(["WT", "CL"], "strain")
    metrics = pd.DataFrame([{"task": "strain", "model": m, "split": "loao", "fold": f"a{k}", "accuracy": 0.5 + k / 50}
                            for m in ["cnn", "ridge", "svm", "cnn_shuffled", "ridge_shuffled", "svm_shuffled"]
                            for k in range(8)])
    with style.script_figures(NOTICE["caption"]):
        plot_supplement(pa, pa, pa, 8, "strain", NOTICE["cohort"]).savefig(tmp_path / "figS2.pdf")
        plot_fig5(metrics, pa, NOTICE["cohort"]).savefig(tmp_path / "fig5.pdf")
    plt.close("all")
    _assert_clean(audited, 2)


def _metrics(task: str, models: list[str], n: int = 8, classes: list | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(len(task))
    rows = []
    for m in models:
        for k in range(n):
            row = {"task": task, "model": m, "split": "loao", "fold": f"a{k}", "accuracy": 0.5 + rng.random() / 3,
                   "balanced_accuracy": 0.4 + rng.random() / 3}
            if classes is not None:
                row.update(classes=classes, per_class_accuracy={c: rng.random() for c in classes},
                           class_counts_test=[int(x) for x in rng.integers(1, 50, len(classes))])
            rows.append(row)
    return pd.DataFrame(rows)


def _layers(family: str, n_classes: int, config: dict | None = None) -> list[dict]:
    from usvflow.classify.models import build_model, describe_layers

    return describe_layers(build_model(family, n_classes, config))


def _box_texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_network_schematic_is_drawn_from_the_model():
    """Fig 3A/4A/4F/4J: one box per weighted layer of the network as built, labelled with its own kernel,
    stride, channels and output shape; a changed architecture changes the drawing."""
    from usvflow.figures import schematic

    rows = _layers("cnn", 2)
    groups = schematic.layer_groups(rows)
    assert [g["name"] for g in groups] == [f"conv{i}" for i in range(1, 7)] + ["fc1", "fc2", "output"]
    fig, ax = plt.subplots()
    schematic.draw_network(ax, rows, "input", "A")
    texts = _box_texts(fig)
    assert "conv1\n3×3 /1\n16 ch\n50×50" in texts and "output\n1 unit\nsigmoid" in texts
    # the parameter count printed under the chain is the network's own
    from usvflow.classify.models import build_model, count_parameters

    assert f"{count_parameters(build_model('cnn', 2)):,} parameters" in " ".join(texts)
    assert f"conv6 flattened → {build_model('cnn', 2).flat_size} values" in " ".join(texts)  # 48 × 7 × 7
    fig_gp, ax_gp = plt.subplots()
    schematic.draw_network(ax_gp, _layers("cnn", 2, {"global_pool": True}), "input", "A")
    assert "conv6 averaged over positions → 48 values" in " ".join(_box_texts(fig_gp))
    wider = _layers("cnn", 4, {"channels": [24, 16, 32, 32, 48, 48], "kernels": [5, 3, 3, 3, 3, 3],
                               "strides": [2, 2, 1, 2, 1, 2]})
    fig2, ax2 = plt.subplots()
    schematic.draw_network(ax2, wider, "input", "A")
    texts2 = _box_texts(fig2)
    assert "conv1\n5×5 /2\n24 ch\n25×25" in texts2 and "output\n4 units\nsoftmax" in texts2
    assert "conv1\n3×3 /1\n16 ch\n50×50" not in texts2
    # Fig 4A: one network per property, the layers of Fig 3A drawn as one box (their own counts and parameters,
    # the output layer apart), then one output box per property: a softmax over K values, one sigmoid for 2
    fig4, ax4 = plt.subplots(figsize=(1.5, 2.6))
    model = build_model("cnn", 2)
    boxes = schematic.draw_per_task(ax4, rows, "input", {"direction": 3, "broadband": 2}, "A")
    texts4 = _box_texts(fig4)
    assert len(boxes) == 2 + 2 and "direction: 3, softmax" in texts4 and "broadband: 2, sigmoid" in texts4
    hidden = count_parameters(model) - sum(p.numel() for p in model.out.parameters())
    assert f"layers of Fig 3A:\n6 conv + 2 fc,\n{hidden:,} parameters;" in " ".join(texts4)
    # the semi-convolutional DNN: three 5-layer 1-D stacks, joined with the 24 features into the head
    fig3, ax3 = plt.subplots(figsize=(7.5, 1.6))
    boxes = schematic.draw_semiconv(ax3, _layers("semiconv", 2), [("FF", 100), ("time", 100), ("freq", 233)], 24, "J")
    assert len(boxes) == 3 * (1 + 5) + 2 + 3
    from usvflow.classify.models import SemiConvDNN

    n_in = 24 + sum(s.out_size for s in SemiConvDNN(2).stacks)
    texts3 = _box_texts(fig3)
    assert f"join\n{n_in}\nvalues" in texts3 and "16×117" in texts3  # a conv box: channels × output length
    # the head is a column from the top down: fc1 above fc2 above the output
    head = {t.get_text().split("\n")[0]: t.get_position()[1] for t in boxes[-3:]}
    assert head["fc1"] > head["fc2"] > head["output"]
    plt.close("all")


def test_learning_curve_is_balanced_over_the_sexes():
    """Fig 3B: a network with a constant output ("male") scores 100 % on male folds and 0 % on female
    ones; the sex-balanced curve is then 50 %, whatever the number of folds per sex."""
    from usvflow.figures.curves import balanced_curve

    it = np.arange(10, 110, 10)
    folds = [("F1", "F", 0.0), ("M1", "M", 1.0), ("M2", "M", 1.0), ("M3", "M", 1.0)]
    curves = pd.concat([pd.DataFrame({"iteration": it, "test_accuracy": acc, "animal": a, "sex": s})
                        for a, s, acc in folds], ignore_index=True)
    bal = balanced_curve(curves)
    assert np.allclose(bal["balanced_accuracy"], 0.5)
    assert np.isclose(curves["test_accuracy"].mean(), 0.75)  # the plain mean over folds follows the bias
    assert balanced_curve(curves[curves["sex"] == "M"]).empty


def test_models_fig3_and_fig4_pass_the_checks(tmp_path, audited):
    from usvflow.features.columns import NAMES_9
    from usvflow.figures.models import paired, plot_fig3, plot_fig4

    classical = ["ridge", "svm", "ridge_shuffled", "svm_shuffled"]
    metrics = pd.concat([_metrics("sex", ["cnn", "cnn_shuffled"] + classical),
                         _metrics("has_break", ["cnn", "cnn_shuffled"])], ignore_index=True)
    curve = pd.DataFrame({"iteration": np.arange(0, 300, 10), "test_accuracy": np.linspace(0.5, 0.7, 30),
                          "weight_change": np.linspace(0.2, 0.01, 30), "train_loss": np.linspace(0.7, 0.4, 30)})
    curves = pd.concat([curve.assign(animal=f"{s}{k}", sex=s, test_accuracy=curve["test_accuracy"] - 0.1 * k)
                        for s in "FM" for k in range(2)], ignore_index=True)
    filters = np.random.default_rng(8).normal(size=(16, 5, 5))
    sex = metrics[metrics["task"] == "sex"]
    a, b = (sex[sex["model"] == m].set_index("fold")["accuracy"] for m in ("cnn", "ridge"))
    pa = _per_animal(["F", "M"], "sex")
    with style.script_figures(NOTICE["caption"]):
        plot_fig3(metrics, curve, "held-out F01", filters, pa, NOTICE["cohort"],
                  {"cnn_vs_ridge": paired(a, b), "cnn_vs_svm": paired(a, b)}, network=_layers("cnn", 2),
                  curves=curves, input_label="call image\n1×50×50").savefig(tmp_path / "fig3.pdf")
        props = {"direction": [-1, 0, 1], "breaks": [0, 1, 2, "3+"], "peaks": [0, 1, 2, "3+"], "broadband": [0, 1]}
        feats = ["dnn9", "semiconv", "ridge_feat9", "svm_feat9", "ridge_semiconv", "svm_semiconv"]
        metrics4 = pd.concat([_metrics(t, ["cnn", "cnn_shuffled"], 10, c) for t, c in props.items()]
                             + [_metrics("sex", feats + [f"{f}_shuffled" for f in feats])], ignore_index=True)
        labels = {t: pd.Series(np.random.default_rng(9).integers(0, len(c), 200)) for t, c in props.items()}
        coefs = pd.Series(np.linspace(-1, 1, len(NAMES_9)), index=list(NAMES_9.values()))
        networks = {"cnn": _layers("cnn", 3), "dnn9": _layers("dnn9", 2), "semiconv": _layers("semiconv", 2),
                    "semiconv_vectors": [("FF line", 100), ("time marginal", 100), ("spectral marginal", 233)],
                    "cnn_outputs": {t: len(c) for t, c in props.items()}}
        sexes = {f"a{k}": "FM"[k % 2] for k in range(8)}
        plot_fig4(metrics4, labels, coefs, NOTICE["cohort"], networks, sexes).savefig(tmp_path / "fig4.pdf")
    plt.close("all")
    _assert_clean(audited, 2)


def test_detection_benchmark_passes_the_checks(tmp_path, audited):
    from usvflow.figures.detection import plot_benchmark

    rng = np.random.default_rng(10)
    rows = []
    real = [("usvflow-default", "in-sample"), ("usvflow-default", "leave-one-clip-out"), ("deepsqueak", "independent"),
            ("usvseg", "independent"), ("usvflow-paper", "in-sample")]
    for tool, evaluation in real:
        for subset in ["clip1", "clip2", "clip4", "pooled"]:
            for crit in ["iou0.3", "iou0.5", "overlap"]:
                rows.append({"dataset": "amvoc-dev", "subset": subset, "tool": tool, "evaluation": evaluation,
                             "criterion": crit, "f1": rng.random(), "onset_err_ms": 5 * rng.random(),
                             "offset_err_ms": 8 * rng.random()})
    sim = ["pooled", "noise:none", "noise:click", "condition:standard", "condition:faint_broadband", "type:flat",
           "type:up_fm", "type:two_syllable", "type:no call"]
    for tool in ["usvflow-default", "usvflow-paper"]:
        for subset in sim:
            rows.append({"dataset": "simulated", "subset": subset, "tool": tool, "evaluation": "in-sample",
                         "criterion": "iou0.3", "f1": rng.random(), "onset_err_ms": 1.0, "offset_err_ms": 2.0})
    # The rule's data notice: the simulated cohort and the real clips.
    with style.script_figures(f"{NOTICE['cohort']} and real annotated clips (data/amvoc-dev)"):
        plot_benchmark(pd.DataFrame(rows), tmp_path / "detection_benchmark.pdf")
    _assert_clean(audited)


def test_fig6_passes_the_checks(tmp_path, audited):
    from usvflow.figures.network import plot_fig6

    rng = np.random.default_rng(5)
    layers = ["conv1", "conv2", "fc1"]
    summary = pd.DataFrame([{"measure": m, "layer_index": i, "layer": lay, "sex": sx, "n": 40,
                             "mean": rng.random(), "sem": 0.01}
                            for m in ["sparsity", "within_corr", "across_corr", "deconv_stim_corr",
                                      "deconv_similarity"] for i, lay in enumerate(layers) for sx in "FM"])
    examples = {sx: {"call_uid": f"{sx}#1", "animal": f"{sx}01", "sex": sx, "stimulus": rng.random((100, 100)),
                     "layers": layers, "activations": [rng.random((4, 20, 20)), rng.random((4, 10, 10)),
                                                       rng.random(30)],
                     "reconstructions": [rng.normal(size=(100, 100)) for _ in layers]} for sx in "FM"}
    with style.script_figures(NOTICE["caption"]):
        plot_fig6(summary, examples, {}, NOTICE["cohort"]).savefig(tmp_path / "fig6.pdf")
    plt.close("all")
    _assert_clean(audited)


def _fig7_inputs(n: int = 400):
    """Fig 7's inputs as the scripts give them: calls on a 3-D map, density grids, images, numbers, noise."""
    rng = np.random.default_rng(11)
    calls = pd.DataFrame({"x": rng.normal(size=n), "y": rng.normal(size=n), "z": rng.normal(size=n),
                          "sex": np.where(np.arange(n) % 2, "M", "F"), "row": np.arange(n),
                          "confident": rng.random(n) < 0.2, "cluster": rng.integers(0, 5, n),
                          "mean frequency (kHz)": rng.normal(65, 9, n), "frequency range (kHz)": rng.gamma(2, 8, n),
                          "duration (ms)": rng.gamma(3, 15, n)})
    axes = [np.linspace(-3, 3, 12)] * 3
    male, female = rng.random((12, 12, 12)), rng.random((12, 12, 12))
    grid = {"male": male, "female": female, "difference": male - female, "axes": axes}
    images, _ = _crops(n)
    values = {"dominant_cluster": 2, "example_rows_inside": [1, 2], "example_rows_outside": [3, 4, 5],
              "knn_accuracy_all": 0.6, "knn_accuracy_confident": 0.7, "knn_accuracy_other_animals": None,
              "knn_shuffled_mean": 0.5, "knn_shuffled_confident_mean": 0.5, "knn_k": 5, "n_calls": n,
              "n_female": n // 2, "n_male": n // 2, "n_with_score": n, "n_confident": 80,
              "cnn_accuracy_confident": 0.8, "dominant_cluster_sex": "M", "dominant_cluster_size": 90,
              "dominant_cluster_male_share": 0.7, "dominant_cluster_p_bonferroni": 1e-4,
              "dominant_cluster_male_animals": 3, "n_male_animals": 4, "dominant_cluster_female_animals": 2,
              "n_female_animals": 4, "significant_clusters": 1}
    truth = np.array(["none"] * n, object)
    truth[[1, 4]] = ["click", "unmatched"]
    noise = pd.DataFrame({"noise_like": rng.random(n) < 0.2, "truth": truth})
    return calls, grid, images, values, noise


def test_fig7_passes_the_checks(tmp_path, audited):
    from usvflow.figures.callspace import plot_fig7

    calls, grid, images, values, _ = _fig7_inputs()
    rng, n = np.random.default_rng(11), len(calls)
    with style.script_figures(NOTICE["caption"]):
        plot_fig7(calls, grid, images, values, NOTICE["cohort"]).savefig(tmp_path / "fig7.pdf")
        noise = pd.DataFrame({"noise_like": rng.random(n) < 0.2,
                              "truth": rng.choice(["none", "click", "movement", "unmatched"], n)})
        plot_fig7(calls, grid, images, values, NOTICE["cohort"], noise).savefig(tmp_path / "fig7_noise.pdf")
    plt.close("all")
    _assert_clean(audited)


def test_aggregation_figure_passes_the_checks(tmp_path, audited):
    from usvflow.figures.attribution import plot_aggregation

    rng = np.random.default_rng(12)
    rows = [{"task": task, "model": model, "n_calls": n, "n_calls_used": 180 if n == "all" else int(n),
             "accuracy": min(1.0, 0.5 + 0.1 * k + 0.05 * rng.random()), "sem": 0.03,
             "mean_posterior": 0.6 + 0.05 * k if model == "cnn" else np.nan, "n_animals": 8}
            for task in ["sex", "strain"] for model in ["cnn", "dnn9", "ridge", "svm", "svm_feat9"]
            for k, n in enumerate(["1", "3", "10", "30", "all"])]
    with style.script_figures(NOTICE["caption"]):
        plot_aggregation(pd.DataFrame(rows), ["cnn", "dnn9", "ridge", "svm"], NOTICE["caption"]).savefig(
            tmp_path / "aggregation.pdf")
    plt.close("all")
    _assert_clean(audited)


# --------------------------------------------------------------------------------------------- the style itself


def test_the_checks_find_what_a_reviewer_would():
    """A figure with every fault: each is reported (so a passing figure means something)."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 3))
    axes[0].plot([0, 1], [0, 1])
    axes[0].text(0.5, 0.5, "tiny", fontsize=5)
    axes[0].text(0.5, 0.5, "on top", fontsize=9)
    axes[1].imshow(np.eye(4))
    axes[0].bar([0, 1], [1, 2], color=["red", "blue"])
    problems = checks.audit(fig)
    text = "\n".join(problems)
    assert "pt on paper" in text  # 5 pt (and 10 pt default ticks on a 14-in figure) are too small
    assert "overlapping text" in text
    assert "no x label" in text and "no y label" in text
    assert "image without colour bar" in text
    assert "empty panel" in text
    assert "colours without a legend" in text
    assert "no data tag" in text
    plt.close(fig)


def test_a_clean_figure_passes_and_the_tag_says_simulated():
    with matplotlib.rc_context(style.RC):
        fig, ax = plt.subplots(figsize=(style.PRINT_WIDTH_IN / 2, 2))
        ax.plot([0, 1], [0, 1], label="a line")
        style.label_axes(ax, "time", "frequency", "s", "kHz")
        ax.legend()
        fig.suptitle("Title")
        style.add_data_tag(fig, NOTICE["caption"])
        assert checks.audit(fig, simulated=True) == []
        assert style.find_tag(fig).get_text().startswith("SIMULATED data (")
        style.add_data_tag(fig, REAL_NOTICE["caption"])  # replaces the words, one tag
        assert [t.get_gid() for t in fig.texts].count(style.TAG_GID) == 1
        assert "my_lab.tsv" in style.find_tag(fig).get_text()
        assert checks.audit(fig, simulated=True) == ["data tag does not say SIMULATED: "
                                                     f"{style.find_tag(fig).get_text()!r}"]
    plt.close(fig)


def _tagged(width: float = style.PRINT_WIDTH_IN, height: float = 3.0, ncols: int = 1):
    fig, axes = plt.subplots(1, ncols, figsize=(width, height), squeeze=False, sharey=True)
    for k, ax in enumerate(axes.flat):
        ax.plot([0, 1], [0, 1])
        style.label_axes(ax, "time", "frequency" if k == 0 else None, "s", "kHz")
        ax.set_title(f"{'ABCD'[k]}  panel")
    style.add_data_tag(fig, NOTICE["caption"])
    return fig, axes.flat


def test_the_checks_see_multi_line_texts():
    """Two-line titles that run into each other are found: matplotlib draws a multi-line text line by line
    without naming it, which hid SqueakOut Fig 3's column titles ("autoencoder 1" over "erosion 1")."""
    with matplotlib.rc_context(style.RC):
        fig, axes = _tagged(ncols=4)
        for ax in axes:
            ax.set_title("a long column title\nover two lines", loc="center")
        assert any(t.get_text().startswith("a long column") for t in checks.drawn_texts(fig))
        assert any("overlapping text: 'a long column" in p for p in checks.audit(fig))
    plt.close(fig)


def test_a_note_is_placed_clear_of_the_panels_text():
    """Fig 3's note was put at a fixed place below the figure and ran into panel F's x label: the check finds
    a note on the x label's line, and :func:`style.add_note` puts it below everything drawn."""
    with matplotlib.rc_context(style.RC):
        fig, (ax,) = _tagged()
        fig.subplots_adjust(left=0.6)
        ax.set_xlabel("task")
        renderer = fig.canvas.get_renderer()
        label = ax.xaxis.label.get_window_extent(renderer).transformed(fig.transFigure.inverted())
        # the note's last line ends just short of the x label, on its line
        fig.text(label.x0 - 0.005, (label.y0 + label.y1) / 2, "Background-only control: call-free stretches",
                 fontsize=7, ha="right", va="center")
        found = checks.audit(fig)
        assert any("figure text crowds a panel's text" in p and "'task'" in p for p in found), found
        fig.texts[-1].remove()
        style.add_note(fig, "Background-only control: " + "words " * 30)
        assert checks.audit(fig) == []
    plt.close(fig)


def test_the_page_letters_and_tag_as_a_reviewer_reads_them():
    with matplotlib.rc_context(style.RC):
        # a label sticking out past the canvas widens the saved page; printed, every text shrinks
        fig, (ax,) = _tagged()
        fig.subplots_adjust(left=0.02, right=0.99)  # the y label and tick labels lie left of the canvas
        assert any(p.startswith("page ") for p in checks.audit(fig))
        style.fit_width(fig)
        assert style.page_width(fig) <= style.PRINT_WIDTH_IN + 0.02 and checks.audit(fig) == []
        plt.close(fig)
        # letters: "A/B" is two panels under one letter; a gap; none at all on a multi-panel figure
        fig, axes = _tagged(ncols=3)
        axes[0].set_title("A/B  two panels")
        assert any("two panels under one letter" in p for p in checks.audit(fig))
        axes[0].set_title("A  one")
        axes[1].set_title("C  three")
        axes[2].set_title("D  four")
        assert any("panel letters missing: B" in p for p in checks.audit(fig))
        for ax in axes:
            ax.set_title(ax.get_title(loc="left")[3:])
        assert "panels without letters" in checks.audit(fig)
        style.letters_exempt(fig, "the paper's figure has no letters")
        assert checks.audit(fig) == []
        plt.close(fig)
        # a title pushed up into the data tag's box
        fig, (ax,) = _tagged()
        fig.suptitle("Fig 9  a title", y=1.0, va="bottom", x=0.01, ha="left")
        assert any("touching the data tag" in p or "above the data tag" in p for p in checks.audit(fig))
    plt.close(fig)


def test_a_page_taller_than_print_fails():
    """Printed at 7.5 in wide a page must fit the journal's 8.75 in of height (Figs 3, 4, 6, 7 and the detection
    benchmark were 9.3-12.1 in tall): a taller page is found, also when the tag and a title above the canvas
    make it so; a wide page is judged at its printed height."""
    with matplotlib.rc_context(style.RC):
        fig, _ = _tagged(height=8.0)
        assert checks.audit(fig) == []
        style.add_title(fig, "9", "a title")
        fig.set_figheight(8.6)  # the canvas fits, the tag and the title above it do not
        fig.subplots_adjust(top=0.99, bottom=0.06)
        assert style.page_height(fig) > style.PRINT_HEIGHT_IN
        assert any(p.startswith("page ") and "tall" in p for p in checks.audit(fig))
        plt.close(fig)
        fig, _ = _tagged(width=2 * style.PRINT_WIDTH_IN, height=12.0)  # printed at half size: 6 in tall
        assert style.printed_height(fig) < style.PRINT_HEIGHT_IN
        assert not any("tall" in p for p in checks.audit(fig))
    plt.close(fig)


def test_letters_out_of_the_papers_order_are_found():
    """Fig 4's J was a row above I: the reader meets J first. Letters are read by rows, left to right."""
    with matplotlib.rc_context(style.RC):
        fig = plt.figure(figsize=(style.PRINT_WIDTH_IN, 5))
        grid = fig.add_gridspec(2, 2, hspace=0.6)
        titles = {(0, 0): "A  one", (0, 1): "B  two", (1, 0): "D  four", (1, 1): "C  three"}
        for (r, c), title in titles.items():
            ax = fig.add_subplot(grid[r, c])
            ax.plot([0, 1], [0, 1])
            style.label_axes(ax, "time", "frequency", "s", "kHz")
            ax.set_title(title)
        style.add_data_tag(fig, NOTICE["caption"])
        found = checks.audit(fig)
        assert found == ["panel letters out of order: D is read before C (left of it)"], found
        fig.axes[2].set_title("C  three")
        fig.axes[3].set_title("D  four")
        assert checks.audit(fig) == []
        fig.axes[0].set_title("C  three")  # a later letter in the row above
        fig.axes[2].set_title("A  one")
        assert any("C is read before A (above it)" in p for p in checks.audit(fig))
    plt.close(fig)


def test_the_title_line_sits_between_the_tag_and_the_panels():
    """One helper writes every figure's "Fig N  ..." line: above the canvas (never over a panel or a legend),
    below the data tag, whichever of the two is added first."""
    with matplotlib.rc_context(style.RC):
        for tag_first in (True, False):
            fig, (ax,) = _tagged()
            if not tag_first:
                style.find_tag(fig).remove()
            ax.set_title("A  a panel title at the very top", y=1.0)
            style.add_title(fig, "3", "A title")
            if not tag_first:
                style.add_data_tag(fig, NOTICE["caption"])
            assert style.find_title(fig).get_text() == "Fig 3  A title"
            assert checks.audit(fig) == []
            renderer = fig.canvas.get_renderer()
            title = style.find_title(fig).get_window_extent(renderer)
            assert title.y0 >= ax.title.get_window_extent(renderer).y1
            assert style.find_tag(fig).get_window_extent(renderer).y0 > title.y1
            style.add_title(fig, "SqueakOut Fig 3", "B")
            assert style.find_title(fig).get_text() == "SqueakOut Fig 3  B"
            plt.close(fig)


def test_column_titles_fit_their_column():
    from usvflow.figures.segment import column_title

    for name in ["autoencoder 1", "erosion 3", "threshold", "calls + noise tasks"]:
        assert max(len(line) for line in column_title(name).splitlines()) <= 9


def test_printed_size_and_units():
    fig = plt.figure(figsize=(2 * style.PRINT_WIDTH_IN, 3))
    assert style.printed_pt(14, fig) == pytest.approx(7)
    assert style.fontsize_for(fig, 7) == pytest.approx(14)
    assert style.printed_pt(7, plt.figure(figsize=(3, 3))) == 7  # never enlarged
    assert style.axis_label("time", "ms") == "time (ms)" and style.axis_label("count") == "count"
    plt.close("all")


def test_every_plotting_script_gets_the_tag_through_script_main(tmp_path):
    """A script that saves a figure of its own (no style call) gets the rcParams and the tag from script_main."""
    from usvflow.workflow.script import script_main

    seen = {}
    before = matplotlib.rcParams["xtick.labelsize"]
    matplotlib.rcParams["xtick.labelsize"] = 11

    @script_main
    def main(smk):
        fig, ax = plt.subplots(figsize=(3, 2))
        seen["font"] = matplotlib.rcParams["xtick.labelsize"]
        ax.plot([0, 1])
        fig.savefig(smk.output[0])
        seen["tag"] = style.find_tag(fig).get_text()
        plt.close(fig)

    smk = types.SimpleNamespace(log=[str(tmp_path / "x.log")], output=[str(tmp_path / "x.pdf")],
                                params=types.SimpleNamespace(data=NOTICE["caption"]))
    main(smk)
    assert seen["tag"].startswith("SIMULATED data") and seen["font"] == style.RC["xtick.labelsize"]
    log = (tmp_path / "x.log").read_text()  # the checks' findings go to the rule's log
    assert "figure check of" in log and "no x label" in log and "no y label" in log
    assert (tmp_path / "x.pdf").stat().st_size > 0
    # Outside the script the caller's settings and matplotlib's own savefig are back.
    assert matplotlib.rcParams["xtick.labelsize"] == 11
    matplotlib.rcParams["xtick.labelsize"] = before
    fig = plt.figure()
    fig.savefig(tmp_path / "plain.png")
    assert style.find_tag(fig) is None
    plt.close(fig)


def test_movie_s1_is_readable_and_every_3d_panel_revolves(tmp_path):
    from PIL import Image

    from usvflow.figures.movie import MOVIE_RC, build_movie_figure, movie_s1

    rng = np.random.default_rng(4)
    n = 300
    calls = pd.DataFrame({"x": rng.normal(size=n), "y": rng.normal(size=n), "z": rng.normal(size=n),
                          "sex": np.where(np.arange(n) % 2, "M", "F"), "confident": rng.random(n) < 0.2,
                          "density_difference": rng.normal(size=n), "mean frequency (kHz)": rng.normal(65, 9, n),
                          "frequency range (kHz)": rng.gamma(2, 8, n), "duration (ms)": rng.gamma(3, 15, n)})
    with matplotlib.rc_context(MOVIE_RC):
        fig, axes = build_movie_figure(calls, NOTICE["caption"])
        assert len(axes) == 6 and checks.audit(fig, simulated=True, printed=False) == []
        assert min(t.get_fontsize() for t in checks.drawn_texts(fig)) >= 9  # readable on screen
        boxes = [ax.get_window_extent() for ax in axes]  # pixels, origin bottom left
        height = fig.get_figheight() * fig.dpi
        plt.close(fig)
    path = tmp_path / "movieS1.gif"
    movie_s1(calls, path, frames=4, caption=NOTICE["caption"])
    gif = Image.open(path)
    assert gif.n_frames == 4 and min(gif.size) >= 600
    frames = []
    for k in range(2):
        gif.seek(k)
        frames.append(np.asarray(gif.convert("L"), float))
    for box in boxes:  # each 3-D panel's pixels change from one frame to the next: it turns
        rows = slice(int(height - box.y1), int(height - box.y0))
        cols = slice(int(box.x0), int(box.x1))
        assert np.abs(frames[0][rows, cols] - frames[1][rows, cols]).mean() > 0.5


def test_display_floor_keeps_a_stationary_tone_visible():
    """A tone present the whole recording is not its own floor (no white stripe); broadband tilt is removed."""
    from usvflow.figures.simulator import db_above_floor

    freqs = np.arange(20e3, 125e3, 1e3)
    rng = np.random.default_rng(6)
    tilt = np.linspace(1.0, 4.0, freqs.size)[:, None]  # the microphone's response
    power = tilt * rng.exponential(1.0, (freqs.size, 400))
    tone = np.searchsorted(freqs, 80e3)
    power[tone] += 10.0 * tilt[tone]  # 10 dB above the floor, always on
    db = db_above_floor(power, freqs)
    assert np.median(db[tone]) > 8
    others = np.delete(np.arange(freqs.size), tone)
    assert abs(np.median(db[others])) < 1.0


def test_recording_overview_has_its_key_colour_bar_and_tag(tmp_path, monkeypatch):
    """The per-recording overview PNG (a screen image, not a printed figure: page and text size are not
    checked) passes the whole audit: labelled axes, a colour bar, a key for the boxes, no overlapping text and,
    given a data notice, the SIMULATED data tag; the extraction script passes the rule's notice."""
    from usvflow.detect import detect_file
    from usvflow.figures.detection import plot_overview

    _wav(tmp_path / "rec.wav")
    det = detect_file(tmp_path / "rec.wav", "default", overview=True)
    saved = []
    original = Figure.savefig

    def savefig(self, fname, *args, **kwargs):
        saved.append(checks.audit(self, simulated=True))
        return original(self, fname, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    plot_overview(det, tmp_path / "rec.png", note=NOTICE["caption"])
    assert saved == [[]] and (tmp_path / "rec.png").stat().st_size > 0
    plot_overview(det, tmp_path / "untagged.png")
    assert saved[1] == ["no data tag"]
    # as wide as a 90 s recording (40 in, where the tag is drawn at 48 pt): the tag still clears the title
    import dataclasses

    plot_overview(dataclasses.replace(det, duration_s=90.0), tmp_path / "wide.png", note=NOTICE["caption"])
    assert saved[2] == []
    # the rule passes its data notice to the script, and the script to the figure
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    assert "note=smk.params.data" in (root / "scripts" / "extract.py").read_text()
    assert 'data=DATA["caption"]' in (root / "rules" / "extract.smk").read_text().split("rule extract_calls")[1]
