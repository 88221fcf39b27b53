"""S1 Video of Ivanenko et al. 2020: the 3-D call space of Fig 7 with every 3-D panel revolving together.

The paper's video is "a dynamic version of [Fig 7], revolving all plots for clarity": here the map by sex (A),
the male - female density difference (B), the confident calls only (C) and the map coloured by mean frequency,
frequency range and duration (D-F), lettered in reading order, each title naming its Fig 7 panel, turn once
around the vertical axis in step, drawn at a size that reads on
a screen (at least 600 px each way, text of 9 pt or more at 100 dpi) with the data tag in the frame.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; no display on clusters or CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import TwoSlopeNorm  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from . import style  # noqa: E402

FEMALE, MALE = "#d62728", "#1f77b4"  # the paper's colours: female red, male blue
MOVIE_DPI = 100
MOVIE_SIZE_IN = (9.6, 6.8)  # 960 x 680 px at MOVIE_DPI
MOVIE_RC = {**style.RC, "font.size": 10, "axes.titlesize": 10, "axes.labelsize": 9, "xtick.labelsize": 9,
            "ytick.labelsize": 9, "legend.fontsize": 10, "legend.title_fontsize": 10, "figure.titlesize": 12}
# The colour bars beside the 3-D panels: far enough right that the turning "t-SNE 3" label never reaches them.
COLORBAR_KW = {"fraction": 0.04, "pad": 0.2, "shrink": 0.9}
# Fig 7's overlays (column of the call-space table, label with unit).
OVERLAYS = [("mean frequency (kHz)", "E  mean frequency", "kHz"),
            ("frequency range (kHz)", "F  frequency range", "kHz"),
            ("duration (ms)", "G  duration", "ms")]


def _superscript(n: int) -> str:
    return str(n).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))


def point_size(n: int, scale: float = 1.0) -> float:
    """A 3-D scatter's marker area (points²) for a map of ``n`` calls: smaller the more calls there are, so
    that dense regions stay readable; ``scale`` enlarges it for a panel drawn larger than the default."""
    return scale * float(np.clip(4000.0 / max(n, 1), 1.5, 14.0))


def panel3d(fig, spec, calls: pd.DataFrame, colour: Any, title: str, frame: pd.DataFrame, scale: float = 1.0,
            **kw: Any):
    """One 3-D scatter in the frame of the whole map (so every panel turns about the same centre); ``scale``:
    see :func:`point_size`."""
    ax = fig.add_subplot(spec, projection="3d")
    size = point_size(len(frame), scale)
    sc = ax.scatter(calls["x"], calls["y"], calls["z"], c=colour, s=size, linewidths=0, alpha=0.8,
                    depthshade=False, **kw)
    for axis in "xyz":
        lo, hi = frame[axis].min(), frame[axis].max()
        getattr(ax, f"set_{axis}lim")(lo, hi) if np.isfinite([lo, hi]).all() and hi > lo else None
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_zticks([])
    ax.set_xlabel("t-SNE 1", labelpad=-10)
    ax.set_ylabel("t-SNE 2", labelpad=-10)
    ax.set_zlabel("t-SNE 3", labelpad=-10)
    ax.set_facecolor((1, 1, 1, 0))
    ax.set_title(title, loc="center")
    return ax, sc


def build_movie_figure(calls: pd.DataFrame, caption: str = "") -> tuple[plt.Figure, list]:
    """The movie's figure (2 x 3 revolving 3-D panels, colour bars, the data tag) and its 3-D axes."""
    order = np.random.default_rng(0).permutation(len(calls))  # no group drawn on top of the other
    calls = calls.iloc[order]
    sex = np.where(calls["sex"].astype(str).to_numpy() == "M", MALE, FEMALE)
    fig = plt.figure(figsize=MOVIE_SIZE_IN, dpi=MOVIE_DPI)
    grid = fig.add_gridspec(2, 3, left=0.04, right=0.93, bottom=0.02, top=0.84, wspace=0.42, hspace=0.18)
    axes = []
    ax, _ = panel3d(fig, grid[0, 0], calls, sex, "A  calls by sex (Fig 7A)", calls)
    axes.append(ax)
    by_sex = ["A"]
    # The panels lettered in reading order (A-F), each with the Fig 7 panel it turns.
    letters = iter("BCDEF")
    if "density_difference" in calls:
        d = calls["density_difference"].to_numpy(float)
        top = float(np.nanmax(np.abs(d))) if np.isfinite(d).any() and np.nanmax(np.abs(d)) > 0 else 1.0
        power = int(np.floor(np.log10(top)))  # numbers of one or two digits on the bar: KDE densities are ~1e-6
        scaled = d / 10.0 ** power
        ax, sc = panel3d(fig, grid[0, 1], calls, scaled, f"{next(letters)}  male − female density (Fig 7C)", calls,
                         cmap="coolwarm_r", norm=TwoSlopeNorm(0.0, -top / 10.0 ** power, top / 10.0 ** power))
        unit = (f"×10{_superscript(power)} " if power else "") + "per t-SNE unit³"
        style.colorbar(fig, sc, ax, "M − F density", unit, **COLORBAR_KW)  # > 0: more male calls there
        axes.append(ax)
    if "confident" in calls:
        conf = calls[calls["confident"].astype(bool)]
        ax, _ = panel3d(fig, grid[0, 2], conf, sex[calls["confident"].astype(bool).to_numpy()],
                        f"{next(letters)}  confident calls only (n={len(conf)}; Fig 7D)", calls)
        axes.append(ax)
        by_sex.append(ax.get_title(loc="center")[0])
    fig.legend(handles=[Line2D([], [], ls="", marker="o", color=c, label=lab) for lab, c in
                        (("female", FEMALE), ("male", MALE))], loc="upper right", ncol=2, frameon=False,
               bbox_to_anchor=(0.99, 0.95), title=f"{', '.join(by_sex)}: emitter's sex")
    for j, (column, title, unit) in enumerate(c for c in OVERLAYS if c[0] in calls):
        v = calls[column].to_numpy(float)
        lo, hi = np.nanpercentile(v, [2, 98]) if np.isfinite(v).any() else (0.0, 1.0)
        fig7, words = title.split("  ", 1)
        ax, sc = panel3d(fig, grid[1, j], calls, v, f"{next(letters)}  {words} (Fig 7{fig7})", calls, cmap="viridis",
                         vmin=lo, vmax=hi)
        style.colorbar(fig, sc, ax, words, unit, **COLORBAR_KW)
        axes.append(ax)
    fig.suptitle("S1 Video  The space of calls (t-SNE of the spectrograms, 3-D), revolving", x=0.01, y=0.92,
                 ha="left", fontweight="bold")
    if caption:
        sim = style.is_simulated(caption)
        fig.text(0.01, 0.99, style.tag_text(caption), ha="left", va="top", fontweight="bold", fontsize=11,
                 color=style.SIM_COLOUR if sim else "black", gid=style.TAG_GID,
                 bbox={"boxstyle": "square,pad=0.25", "fc": "white", "ec": style.SIM_COLOUR if sim else "0.3"})
    return fig, axes


def movie_s1(calls: pd.DataFrame, path: str | Path, frames: int = 48, fps: int = 12, caption: str = "") -> None:
    """S1 Video as a GIF: every 3-D panel turns once around the vertical axis, all in step."""
    from matplotlib.animation import FuncAnimation, PillowWriter

    with matplotlib.rc_context(MOVIE_RC):
        fig, axes = build_movie_figure(calls, caption)

        def turn(i: int) -> list:
            for ax in axes:
                ax.view_init(elev=20, azim=-60 + 360.0 * i / frames)
            return []

        FuncAnimation(fig, turn, frames=frames).save(str(path), writer=PillowWriter(fps=fps), dpi=MOVIE_DPI)
        plt.close(fig)
