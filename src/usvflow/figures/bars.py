"""Bar-chart pieces shared by Figs 3-5 and S1/S2: fold accuracies as bars with dots, accuracy per held-out animal
in its group's colour, the groups' legend and significance brackets."""

from __future__ import annotations

from typing import Sequence

import matplotlib

matplotlib.use("Agg")  # files only; no display on clusters or CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from ..classify.tasks import _strain_classes as strain_order  # noqa: E402
from . import style  # noqa: E402
from .features import level_colours  # noqa: E402


def bars(ax: plt.Axes, groups: list[tuple[str, Sequence[float], str, float]], chance: float | None,
         ylabel: str = "accuracy (%)") -> None:
    """Bars of mean ± SEM (in %) with the folds as dots; ``groups``: (label, values, colour, alpha). Each
    bar's name is written in its colour under it (the colour key)."""
    for i, (label, vals, colour, alpha) in enumerate(groups):
        v = np.asarray([x for x in vals if x is not None and np.isfinite(x)], float) * 100
        if v.size:
            sem = v.std(ddof=1) / np.sqrt(v.size) if v.size > 1 else 0
            ax.bar(i, v.mean(), yerr=sem, color=colour, alpha=alpha, capsize=3, edgecolor="k", linewidth=0.5)
            jitter = np.linspace(-0.15, 0.15, v.size) if v.size > 1 else [0]
            ax.plot(i + np.asarray(jitter), v, "o", ms=2.5, color="k", alpha=0.6)
        else:
            ax.text(i, 5, "not run", ha="center", rotation=90)
    if chance is not None:
        ax.axhline(chance * 100, color="0.6", lw=1, ls="--", zorder=0)
    ax.set_xticks(range(len(groups)), [g[0] for g in groups], rotation=90)
    for tick, group in zip(ax.get_xticklabels(), groups):
        tick.set_color(group[2])
    ax.set_ylim(0, 100)
    ax.set_ylabel(ylabel)


def group_levels(pa: pd.DataFrame, colour_by: str) -> list[str]:
    """The groups in the paper's order: F before M; the wild type before the mutant."""
    values = pa[colour_by].dropna().astype(str).unique() if colour_by in pa else []
    return ["F", "M"] if colour_by == "sex" and not len(values) else (
        sorted(values) if colour_by == "sex" else strain_order(values))


def group_legend(fig: plt.Figure, levels: list[str], chance: bool = True) -> None:
    """The groups' colours, the chance line and the mean line, once for the whole figure (top right)."""
    colours = level_colours(levels)
    handles = [Line2D([], [], ls="", marker="s", color=colours[lvl], label=lvl) for lvl in levels]
    handles.append(Line2D([], [], color="0.25", lw=1, label="mean over animals"))
    if chance:
        handles.append(Line2D([], [], color="0.6", lw=1, ls="--", label="chance"))
    handles.append(Line2D([], [], ls="", marker="*", ms=4, color="k", label="binomial p < 0.05"))
    fig.legend(handles=handles, loc="upper right", ncol=len(handles), frameon=False, bbox_to_anchor=(1.0, 1.0),
               handletextpad=0.3, columnspacing=1.0)


def per_animal_bars(ax: plt.Axes, pa: pd.DataFrame, chance: float, colour_by: str, title: str) -> None:
    """Accuracy per held-out animal in its group's colour (F/M or strain: see :func:`_group_legend`),
    * where the binomial test against chance is significant."""
    colours = level_colours(group_levels(pa, colour_by))
    pa = pa.sort_values("animal")
    for i, r in enumerate(pa.itertuples()):
        ax.bar(i, r.accuracy * 100, color=colours.get(str(getattr(r, colour_by)), "0.5"), edgecolor="k",
               linewidth=0.5)
    sig = np.flatnonzero(pa["p_binomial"].to_numpy(float) < 0.05)  # a marker, not text: fits any number of animals
    ax.plot(sig, pa["accuracy"].to_numpy(float)[sig] * 100 + 4, ls="", marker="*", ms=4, color="k")
    ax.axhline(chance * 100, color="0.6", lw=1, ls="--")
    if len(pa):
        ax.axhline(pa["accuracy"].mean() * 100, color="0.25", lw=1)
    # Every animal named while the names fit (about 9 pt each at print size), else every k-th.
    width_pt = ax.get_position().width * ax.figure.get_figwidth() * 72
    step = max(1, int(np.ceil(len(pa) * 9 / max(width_pt, 1))))
    ax.set_xticks(range(0, len(pa), step), pa["animal"].iloc[::step], rotation=90)
    ax.set_ylim(0, 105)
    style.label_axes(ax, "animal", "accuracy", y_unit="%")
    ax.set_title(title)


def bracket(ax: plt.Axes, x0: float, x1: float, y: float, text: str) -> None:
    """A significance bracket between two bars at height ``y`` (%) with ``text`` right of it."""
    ax.plot([x0, x0, x1, x1], [y - 2, y, y, y - 2], color="k", lw=0.6)
    ax.text(x1 + 0.1, y - 1, text, ha="left", va="center")
