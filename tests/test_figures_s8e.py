"""Figs 3-5 as the reviewer read them (issue 23): Fig 3D's sentence counts what the stars mark, Fig 4D's chance
is that of the balanced accuracy it is drawn beside (the values present in the test calls), the truth ceiling's
name covers no data, and Fig 5's note carries the strains' rank-sum test like Fig 3's (and its summary row)."""

from __future__ import annotations

import json
import runpy
import types
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from test_figures import NOTICE, _assert_clean, audited  # noqa: F401

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from usvflow.classify.ceiling import _data_boxes, draw_ceiling  # noqa: E402
from usvflow.figures import models as pm  # noqa: E402
from usvflow.figures import style  # noqa: E402
from usvflow.figures.bars import bars, per_animal_bars  # noqa: E402
from usvflow.report.stats import rank_sum  # noqa: E402

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _pa(acc: list[float], p: list[float], group: str = "sex", levels=("F", "M")) -> pd.DataFrame:
    n = len(acc) // 2
    lv = [levels[0]] * n + [levels[1]] * (len(acc) - n)
    return pd.DataFrame({"animal": [f"{g}{i:02d}" for i, g in enumerate(lv)], "sex": lv if group == "sex" else "F",
                         "strain": lv if group == "strain" else "WT", "accuracy": acc, "p_binomial": p})


@pytest.mark.parametrize("acc, p", [([0.59, 0.60, 0.54, 0.63, 0.43, 0.42, 0.48, 0.43], [0.01, 0.01, 0.2, 0.001, 1, 1, .7, 1]),
                                    ([0.70, 0.52, 0.51, 0.62, 0.55, 0.56], [0.001, 0.4, 0.45, 0.03, 0.2, 0.04])])
def test_fig3d_sentence_counts_the_stars_and_the_animals_above_50(acc, p):
    pa = _pa(acc, p)
    text = pm.group_note(pa, 0.5, {}, None, "").replace("\u00a0", " ")
    fig, ax = plt.subplots()
    per_animal_bars(ax, pa, 0.5, "sex", "D")
    stars = sum(len(ln.get_xdata()) for ln in ax.get_lines() if ln.get_marker() == "*")
    said = [int(x) for x in __import__("re").findall(r"(\d+) significantly", text)]
    assert sum(said) == stars  # every star in the panel is counted in the sentence, none more
    for level, n_sig in zip(("F", "M"), said):
        rows = pa[pa["sex"] == level]
        assert f"{int((rows['accuracy'] > 0.5).sum())} of {len(rows)}" in text
        assert n_sig == int((rows["p_binomial"] < 0.05).sum())
    assert "above 50 %" in text and "binomial p < 0.05" in text
    plt.close(fig)


def _peaks_metrics() -> pd.DataFrame:
    """Peaks folds in which no test call has 3+ peaks: the balanced accuracy averages the other three values."""
    rows = []
    for m in ("cnn", "cnn_shuffled"):
        for k, acc in enumerate([(0.56, 0.39, 0.71), (0.63, 0.53, 0.78), (0.59, 0.44, 0.36)]):
            per = {"0": acc[0], "1": acc[1], "2": acc[2], "3+": None}
            rows.append({"task": "peaks", "model": m, "split": "random10", "fold": f"k{k}", "accuracy": 0.57,
                         "balanced_accuracy": float(np.mean(acc)), "chance": 0.25, "classes": ["0", "1", "2", "3+"],
                         "per_class_accuracy": per, "class_counts_test": [125, 36, 7, 0]})
    return pd.DataFrame(rows)


def test_fig4d_chance_is_one_over_the_values_present_and_absent_values_are_marked():
    metrics = _peaks_metrics()
    chance = pm.balanced_chance(metrics, "peaks")
    assert np.allclose(chance, 1 / 3)  # three values present, not 1/K = 1/4
    fig, ax = plt.subplots()
    pm._property_panel(ax, metrics, pd.Series([0] * 70 + [1] * 20 + [2] * 10), "peaks")
    ys = [ln.get_ydata()[0] for ln in ax.get_lines() if len(ln.get_ydata()) == 2 and np.ptp(ln.get_ydata()) == 0]
    assert any(np.isclose(y, 100 / 3) for y in ys) and not any(np.isclose(y, 25.0) for y in ys)
    assert "chance 33" in ax.get_xlabel() and "1/K" not in ax.get_xlabel()
    none = [t for t in ax.texts if t.get_gid() == "no test calls"]
    assert len(none) == 1 and none[0].get_position()[0] == 3  # the "3+" tick
    plt.close(fig)


def _label_and_boxes(ax):
    fig = ax.figure
    label = next(t for t in ax.texts if t.get_gid() == "truth ceiling label")
    r = fig.canvas.get_renderer()
    own = [b for b in _data_boxes(ax, r)]
    return label.get_window_extent(r), own, ax.get_window_extent(r), r


@pytest.mark.parametrize("width, groups", [(1.0, 2), (2.2, 6)])
def test_ceiling_label_covers_no_data_and_stays_in_its_panel(width, groups):
    """Dots just above the ceiling at the line's right end (where the name used to go), in a narrow panel
    (Fig 4G, K) and a wide one (Fig 4H, L)."""
    fig = plt.figure(figsize=(width + 1.0, 2.0))
    ax = fig.add_axes((0.5 / (width + 1.0), 0.15, width / (width + 1.0), 0.75))
    vals = [[0.62, 0.66, 0.70, 0.73, 0.58, 0.71] for _ in range(groups)]
    bars(ax, [(f"m{i}", v, "#b2182b", 1.0) for i, v in enumerate(vals)], 0.5)
    draw_ceiling(ax, 0.66, "ceiling")
    label, boxes, inside, r = _label_and_boxes(ax)
    assert not any(label.x0 < x1 and x0 < label.x1 and label.y0 < y1 and y0 < label.y1 for x0, y0, x1, y1 in boxes)
    assert inside.x0 - 0.5 <= label.x0 and label.x1 <= inside.x1 + 0.5  # not over the y tick labels
    for tick in ax.get_yticklabels():
        t = tick.get_window_extent(r)
        assert not (label.x0 < t.x1 and t.x0 < label.x1 and label.y0 < t.y1 and t.y0 < label.y1)
    plt.close(fig)


def _write_strain_run(root: Path) -> types.SimpleNamespace:
    """A strain leave-one-animal-out run of six animals (predictions + metrics per fold) and its call table."""
    rng = np.random.default_rng(5)
    table, strain_files = [], []
    for a, (animal, strain, acc) in enumerate([("CL01", "cortexless", 0.48), ("CL02", "cortexless", 0.61),
                                                ("CL03", "cortexless", 0.51), ("WT01", "WT", 0.70),
                                                ("WT02", "WT", 0.76), ("WT03", "WT", 0.63)]):
        y = 0 if strain == "WT" else 1
        n = 100
        uid = [f"{animal}/{i}" for i in range(n)]
        table += [{"call_uid": u, "animal": animal, "sex": "F", "strain": strain} for u in uid]
        d = root / "strain" / "loao" / animal
        d.mkdir(parents=True)
        for model, a_ in (("cnn", acc), ("cnn_shuffled", 0.5)):
            right = rng.random(n) < a_
            pd.DataFrame({"call_uid": uid, "y_true": y, "y_pred": np.where(right, y, 1 - y),
                          "score": 0.5}).to_parquet(d / f"{model}.predictions.parquet")
            metrics = {"task": "strain", "split": "loao", "fold": animal, "model": model, "accuracy": float(right.mean()),
                       "chance": 0.5, "classes": ["WT", "cortexless"], "balanced_accuracy": float(right.mean()),
                       "per_class_accuracy": {"WT": float(right.mean()) if y == 0 else None,
                                              "cortexless": float(right.mean()) if y == 1 else None}}
            (d / f"{model}.metrics.json").write_text(json.dumps(metrics))
            strain_files += [str(d / f"{model}.predictions.parquet"), str(d / f"{model}.metrics.json")]
    pd.DataFrame(table).to_parquet(root / "table.parquet")
    return types.SimpleNamespace(strain=strain_files, classical=[], table=str(root / "table.parquet"), ceiling=[])


def test_fig5_note_and_summary_carry_the_strains_rank_sum(tmp_path, audited):  # noqa: F811
    """Fig 5A gets Fig 3D's sentence: the strains' rank-sum over the held-out animals, in the note and a row."""
    inp = _write_strain_run(tmp_path)
    out = types.SimpleNamespace(figure=str(tmp_path / "fig5.pdf"), stats=str(tmp_path / "fig5.json"))
    smk = types.SimpleNamespace(input=inp, output=out, log=[], params=types.SimpleNamespace(
        dataset=NOTICE["cohort"], data=NOTICE["caption"]))
    figures = []
    original = plt.Figure.savefig
    plt.Figure.savefig = lambda self, *a, **k: (figures.append(self), original(self, *a, **k))[1]
    try:
        runpy.run_path(str(SCRIPTS / "plot_fig5.py"), init_globals={"snakemake": smk})
    finally:
        plt.Figure.savefig = original
    pa = json.loads(Path(out.stats).read_text())["values"]["per_animal"]
    pa = pd.DataFrame(pa)
    expected = rank_sum(pa.loc[pa["strain"] == "WT", "accuracy"], pa.loc[pa["strain"] == "cortexless", "accuracy"])
    notes = [t.get_text().replace("\n", " ") for t in figures[0].texts if t.get_gid() == style.NOTE_GID]
    assert any(f"accuracy by strain: rank-sum p = {expected.p:.2g} ({expected.method}" in n for n in notes), notes
    assert any(n.startswith("A: ") and "held-out WT above 50" in n.replace("\u00a0", " ") for n in notes)
    rows = json.loads(Path(out.stats).read_text())["rows"]
    row = next(r for r in rows if "rank-sum" in r["quantity"] and r["quantity"].startswith("Fig 5A"))
    assert row["ours"] == f"p = {expected.p:.3g}" and row["paper"] == pm.PAPER["strain_wt_vs_cortexless"]
    plt.close("all")
    _assert_clean(audited)
