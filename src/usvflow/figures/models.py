"""Figures 3, 4, 5, S1, S2 (Ivanenko et al. 2020) and their numbers, from per-fold results files.

Every number here comes from what the training rules wrote (``results/train/.../*.metrics.json`` and
``*.predictions.parquet``), read by :mod:`usvflow.figures.results` — nothing is trained or typed in. Colours as
in the paper: female red, male blue; DNN red, ridge blue, SVM green; shuffled-label controls in light shades;
chance as a grey line.
"""

from __future__ import annotations

from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from ..report import paper  # noqa: E402
from . import schematic, style  # noqa: E402
from .bars import bars, bracket, group_legend, group_levels, per_animal_bars  # noqa: E402
from .curves import learning_curve_panels  # noqa: E402
from .results import (  # noqa: E402,F401  (re-exported: scripts read results through here)
    accuracies,
    answered_shares,
    balanced_chance,
    chosen_regularisation,
    majority_baseline,
    med,
    near_one_class,
    paired,
    paired_text,
    pct,
    per_animal,
    read_metrics,
    read_predictions,
    summary_of,
    vs_chance,
)

MODEL_COLOURS = {"cnn": "#b2182b", "dnn9": "#b2182b", "semiconv": "#b2182b", "ridge": "#2166ac",
                 "svm": "#1a9850"}
LIGHT = 0.35
PAPER = paper.IVANENKO_2020  # the published values (text of the paper), shown beside ours


# --------------------------------------------------------------------------------------------- drawing


@style.styled
def plot_fig3(metrics: pd.DataFrame, curve: pd.DataFrame, curve_label: str, filters: np.ndarray,
              pa: pd.DataFrame, dataset: str, comparisons: dict[str, dict] | None = None,
              network: Sequence[dict] | None = None, curves: pd.DataFrame | None = None,
              input_label: str = "") -> plt.Figure:
    """A the network (``network``: its layer table, :func:`usvflow.classify.models.describe_layers`;
    ``input_label``: the input box's words), B learning curves (``curves``: every fold's, with ``animal``
    and ``sex``; ``curve``: the representative fold's, :mod:`usvflow.figures.curves`), C first-layer filters,
    D per-animal LOAO accuracy, E CNN vs ridge vs SVM with shuffled controls and the paired tests
    (``comparisons``: ``cnn_vs_ridge``, ``cnn_vs_svm`` as :func:`paired` returns them), F has-break task.
    ``dataset`` is kept for the callers; the data tag is added when the figure is saved
    (:func:`usvflow.figures.style.script_figures`)."""
    # With the tag, the title and two notes below (panel D's sentence, the background-only control): one page.
    fig = plt.figure(figsize=(style.PRINT_WIDTH_IN, 7.05))
    outer = fig.add_gridspec(2, 1, height_ratios=[1.0, 6.0], hspace=0.14, top=0.95, bottom=0.115, left=0.08,
                             right=0.97)
    ax = fig.add_subplot(outer[0])
    if network:
        schematic.draw_network(ax, network, input_label or "spectrogram", "A  the network (sex CNN, as trained)")
    else:
        ax.text(0.5, 0.5, "no trained network", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        style.exempt(ax, "schematic of the network (no data axes)")
    gs = outer[1].subgridspec(2, 3, hspace=0.65, wspace=0.75)
    learning_curve_panels(fig, gs[0, 0], curve, curves, curve_label)
    shown = np.asarray(filters[:16], float) if len(filters) else np.zeros((0, 1, 1))
    side = max(1, int(np.ceil(np.sqrt(len(shown)))))  # a grid just large enough: no empty cells in a row
    sub = gs[0, 1].subgridspec(int(np.ceil(len(shown) / side)) or 1, side, wspace=0.08, hspace=0.08)
    lim = float(np.abs(shown).max()) if shown.size else 1.0
    cells = []
    for i, kernel in enumerate(shown):
        a = fig.add_subplot(sub[i // side, i % side])
        im = a.imshow(kernel, cmap="RdBu_r", origin="lower", vmin=-lim, vmax=lim)
        a.set_xticks([])
        a.set_yticks([])
        style.exempt(a, "a first-layer kernel: input pixels (time × frequency), no unit axes; shared colour bar")
        cells.append(a)
        if i == 0:
            a.set_title("C  first-layer filters")
    if cells:
        style.colorbar(fig, im, cells, "weight", shrink=0.9)
    ax = fig.add_subplot(gs[0, 2])
    per_animal_bars(ax, pa, 0.5, "sex", "D  CNN, per animal\n(leave-one-animal-out)")
    group_legend(fig, group_levels(pa, "sex"))
    ax = fig.add_subplot(gs[1, 0:2])
    groups = []
    for model, label in [("cnn", "DNN"), ("ridge", "Ridge"), ("svm", "SVM")]:
        groups.append((label, accuracies(metrics, "sex", model, "loao").tolist(), MODEL_COLOURS[model], 1.0))
    for model, label in [("cnn", "DNN"), ("ridge", "Ridge"), ("svm", "SVM")]:
        groups.append((label + " shuffled", accuracies(metrics, "sex", f"{model}_shuffled", "loao").tolist(),
                       MODEL_COLOURS[model], LIGHT))
    bars(ax, groups, 0.5)
    comparison_brackets(ax, comparisons)
    ax.set_xlabel("model (light: shuffled labels)")
    ax.set_title("E  sex, leave-one-animal-out\n(bars: mean ± SEM; dots: held-out animals)")
    ax = fig.add_subplot(gs[1, 2])
    has_break_panel(ax, metrics)
    ax.set_title("F  has-break task\n(same network)")
    style.add_title(fig, "3", "The sex CNN: its layers, its learning and its accuracy on single calls")
    return fig


HAS_BREAK = "#762a83"
MAJORITY = {"color": "0.2", "lw": 1.2, "ls": (0, (3, 1.5))}  # the majority-value baseline (Fig 3F, Fig 4B-E)


def has_break_panel(ax: plt.Axes, metrics: pd.DataFrame) -> None:
    """Fig 3F: the sex task beside the has-break task of the same network. Most calls have no break, so a
    has-break fold's plain accuracy is measured against the majority-value baseline (always "no break"), not
    against 50 %: its bars show the balanced accuracy (mean of the two values' accuracies; chance 50 %), and a
    last bar the plain accuracy with that baseline drawn across it and named (Fig 4B-E's convention). A
    sex fold's test set is one animal, one sex: its balanced accuracy is its accuracy."""
    loao = metrics[metrics["split"] == "loao"]
    sex = accuracies(metrics, "sex", "cnn", "loao")
    bal = accuracies(metrics, "has_break", "cnn", "loao", "balanced_accuracy")
    acc = accuracies(metrics, "has_break", "cnn", "loao")
    major = majority_baseline(loao, "has_break").dropna()
    groups = [("sex", sex.tolist(), MODEL_COLOURS["cnn"], 1.0),
              ("has break\n(balanced)", bal.tolist(), HAS_BREAK, 1.0),
              ("sex shuffled", accuracies(metrics, "sex", "cnn_shuffled", "loao").tolist(), MODEL_COLOURS["cnn"], LIGHT),
              ("has break sh.\n(balanced)",
               accuracies(metrics, "has_break", "cnn_shuffled", "loao", "balanced_accuracy").tolist(), HAS_BREAK, LIGHT),
              ("has break\n(accuracy)", acc.tolist(), "#40004b", 1.0)]
    bars(ax, groups, 0.5)
    x = len(groups) - 1
    words = f"balanced {100 * bal.mean():.0f} % (chance 50)\naccuracy {100 * acc.mean():.0f} %"
    if len(major):
        m = 100 * major.mean()
        ax.plot([x - 0.5, x + 0.5], [m, m], gid="majority baseline", zorder=3, **MAJORITY)
        top = max([m] + [100 * v for v in acc.dropna()])  # above the bar's dots
        ax.text(x + 0.5, top + 2, f"majority\n{m:.0f} %", ha="right", va="bottom", color=MAJORITY["color"])
        words += f" (maj. {m:.0f})"
    ax.set_ylim(0, 110)
    ax.set_yticks(range(0, 101, 20))
    ax.set_xlabel(words)


def comparison_brackets(ax: plt.Axes, comparisons: dict[str, dict] | None) -> None:
    """Brackets from the first bar (the CNN) to the second and third (ridge, SVM) with the paired tests'
    p values (``cnn_vs_ridge``, ``cnn_vs_svm``: :func:`paired`), above 100 % (Fig 3E, Fig 5B)."""
    for j, key in ((1, "cnn_vs_ridge"), (2, "cnn_vs_svm")):
        test = (comparisons or {}).get(key) or {}
        if test.get("p") is not None:
            bracket(ax, 0, j, 92 + 12 * j, f"p = {test['p']:.2g} (signed-rank, n = {test['n']})")
    ax.set_ylim(0, 125)
    ax.set_yticks(range(0, 101, 20))


def group_note(pa: pd.DataFrame, chance: float, answered: dict[str, float], p: float | None, method: str,
               names: dict[str, str] | None = None, panel: str = "D", paper: str = "n.s.",
               group: str = "sex") -> str:
    """One plain sentence on per-animal accuracy by group (``group``: a column of ``pa``; Fig 3D: sex), from the
    data: how many held-out animals of each group are above ``chance`` and how many of those significantly
    (``p_binomial`` < 0.05: the panel's stars), their mean, the share of all held-out calls given each answer
    (``answered``: answer → share), and the groups' rank-sum test (``p``, ``method``) beside the paper's
    verdict. E.g. "D: 4 of 4 held-out females above 50 %, 3 significantly (*: binomial p < 0.05; mean 59 %),
    0 of 4 males (mean 44 %) ..."."""
    names, nb = names or {"F": "females", "M": "males"}, "\u00a0"  # nb: a number and its unit stay on one line
    parts = []
    for i, level in enumerate(group_levels(pa, group)):
        rows = pa[pa[group].astype(str) == level]
        acc = rows["accuracy"].astype(float)
        above = int((acc > chance).sum())
        starred = int((rows["p_binomial"].astype(float) < 0.05).sum())  # one-sided: a star is above chance
        held = "held-out " if i == 0 else ""
        sig = ", " + f"{starred} significantly" + (" (*: binomial p < 0.05; " if i == 0 else " (")
        parts.append(f"{above} of {len(acc)} {held}{names.get(level, level)}"
                     f"{f' above {100 * chance:.0f}{nb}%' if i == 0 else ''}{sig if above or starred else ' ('}"
                     f"mean {100 * acc.mean():.0f}{nb}%)")
    text = f"{panel}: " + ", ".join(parts)
    if answered:
        top = max(answered, key=answered.get)
        word = {"F": "female", "M": "male"}.get(top, top)
        text += f"; the network answered \"{word}\" for {100 * answered[top]:.0f} % of all held-out calls"
    if p is not None and np.isfinite(p):
        text += f"; accuracy by {group}: rank-sum p = {p:.2g} ({method}; the paper: {paper})"
    return text + "."


def one_class_note(folds: pd.DataFrame, n: int, name: str, what: str = "class", panel: str = "B",
                   share: float = 0.95) -> str:
    """"B: the SVM called ≥ 95 % of the calls of 3 of 6 held-out animals the other strain (accuracy CL01
    0.6 %, ...); its C, chosen by the nested search on those folds: 0.01, 0.0001, 0.0001." ("" when no fold
    was so; ``folds``: :func:`near_one_class`)."""
    if not len(folds):
        return ""
    nb = "\u00a0"  # a number and its unit stay on one line
    each = ", ".join(f"{r.fold}{nb}{100 * r.accuracy:.1f}{nb}%" for r in folds.itertuples())
    side = ("the other " if (folds["accuracy"] < 0.5).all() else "their own " if (folds["accuracy"] > 0.5).all()
            else "one ") + what
    text = (f"{panel}: the {name} called ≥{nb}{100 * share:.0f}{nb}% of the calls of {len(folds)} of {n} held-out "
            f"animals {side} (accuracy {each})")
    cs = [f"{c:g}" for c in folds["C"] if c is not None and np.isfinite(c)]
    if cs:
        text += f"; its C, chosen by the nested search on those folds: {', '.join(cs)}"
    return text + "."


PROPERTY_KEY = [("share of calls", {"ls": "", "marker": "s", "color": "#9ecae1"}),
                ("per value (mean ± SEM)", {"ls": "", "marker": "o", "color": "#d6604d"}),
                ("balanced accuracy", {"color": "#d6604d", "lw": 1.5}),
                ("its chance (1/values present)", {"color": "#d6604d", "lw": 1, "ls": "--", "alpha": LIGHT}),
                ("shuffled (balanced)", {"color": "#d6604d", "lw": 1, "ls": ":", "alpha": LIGHT}),
                ("accuracy", {"color": "#67001f", "lw": 1.5}),
                ("majority baseline", {"color": "0.4", "lw": 1, "ls": "--"})]


def _property_panel(ax: plt.Axes, metrics: pd.DataFrame, labels: pd.Series, task: str) -> None:
    """One property CNN: accuracy per value over the value distribution, balanced accuracy (its chance: 1 over
    the values present in the test calls, :func:`balanced_chance`) and accuracy against the majority-value
    baseline; a value no test call has is marked "none"; the numbers in the x label."""
    m = metrics[(metrics["task"] == task) & (metrics["model"] == "cnn")]
    if not len(m):
        ax.text(0.5, 0.5, "not run", ha="center", transform=ax.transAxes)
        ax.set_xlabel(f"{task} value")
        return
    classes = m["classes"].iloc[0]
    per = np.array([[f.get(c) if f.get(c) is not None else np.nan for c in classes]
                    for f in m["per_class_accuracy"]], float) * 100
    x = np.arange(len(classes))
    dist = labels.value_counts(normalize=True).reindex(range(len(classes)), fill_value=0) * 100
    key = dict(PROPERTY_KEY)
    ax.bar(x, dist.to_numpy(), color=key["share of calls"]["color"], width=0.8)
    ax.errorbar(x, np.nanmean(per, 0), yerr=np.nanstd(per, 0, ddof=1) / np.sqrt(len(per)) if len(per) > 1 else None,
                fmt="o", ms=3, color="#d6604d")
    # Balanced accuracy first (its chance: 1 / values present), then accuracy against the majority value.
    bal = accuracies(metrics, task, "cnn", column="balanced_accuracy").mean() * 100
    chance = balanced_chance(metrics, task).mean() * 100
    acc, major = m["accuracy"].mean() * 100, majority_baseline(metrics, task).mean() * 100
    for name, value in [("balanced accuracy", bal), ("its chance (1/values present)", chance), ("accuracy", acc),
                        ("majority baseline", major)]:
        ax.axhline(value, **key[name])
    for i in np.flatnonzero(np.isnan(per).all(axis=0)):  # no test call has this value: not in the balanced mean
        ax.text(i, 2, "none", ha="center", va="bottom", rotation=90, fontsize=7, gid="no test calls")
    sh = accuracies(metrics, task, "cnn_shuffled", column="balanced_accuracy")
    if len(sh):
        ax.axhline(sh.mean() * 100, **key["shuffled (balanced)"])
    ax.set_xticks(x, classes)
    ax.set_xlabel(f"{task} value\nbalanced {bal:.0f} % (chance {chance:.0f})\n"
                  f"accuracy {acc:.0f} % (maj. {major:.0f})", fontsize=7)  # the style's minimum: 4 fit across


def _schematic_or_note(ax, draw, title: str) -> None:
    """Draw a network schematic, or say that no trained network was given."""
    if draw is not None:
        draw()
        return
    ax.text(0.5, 0.5, "no trained network", ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()
    ax.set_title(title)
    style.exempt(ax, "schematic of the network (no data axes)")


def _by_sex(metrics: pd.DataFrame, model: str, sexes: dict[str, str]) -> list[tuple[str, list, str, float]]:
    """Fold accuracies of a leave-one-animal-out sex model split by the held-out animal's sex (Fig 4K)."""
    acc = accuracies(metrics, "sex", model, "loao")
    return [(name, acc[[sexes.get(f) == s for f in acc.index]].tolist(), colour, 1.0)
            for s, name, colour in (("F", "female", "#d62728"), ("M", "male", "#1f77b4"))]


@style.styled
def plot_fig4(metrics: pd.DataFrame, labels: dict[str, pd.Series], coefs: pd.Series, dataset: str,
              networks: dict[str, Any] | None = None, sexes: dict[str, str] | None = None) -> plt.Figure:
    """A the property CNNs (one per property, the layers of Fig 3A: drawn compactly); B-E property CNNs per
    value with the value distribution, balanced accuracy (chance 1/values present) and accuracy against the majority-value
    baseline; F the 9-feature DNN; G-H it vs ridge vs SVM; I ridge coefficients; J the semi-convolutional
    DNN; K its accuracy per held-out animal's sex (``sexes``: animal → sex); L it vs ridge vs SVM. Three
    rows, [A | B C D E] / [F G H | I] / [J | K L]: a page about 8.6 in tall at print width, within one printed
    page (8.75 in).
    ``networks``: layer tables (:func:`usvflow.classify.models.describe_layers`) under ``cnn``, ``dnn9``,
    ``semiconv``, with ``cnn_input`` (the input box's words), ``cnn_outputs`` (task → number of values),
    ``semiconv_vectors`` ((name, length) per 1-D input) and ``semiconv_features``. ``dataset``: see
    :func:`plot_fig3`."""
    networks, sexes = networks or {}, sexes or {}
    # Bands from the top (inches): the key above B-E, their titles, axes and three-line x labels; F-I's
    # two-line titles, axes, and H's rotated ticks with its x label; K-L's two-line titles, axes, and theirs.
    # A spans the first row's bands beside B-E, J the last row's beside K-L (schematics: no axis labels).
    bands = {"key": 0.34, "t1": 0.24, "a1": 1.45, "x1": 0.66, "t2": 0.4, "a2": 1.35, "x2": 0.8, "t3": 0.4,
             "a3": 1.55, "x3": 0.78}
    width, pad = style.PRINT_WIDTH_IN, 0.04
    height = pad + sum(bands.values())
    fig = plt.figure(figsize=(width, height))
    tops, y = {}, height - pad
    for name, h in bands.items():
        tops[name] = y
        y -= h

    def span(first: str, last: str) -> tuple[float, float]:
        """Bottom and top (figure fractions) of the bands from ``first`` to ``last``."""
        return (tops[last] - bands[last]) / height, tops[first] / height

    def rect(x0: float, x1: float, first: str, last: str, top: float = 0.0) -> plt.Axes:
        """Axes from ``x0`` to ``x1`` (inches) over the bands ``first`` to ``last``, less ``top`` inches."""
        b, t = span(first, last)
        return fig.add_axes((x0 / width, b, (x1 - x0) / width, t - b - top / height))

    ax = rect(0.1, 1.4, "key", "x1", top=0.24)
    outputs = networks.get("cnn_outputs", {})
    _schematic_or_note(ax, networks.get("cnn") and (lambda: schematic.draw_per_task(
        ax, networks["cnn"], networks.get("cnn_input", "spectrogram"), outputs, "A  property CNNs")),
        "A  property CNNs")
    # Across (inches): B-E 1.42 apart, clear of each other's three-line x labels (about 1.4 in at 8 pt); the
    # rightmost texts (E's and L's x labels, L's title, I's) end by 7.3 in, the page 7.5 in with its margins.
    b, t = span("a1", "a1")
    top = fig.add_gridspec(1, 4, left=1.85 / width, right=6.99 / width, bottom=b, top=t, wspace=0.62)
    first = None
    for i, task in enumerate(["direction", "breaks", "peaks", "broadband"]):
        ax = fig.add_subplot(top[0, i], sharey=first)
        first = first or ax
        _property_panel(ax, metrics, labels.get(task, pd.Series(dtype=float)), task)
        ax.set_ylim(0, 100)
        ax.set_title(f"{'BCDE'[i]}  {task}")
        if i == 0:
            ax.set_ylabel("accuracy / share (%)")
    fig.legend(handles=[Line2D([], [], label=name, **kw) for name, kw in PROPERTY_KEY], loc="lower center",
               ncol=4, frameon=False, bbox_to_anchor=((1.85 + 6.99) / 2 / width, span("t1", "t1")[1]),
               handletextpad=0.3, columnspacing=1.0, borderaxespad=0.2)
    b, t = span("a2", "a2")
    row = fig.add_gridspec(1, 2, left=0.08, right=0.95, bottom=b, top=t, wspace=0.5, width_ratios=[9.4, 1.9])
    mid = row[0, 0].subgridspec(1, 3, wspace=0.65, width_ratios=[5.8, 1.1, 3.0])  # I's feature names in the gap
    ax = fig.add_subplot(mid[0, 0])
    _schematic_or_note(ax, networks.get("dnn9") and (lambda: schematic.draw_network(
        ax, networks["dnn9"], f"{networks.get('dnn9_features', 9)}\nfeatures", "F  9 features → sex (DNN)")),
        "F  9 features → sex (DNN)")
    ax = fig.add_subplot(mid[0, 1])
    bars(ax, [("DNN", accuracies(metrics, "sex", "dnn9", "loao").tolist(), MODEL_COLOURS["dnn9"], 1.0),
               ("DNN sh.", accuracies(metrics, "sex", "dnn9_shuffled", "loao").tolist(), MODEL_COLOURS["dnn9"], LIGHT)],
          0.5)
    ax.set_xlabel("model")
    ax.set_title("G  DNN\n(F) vs chance")
    ax = fig.add_subplot(mid[0, 2])
    bars(ax, [(lab, accuracies(metrics, "sex", mod, "loao").tolist(), MODEL_COLOURS[c], a)
               for lab, mod, c, a in [("DNN", "dnn9", "dnn9", 1.0), ("Ridge", "ridge_feat9", "ridge", 1.0),
                                      ("SVM", "svm_feat9", "svm", 1.0), ("Ridge sh.", "ridge_feat9_shuffled", "ridge", LIGHT),
                                      ("SVM sh.", "svm_feat9_shuffled", "svm", LIGHT)]], 0.5)
    ax.set_xlabel("model (sh.: shuffled labels)")
    ax.set_title("H  9 features:\nDNN vs ridge vs SVM")
    ax = fig.add_subplot(row[0, 1])
    if len(coefs):
        ax.barh(np.arange(len(coefs)), coefs.to_numpy(), color=MODEL_COLOURS["ridge"])
        ax.set_yticks(np.arange(len(coefs)), coefs.index)
        ax.axvline(0, color="k", lw=0.5)
    else:
        ax.text(0.5, 0.5, "no features", ha="center", transform=ax.transAxes)
    style.label_axes(ax, "ridge coefficient\n(z-scored; + = male)", "feature")
    ax.set_title("I  linear predictors\nof sex")
    ax = rect(0.1, 4.42, "t3", "x3", top=0.22)  # J's title: one line
    _schematic_or_note(ax, networks.get("semiconv") and (lambda: schematic.draw_semiconv(
        ax, networks["semiconv"], networks.get("semiconv_vectors", []), networks.get("semiconv_features", 24),
        "J  semi-convolutional DNN: 1-D convolutions on three vectors")),
        "J  semi-convolutional DNN")
    b, t = span("a3", "a3")
    low = fig.add_gridspec(1, 2, left=4.92 / width, right=7.04 / width, bottom=b, top=t, wspace=0.7,
                           width_ratios=[1.2, 2.3])
    ax = fig.add_subplot(low[0, 0])
    bars(ax, _by_sex(metrics, "semiconv", sexes), 0.5)
    ax.set_xlabel("held-out animal")
    ax.set_title("K  semi-conv.\nDNN by sex")
    ax = fig.add_subplot(low[0, 1])
    bars(ax, [(lab, accuracies(metrics, "sex", mod, "loao").tolist(), MODEL_COLOURS[c], a)
               for lab, mod, c, a in [("DNN", "semiconv", "semiconv", 1.0), ("Ridge", "ridge_semiconv", "ridge", 1.0),
                                      ("SVM", "svm_semiconv", "svm", 1.0), ("DNN sh.", "semiconv_shuffled", "semiconv", LIGHT),
                                      ("Ridge sh.", "ridge_semiconv_shuffled", "ridge", LIGHT),
                                      ("SVM sh.", "svm_semiconv_shuffled", "svm", LIGHT)]], 0.5)
    ax.set_xlabel("model (sh.: shuffled labels)")
    ax.set_title("L  semi-convolutional\nDNN vs ridge vs SVM")
    style.add_title(fig, "4", "Call properties and features alone as predictors of sex")
    return fig


@style.styled
def plot_fig5(metrics: pd.DataFrame, pa: pd.DataFrame, dataset: str,
              comparisons: dict[str, dict] | None = None) -> plt.Figure:
    """A per-animal strain CNN accuracy (LOAO); B CNN vs ridge vs SVM with shuffled controls and the paired
    tests (``comparisons``: ``cnn_vs_ridge``, ``cnn_vs_svm`` as :func:`paired` returns them; Fig 3E's
    brackets). ``dataset``: see :func:`plot_fig3`."""
    fig, axes = plt.subplots(1, 2, figsize=(style.PRINT_WIDTH_IN, 3.6),
                             gridspec_kw={"wspace": 0.3, "bottom": 0.27, "top": 0.78, "left": 0.08, "right": 0.98})
    levels = group_levels(pa, "strain")
    per_animal_bars(axes[0], pa, 0.5, "strain", f"A  CNN, {' vs '.join(levels) or 'strain'}\n(leave-one-animal-out)")
    group_legend(fig, levels)
    groups = [(lab, accuracies(metrics, "strain", mod, "loao").tolist(), MODEL_COLOURS[mod.split("_")[0]], a)
              for lab, mod, a in [("DNN", "cnn", 1.0), ("Ridge", "ridge", 1.0), ("SVM", "svm", 1.0),
                                  ("DNN sh.", "cnn_shuffled", LIGHT), ("Ridge sh.", "ridge_shuffled", LIGHT),
                                  ("SVM sh.", "svm_shuffled", LIGHT)]]
    bars(axes[1], groups, 0.5)
    comparison_brackets(axes[1], comparisons)
    axes[1].set_xlabel("model (sh.: shuffled labels)")
    axes[1].set_title("B  strain: DNN vs ridge vs SVM\n(leave-one-animal-out)")
    style.add_title(fig, "5", "The emitter's strain from single calls")
    return fig


@style.styled
def plot_supplement(pa_loao: pd.DataFrame, pa_random: pd.DataFrame, pa_ind: pd.DataFrame, n_animals: int,
                    colour_by: str, dataset: str, number: str = "S1") -> plt.Figure:
    """S1/S2 (``number``): A per-animal LOAO accuracy with binomial tests; B random-split CV; C individual
    identity. ``dataset``: see :func:`plot_fig3`."""
    fig, axes = plt.subplots(1, 3, figsize=(style.PRINT_WIDTH_IN, 3.6), sharey=True,
                             gridspec_kw={"wspace": 0.15, "bottom": 0.22, "top": 0.78, "left": 0.08, "right": 0.99})
    per_animal_bars(axes[0], pa_loao, 0.5, colour_by, "A  leave-one-animal-out")
    per_animal_bars(axes[1], pa_random, 0.5, colour_by, "B  random test sets\n(individuals seen)")
    per_animal_bars(axes[2], pa_ind, 1.0 / max(n_animals, 1), colour_by, "C  which animal?\n(chance 1/N)")
    for ax in axes[1:]:
        ax.set_ylabel("")
    group_legend(fig, group_levels(pd.concat([pa_loao, pa_random, pa_ind]), colour_by))
    style.add_title(fig, number, f"The {colour_by} CNN per animal: held-out animals, seen animals, identity")
    return fig


def first_layer_filters(state_dict: dict, n: int = 16) -> np.ndarray:
    """The first convolution's kernels (out, k, k) with the largest norms (the most shaped by learning)."""
    w = next(v for k, v in state_dict.items() if k.endswith("weight") and v.dim() == 4).detach().cpu().numpy()
    w = w[:, 0]
    order = np.argsort(-np.linalg.norm(w.reshape(len(w), -1), axis=1))
    return w[order[:n]]


def supplementary_figure(table: pd.DataFrame, loao: Sequence[str], random: Sequence[str], individual: Sequence[str],
                         task: str, figure: str, dataset: str) -> tuple[plt.Figure, dict[str, Any], list[dict]]:
    """S1 Fig (task ``sex``) or S2 Fig (``strain``): the figure, its numbers and the summary rows."""
    metrics = read_metrics(list(loao) + list(random) + list(individual))
    pa_loao = per_animal(read_predictions(loao), table, "cnn", 0.5)
    pa_rand = per_animal(read_predictions(random), table, "cnn", 0.5)
    pa_rand_sh = per_animal(read_predictions(random), table, "cnn_shuffled", 0.5)
    n_animals = table["animal"].nunique()
    pa_ind = per_animal(read_predictions(individual), table, "cnn", 1.0 / n_animals)
    pa_ind_sh = per_animal(read_predictions(individual), table, "cnn_shuffled", 1.0 / n_animals)
    fig = plot_supplement(pa_loao, pa_rand, pa_ind, n_animals, "sex" if task == "sex" else "strain", dataset,
                          figure.removeprefix("fig"))
    ind_task = "individual" if task == "sex" else "individual_strain"
    values = {
        "loao_per_animal": pa_loao.to_dict(orient="records"),
        "random_per_animal": pa_rand.to_dict(orient="records"),
        "individual_per_animal": pa_ind.to_dict(orient="records"),
        "random_folds": summary_of(accuracies(metrics, task, "cnn", "random10")),
        "random_folds_shuffled": summary_of(accuracies(metrics, task, "cnn_shuffled", "random10")),
        "individual_folds": summary_of(accuracies(metrics, ind_task, "cnn", "random10")),
        "individual_folds_shuffled": summary_of(accuracies(metrics, ind_task, "cnn_shuffled", "random10")),
        "individual_chance": 1.0 / n_animals, "n_animals": int(n_animals),
        "loao_above_chance": int((pa_loao["p_binomial"] < 0.05).sum()),
        "random_above_chance": int((pa_rand["p_binomial"] < 0.05).sum()),
        "individual_above_chance": int((pa_ind["p_binomial"] < 0.05).sum()),
    }

    def across(pa: pd.DataFrame) -> str:
        return f"{pa['accuracy'].median() * 100:.1f} % median across animals; mean {pct(pa['accuracy'])}"

    sex = task == "sex"
    rows = [
        {"quantity": f"{figure}A: animals above chance (binomial p < 0.05), leave-one-animal-out",
         "paper": PAPER["sex_above_chance"] if sex else "—", "ours": f"{values['loao_above_chance']}/{len(pa_loao)} animals"},
        {"quantity": f"{figure}B: {task} CNN, random test sets", "paper": PAPER["sex_random" if sex else "strain_random"],
         "ours": across(pa_rand)},
        {"quantity": f"{figure}B: same, shuffled labels", "paper": "chance (50 %)", "ours": across(pa_rand_sh)},
        {"quantity": f"{figure}C: individual identity CNN (chance {100 / n_animals:.1f} %)",
         "paper": PAPER["individual"] if sex else "above chance for almost all animals", "ours": across(pa_ind)},
        {"quantity": f"{figure}C: same, shuffled labels", "paper": "chance", "ours": across(pa_ind_sh)},
    ]
    return fig, values, rows


def ridge_coefficients(features: pd.DataFrame, columns: Sequence[str], names: dict[str, str], y: np.ndarray,
                       alpha: float) -> pd.Series:
    """Fig 4I: ridge weights of the z-scored features for sex (M = 1) on every labelled call of the cohort
    (a descriptive fit, the same estimator as the ridge baseline; missing values take the median)."""
    from sklearn.linear_model import Ridge

    X = features[list(columns)].to_numpy(float)
    ok = y >= 0
    X, y = X[ok], y[ok]
    fill = np.nan_to_num(np.nanmedian(X, axis=0))
    X = np.where(np.isfinite(X), X, fill)
    sd = X.std(axis=0)
    X = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    coef = Ridge(alpha=alpha).fit(X, y.astype(float)).coef_
    return pd.Series(coef, index=[names.get(c, c) for c in columns]).sort_values()
