"""Fig 3F shows the has-break task honestly (balanced accuracy against 50 %, plain accuracy against the
majority-value baseline), Fig 3D's per-sex pattern and Fig 5B's one-answer folds are said in sentences computed
from the data, and Fig 5B carries Fig 3E's paired tests (issue 23, reviewer's reading of the default run)."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
from test_figures import NOTICE, _assert_clean, _layers, _metrics, _per_animal, audited  # noqa: F401

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from usvflow.classify.ceiling import panel  # noqa: E402
from usvflow.figures import models as pm  # noqa: E402
from usvflow.figures import style  # noqa: E402


def _has_break_metrics() -> pd.DataFrame:
    """Sex and has-break folds; has break: plain accuracy (0.80) below its majority baseline (0.84), balanced
    accuracy 0.86."""
    sex = _metrics("sex", ["cnn", "cnn_shuffled", "ridge", "svm", "ridge_shuffled", "svm_shuffled"])
    rows = [{"task": "has_break", "model": m, "split": "loao", "fold": f"a{k}", "accuracy": 0.80 if m == "cnn" else 0.5,
             "balanced_accuracy": 0.86 if m == "cnn" else 0.49, "classes": ["no break", "break"],
             "per_class_accuracy": {"no break": 0.8, "break": 0.9}, "class_counts_test": [84, 16]}
            for m in ("cnn", "cnn_shuffled") for k in range(8)]
    return pd.concat([sex, pd.DataFrame(rows)], ignore_index=True)


def test_fig3f_shows_balanced_accuracy_and_the_majority_baseline(tmp_path, audited):  # noqa: F811
    metrics = _has_break_metrics()
    curve = pd.DataFrame({"iteration": np.arange(0, 300, 10), "test_accuracy": np.linspace(0.5, 0.7, 30),
                          "weight_change": np.linspace(0.2, 0.01, 30), "train_loss": np.linspace(0.7, 0.4, 30)})
    pa = _per_animal(["F", "M"], "sex")
    with style.script_figures(NOTICE["caption"]):
        fig = pm.plot_fig3(metrics, curve, "held-out F01", np.random.default_rng(8).normal(size=(16, 5, 5)), pa,
                           NOTICE["cohort"], network=_layers("cnn", 2), input_label="call image\n1×50×50")
        fig.savefig(tmp_path / "fig3.pdf")
    ax = panel(fig, "F ")
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    heights = {t: round(p.get_height(), 6) for t, p in zip(ticks, ax.patches)}
    assert heights["has break\n(balanced)"] == 86.0  # balanced accuracy as the bar, against the 50 % line
    assert heights["has break\n(accuracy)"] == 80.0
    lines = [ln for ln in ax.get_lines() if ln.get_gid() == "majority baseline"]
    assert len(lines) == 1 and np.allclose(lines[0].get_ydata(), 84.0)  # across the plain-accuracy bar
    x = ticks.index("has break\n(accuracy)")
    assert min(lines[0].get_xdata()) < x < max(lines[0].get_xdata())
    assert any("majority" in t.get_text() and "84 %" in t.get_text() for t in ax.texts)
    assert "balanced 86 % (chance 50)" in ax.get_xlabel() and "maj. 84" in ax.get_xlabel()
    plt.close("all")
    _assert_clean(audited)


def test_fig5b_has_the_paired_tests_and_the_one_answer_note(tmp_path, audited):  # noqa: F811
    pa = _per_animal(["WT", "CL"], "strain")
    metrics = pd.DataFrame([{"task": "strain", "model": m, "split": "loao", "fold": f"a{k}", "accuracy": 0.5 + k / 50}
                            for m in ["cnn", "ridge", "svm", "cnn_shuffled", "ridge_shuffled", "svm_shuffled"]
                            for k in range(8)])
    acc = {m: pm.accuracies(metrics, "strain", m, "loao") for m in ("cnn", "ridge", "svm")}
    comparisons = {"cnn_vs_ridge": pm.paired(acc["cnn"], acc["ridge"] - 0.1),
                   "cnn_vs_svm": pm.paired(acc["cnn"], acc["svm"])}
    with style.script_figures(NOTICE["caption"]):
        fig = pm.plot_fig5(metrics, pa, NOTICE["cohort"], comparisons)
        style.add_note(fig, "B: the SVM called ≥ 95 % of the calls of 3 of 6 held-out animals the other strain.")
        fig.savefig(tmp_path / "fig5.pdf")
    ps = [t.get_text() for t in panel(fig, "B ").texts if t.get_text().startswith("p = ")]
    assert len(ps) == 2 and all("signed-rank, n = 8" in t for t in ps)
    assert f"p = {comparisons['cnn_vs_ridge']['p']:.2g} " in ps[0]
    plt.close("all")
    _assert_clean(audited)


def test_fig3d_sentence_is_computed_from_the_data():
    pa = pd.DataFrame({"animal": ["F1", "F2", "M1", "M2"], "sex": ["F", "F", "M", "M"],
                       "accuracy": [0.6, 0.58, 0.44, 0.52], "p_binomial": [0.01, 0.2, 0.9, 0.3]})
    text = pm.group_note(pa, 0.5, {"F": 0.58, "M": 0.42}, 0.0286, "exact")
    assert text.replace("\u00a0", " ").startswith("D: 2 of 2 held-out females above 50 %, 1 significantly (*: binomial "
                                                  "p < 0.05; mean 59 %), 1 of 2 males, 0 significantly (mean 48 %)")
    assert 'answered "female" for 58 % of all held-out calls' in text
    assert "rank-sum p = 0.029 (exact; the paper: n.s.)" in text
    preds = pd.DataFrame({"model": "cnn", "task": "sex", "y_pred": [0, 0, 0, 1]})
    metrics = pd.DataFrame([{"task": "sex", "model": "cnn", "classes": ["F", "M"]}])
    assert pm.answered_shares(metrics, preds, "sex", "cnn") == {"F": 0.75, "M": 0.25}


def test_near_one_class_folds_from_the_fold_metrics():
    def row(fold, acc, c):
        return {"task": "strain", "model": "svm", "split": "loao", "fold": fold, "accuracy": acc,
                "per_class_accuracy": {"cortexless" if fold.startswith("CL") else "WT": acc},
                "hyperparameter": {"name": "C", "value": c}}

    metrics = pd.DataFrame([row("CL01", 0.006, 0.01), row("CL02", 0.04, 1e-4), row("WT01", 0.84, 0.1)])
    folds = pm.near_one_class(metrics, "strain", "svm")
    assert folds["fold"].tolist() == ["CL01", "CL02"]
    text = pm.one_class_note(folds, 3, "SVM", "strain")
    nb = "\u00a0"
    assert text.startswith(f"B: the SVM called ≥{nb}95{nb}% of the calls of 2 of 3 held-out animals the other strain")
    assert f"CL01{nb}0.6{nb}%" in text and "0.01, 0.0001" in text
    assert pm.one_class_note(folds.iloc[:0], 3, "SVM") == ""
