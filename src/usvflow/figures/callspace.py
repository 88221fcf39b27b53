"""Fig 7 of Ivanenko et al. 2020: the space of calls (a 3-D t-SNE of the call images) and the emitter's sex.
Each function reads computed results and draws; none of them computes a result (the numbers come from
:mod:`usvflow.interpret.callspace` and :mod:`usvflow.report.interpret`). The S1 Video, which turns this
figure's 3-D panels, is :mod:`usvflow.figures.movie`; Fig 6 is :mod:`usvflow.figures.network`."""

from __future__ import annotations

import textwrap
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; no display on clusters or CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from ..interpret.settings import confident_rule  # noqa: E402
from ..report import paper  # noqa: E402
from . import style  # noqa: E402
from .features import FEMALE, MALE  # noqa: E402
from .movie import OVERLAYS, panel3d  # noqa: E402
from .network import IMAGE_EXTENT, SEX_COLOUR, SEX_NAME  # noqa: E402

# Fig 7A: the circles round the most sex-dominated cluster's calls (points², points); big enough to see at print
# size around the map's dots (at 6 and 0.3 they vanished under them).
CIRCLE_SIZE, CIRCLE_WIDTH = 16.0, 0.6
FIG7_NOTE_WIDTH = 115  # characters per line of Fig 7's notes (8 pt): the page's width, so they take few lines
FIG7_NOTE_LINE_IN = 8 * 1.25 / 72  # one line of the notes (inches, as drawn)
# The canvas from the top, in inches (the data tag and the title sit above it, the notes below it; with up to
# four lines of notes the page is at most 8.75 in tall, and each line more takes its height from the 3-D maps'
# bands, not from the gaps or H and I, whose labels need their height):
# the margin for B's header and its examples' two-line titles; A with its key beside B over C; a gap for D's
# two-line title; D-G with their colour bars; a gap for the bars' labels and H's two-line title; H and I; the
# margin for I's rotated ticks and H's x label.
FIG7_TOP_IN, FIG7_BANDS_IN, FIG7_BOTTOM_IN = 0.55, (2.75, 0.4, 1.76, 0.6, 0.75), 0.53
FIG7_NOTE_LINES = 4
# A, the main panel, this wide and tall (inches) beside B and C, over its key (this tall); D-G share the page's
# width in a row. The map's points in A (and D's few) and in E-G are drawn this many times the size
# movie.panel3d gives its smaller panels.
FIG7_A_IN, FIG7_A_POINTS, FIG7_MAP_POINTS, FIG7_KEY_IN = 2.45, 2.0, 1.4, 0.35


def _band(fig: plt.Figure, top_in: float, height_in: float, left_in: float, right_in: float, *shape: int,
          **kw: Any):
    """A gridspec of ``shape`` from ``top_in`` down ``height_in`` and from ``left_in`` to ``right_in`` (inches
    from the canvas's top and its left and right edges)."""
    h, w = fig.get_figheight(), fig.get_figwidth()
    return fig.add_gridspec(*shape, top=1 - top_in / h, bottom=1 - (top_in + height_in) / h, left=left_in / w,
                            right=1 - right_in / w, **kw)


def _sex_colours(calls: pd.DataFrame) -> np.ndarray:
    return np.where(calls["sex"].to_numpy() == "M", MALE, FEMALE)


def _density_panels(fig: plt.Figure, spec, grid: dict[str, np.ndarray]) -> None:
    """C: male and female densities (each as % of its calls per bin, summed over t-SNE 3: the caption says so)
    and their difference."""
    proj = {k: np.asarray(grid[k]).sum(axis=2).T for k in ("male", "female")}
    proj = {k: 100 * v / v.sum() if v.sum() > 0 else v for k, v in proj.items()}
    proj["difference"] = proj["male"] - proj["female"]
    ax_ = grid["axes"]
    ext = (ax_[0][0], ax_[0][-1], ax_[1][0], ax_[1][-1])
    cells = spec.subgridspec(1, 3, wspace=0.55)
    first = None
    for j, (key, title, cmap, label) in enumerate([
            ("male", "C  male density", "Blues", "% of calls per bin"),
            ("female", "female density", "Reds", "% of calls per bin"),
            ("difference", "male − female", "RdBu", "M − F (% per bin)")]):
        ax = fig.add_subplot(cells[j], sharey=first)
        first = first or ax
        img = proj[key]
        if key == "difference":
            lim = float(np.abs(img).max()) or 1.0
            im = ax.imshow(img, origin="lower", extent=ext, aspect="auto", cmap=cmap, vmin=-lim, vmax=lim)
        else:
            im = ax.imshow(img, origin="lower", extent=ext, aspect="auto", cmap=cmap, vmin=0)
        ax.set_xticks([])
        ax.set_yticks([])
        style.label_axes(ax, "t-SNE 1", "t-SNE 2" if j == 0 else None)
        ax.set_title(title)
        style.colorbar(fig, im, ax, label, fraction=0.08, pad=0.04)


# What the simulator's noise label of a call (usvflow.features.noise.truth_noise) means, in a reader's words.
NOISE_WORDS = {"none": "no noise", "click": "on click", "movement": "on movement", "burst": "on burst",
               "unmatched": "no true call"}
NOISE_MEANING = {"no noise": "no simulated noise event overlaps the call",
                 "no true call": "the detection matches no simulated call",
                 "noise-like": "its image is noise-like (criterion below)", "tonal": "its image is not noise-like"}


def _noise_word(noise: pd.DataFrame, row: int) -> str:
    """An example's noise label: the simulator's (the noise event its true call overlaps) where known, else
    the image measure's."""
    truth = noise["truth"].iloc[row] if "truth" in noise else np.nan
    if isinstance(truth, str):
        return NOISE_WORDS.get(truth, f"on {truth}")
    return "noise-like" if bool(noise["noise_like"].iloc[row]) else "tonal"


def _picked(values: dict[str, Any]) -> list[tuple[int, str]]:
    """B's examples, (image row, "outside" or "cluster"), at most five: the outside ones first."""
    rows_in = values.get("example_rows_inside", [])
    rows_out = values.get("example_rows_outside", [])
    return ([(r, "outside") for r in rows_out] + [(r, "cluster") for r in rows_in])[:5]


def noise_key(values: dict[str, Any], noise: pd.DataFrame | None) -> str:
    """What B's noise labels mean, for the labels shown: "B: 'no noise event': no simulated noise event ..."."""
    if noise is None:
        return ""
    meanings: dict[str, list[str]] = {}
    for w in dict.fromkeys(_noise_word(noise, row) for row, _ in _picked(values)):
        meanings.setdefault(NOISE_MEANING.get(w, "the call overlaps that simulated noise event"), []).append(f"'{w}'")
    parts = [f"{', '.join(words)}: {meaning}" for meaning, words in meanings.items()]
    return "B: " + "; ".join(parts) + "." if parts else ""


def _examples(fig: plt.Figure, spec, calls: pd.DataFrame, images: np.ndarray, values: dict[str, Any],
              noise: pd.DataFrame | None = None) -> None:
    """B: calls from outside and inside the most sex-dominated cluster, in their emitter's colour, each with
    its noise label (``noise``: see :func:`plot_fig7`)."""
    rows_in = values.get("example_rows_inside", [])
    rows_out = values.get("example_rows_outside", [])
    picked = _picked(values)
    # side by side, each call image near square (stacked full-width strips flattened every call into a line)
    n = max(1, len(picked))
    sub = spec.subgridspec(1, n, wspace=0.3)
    first = None
    best = values.get("dominant_cluster")
    for i, (row, where) in enumerate(picked):
        ax = fig.add_subplot(sub[0, i], sharex=first, sharey=first)
        first = first or ax
        sex = calls.loc[calls["row"] == row, "sex"]
        ax.imshow(images[row], origin="lower", aspect="auto", cmap="gray_r", extent=IMAGE_EXTENT,
                  interpolation="nearest")
        place = "outside" if where == "outside" else f"cluster {best}"
        tag = place if noise is None else f"{place}:\n{_noise_word(noise, row)}"
        ax.set_title(tag, loc="center", fontweight="bold", color=SEX_COLOUR.get(sex.iloc[0] if len(sex) else "", "k"))
        ax.set_xticks([0, 50, 100], ["0", "50", "100"])
        for label, align in zip(ax.get_xticklabels(), ("left", "center", "right")):
            label.set_horizontalalignment(align)  # inside the image: one example's 100 not beside the next's 0
        ax.set_yticks([25, 75, 125])
        if i:  # the time ticks on every example (the same axes), the frequency ones on the first only
            ax.tick_params(labelleft=False, labelbottom=True)
            style.exempt(ax, "a call's spectrogram image as in Fig 1B (darker = louder), in the first example's "
                             "axes")
        else:
            style.exempt(ax, "a call's spectrogram image as in Fig 1B (darker = louder): level, no colour bar")
            style.label_axes(ax, "time", "f", "ms", "kHz")
    if first is not None:
        n_in = min(len(rows_in), 5 - min(len(rows_out), 5))
        from matplotlib.transforms import offset_copy

        lines = 1 + (noise is not None)  # the column titles' lines, above which the header sits
        above = offset_copy(first.transAxes, fig=fig, y=(1.25 * lines + 0.6) * first.title.get_fontsize(),
                            units="points")
        first.text(0.0, 1.0, f"B  examples (right {n_in}: cluster {values.get('dominant_cluster')}; "
                   "colour: emitter's sex)", transform=above, ha="left", va="bottom")


def _knn_panel(ax: plt.Axes, values: dict[str, Any]) -> None:
    """H: nearest-neighbour decoding of sex on the map against shuffled labels and the paper."""
    names = ["all calls", "confident", "other animals"]
    ours = [values.get("knn_accuracy_all"), values.get("knn_accuracy_confident"), values.get("knn_accuracy_other_animals")]
    published = [paper.FIG7_KNN_ALL, paper.FIG7_KNN_CONFIDENT, np.nan]
    chance = [values.get("knn_shuffled_mean"), values.get("knn_shuffled_confident_mean"), values.get("knn_shuffled_mean")]
    xs = np.arange(len(names))
    ax.bar(xs - 0.2, [100 * (o if o is not None else np.nan) for o in ours], 0.4, color="0.4", label="this run")
    ax.bar(xs + 0.2, [100 * p for p in published], 0.4, color="0.8", label="paper")
    ax.scatter(xs - 0.2, [100 * (ch if ch is not None else np.nan) for ch in chance], marker="_", s=120, color="k",
               label="shuffled labels", zorder=3)
    for x, o in zip(xs, ours):
        if o is None or not np.isfinite(o):
            ax.text(x - 0.2, 2, "too few\ncalls", ha="center", va="bottom")  # low: clear of the key above
    ax.set_xticks(xs, names, rotation=30, ha="right", rotation_mode="anchor")
    style.label_axes(ax, "calls decoded", f"{values.get('knn_k', 1)}-NN accuracy (%)")
    ax.set_ylim(0, 135)
    ax.set_yticks(range(0, 101, 20))
    ax.legend(frameon=False, loc="upper center", ncol=2, handlelength=1.0, columnspacing=0.8)
    ax.set_title("H  nearest-neighbour decoding of sex")  # on the map, leave-one-out: the caption


def cluster_noise(calls: pd.DataFrame, noise: pd.DataFrame) -> pd.DataFrame:
    """Per k-means cluster of the map: calls, male share and the shares of noise-like images and (simulated
    data) of calls whose true call overlaps a simulated noise event, in %."""
    d = calls[["cluster", "sex", "row"]].copy()
    d["noise_like"] = noise["noise_like"].to_numpy()[d["row"]]
    truth = noise["truth"].to_numpy()[d["row"]] if "truth" in noise else np.full(len(d), np.nan, object)
    d["truth_noise"] = [np.nan if not isinstance(t, str) else float(t != "none") for t in truth]
    out = d.groupby("cluster").agg(n=("row", "size"), male=("sex", lambda s: 100 * (s == "M").mean()),
                                   noise_like=("noise_like", lambda v: 100 * v.mean()),
                                   truth_noise=("truth_noise", lambda v: 100 * v.mean()))
    return out.sort_values("male")


def _cluster_panel(ax: plt.Axes, table: pd.DataFrame, best: Any, overall: dict[str, float]) -> None:
    """I: each cluster's male share (bars) and noise shares (markers); the dominant cluster outlined."""
    x = np.arange(len(table))
    ax.bar(x, table["male"], color=[MALE if m >= overall["male"] else FEMALE for m in table["male"]], alpha=0.5,
           edgecolor=["k" if c == best else "none" for c in table.index], linewidth=1.2)
    ax.plot(x, table["noise_like"], "v", color="k", ms=4, ls="", label="noise-like")
    if table["truth_noise"].notna().any():
        ax.plot(x, table["truth_noise"], "o", mfc="none", color="k", ms=4, ls="", label="sim. noise")
    ax.axhline(overall["male"], color="0.5", lw=0.8, ls="--", label="male, all")
    ax.set_xticks(x, [f"{c}{'*' if c == best else ''}" for c in table.index], rotation=90 if len(x) > 12 else 0)
    ax.set_ylim(0, 140)
    ax.set_yticks(range(0, 101, 25))
    style.label_axes(ax, "cluster (* most sex-dominated)", "share of its calls", y_unit="%")
    handles = [Patch(color=c, alpha=0.5, label=f"male share {w} all calls") for c, w in ((MALE, "≥"), (FEMALE, "<"))]
    handles += ax.get_legend_handles_labels()[0]
    ax.legend(handles=handles, frameon=False, loc="upper left", ncol=2, handlelength=1.0, columnspacing=0.8)
    ax.set_title("I  clusters: male share and noise")


def _noise_line(values: dict[str, Any], table: pd.DataFrame | None, best: Any, overall: dict[str, float]) -> str:
    """The dominant cluster's noise shares beside all calls', and the noisiest cluster (the criteria: the
    caption)."""
    if table is None or best is None or best not in table.index:
        return ""
    row = table.loc[best]
    text = f"cluster {best}: {row['noise_like']:.0f} % noise-like images (all calls {overall['noise_like']:.0f} %)"
    if np.isfinite(row["truth_noise"]):
        text += f", {row['truth_noise']:.0f} % on simulated noise (all calls {overall['truth_noise']:.0f} %)"
    key = "truth_noise" if table["truth_noise"].notna().any() else "noise_like"
    worst = table[key].idxmax()
    if worst != best:
        w = table.loc[worst]
        text += (f"; noisiest cluster: {worst}, {w['n']:.0f} calls, {w['male']:.0f} % male, "
                 f"{w[key]:.0f} % {'on simulated noise' if key == 'truth_noise' else 'noise-like'}")
    return text + "."


def _summary_lines(values: dict[str, Any], best: Any) -> str:
    """The calls behind the map and the most sex-dominated cluster's test (the method: the caption)."""
    cnn_conf = values.get("cnn_accuracy_confident")
    text = (f"calls: {values.get('n_calls')} ({values.get('n_female')} F, {values.get('n_male')} M); "
            f"held-out CNN score: {values.get('n_with_score')}; confident: {values.get('n_confident')}"
            + (f" (CNN accuracy {100 * cnn_conf:.1f} %)" if cnn_conf is not None and np.isfinite(cnn_conf)
               else "") + ". ")
    if best is None:
        return text + "No cluster of the map was large enough to test for sex dominance."
    return text + (f"Most sex-dominated cluster: {best} ({values['dominant_cluster_sex']}), "
                   f"{values['dominant_cluster_size']} calls, {100 * values['dominant_cluster_male_share']:.0f} % male, "
                   f"p = {values['dominant_cluster_p_bonferroni']:.1e} (Bonferroni), from "
                   f"{values['dominant_cluster_male_animals']}/{values['n_male_animals']} males, "
                   f"{values['dominant_cluster_female_animals']}/{values['n_female_animals']} females; "
                   f"{values['significant_clusters']} clusters significant.")


@style.styled
def plot_fig7(calls: pd.DataFrame, grid: dict[str, np.ndarray], images: np.ndarray, values: dict[str, Any],
              subtitle: str, noise: pd.DataFrame | None = None) -> plt.Figure:
    """Fig 7: A map by sex (dominant cluster circled); B examples inside/outside the cluster; C male and
    female densities and their difference; D confident calls only; E–G overlays; H kNN decoding; I (with
    ``noise``) each cluster's male share beside its share of noise-like calls. ``noise``: one row per image
    (``noise_like``; ``truth``: the simulated noise event under the call, see
    :func:`usvflow.features.noise.truth_noise`). ``subtitle``: see :func:`usvflow.figures.network.plot_fig6`."""
    best = values.get("dominant_cluster")
    table, overall, notes = None, None, [_summary_lines(values, best)]
    if noise is not None and len(calls):
        table = cluster_noise(calls, noise)
        rows = noise.iloc[calls["row"]]
        truth = rows["truth"] if "truth" in rows else pd.Series(np.nan, index=rows.index)
        overall = {"male": 100 * calls["sex"].eq("M").mean(), "noise_like": 100 * rows["noise_like"].mean(),
                   "truth_noise": 100 * truth.map(lambda t: np.nan if not isinstance(t, str) else t != "none")
                   .astype(float).mean()}
        notes.append(" ".join(t for t in (_noise_line(values, table, best, overall), noise_key(values, noise)) if t))
    summary = "\n".join(textwrap.fill(n, FIG7_NOTE_WIDTH) for n in notes if n)
    # one page (8.75 in) with the tag, the title and the notes: the bands give up what notes past four lines take
    bands, panels = np.array(FIG7_BANDS_IN), np.array([1.0, 0, 1, 0, 0])  # the gaps and H, I (labels) keep theirs
    bands *= 1 - panels * max(0, summary.count("\n") + 1 - FIG7_NOTE_LINES) * FIG7_NOTE_LINE_IN / (bands * panels).sum()
    tops = FIG7_TOP_IN + np.concatenate([[0], np.cumsum(bands)])
    fig = plt.figure(figsize=(style.PRINT_WIDTH_IN, tops[-1] + FIG7_BOTTOM_IN))
    order = np.random.default_rng(0).permutation(len(calls))  # neither sex painted over the other systematically
    shuffled = calls.iloc[order]
    raster = {"rasterized": True}  # thousands of points: raster keeps the PDF small

    # A, the main panel, with its key under it; B and C to its right, clear of its "t-SNE 3" label
    a_side = min(FIG7_A_IN, bands[0] - FIG7_KEY_IN)
    left = _band(fig, tops[0], bands[0], 0.05, style.PRINT_WIDTH_IN - 0.05 - a_side, 2, 1,
                 height_ratios=[a_side, bands[0] - a_side], hspace=0)
    ax, _ = panel3d(fig, left[0], shuffled, _sex_colours(shuffled), "A  t-SNE of spectrograms", calls,
                    scale=FIG7_A_POINTS, **raster)
    ax.set_box_aspect(None, zoom=0.95)
    if best is not None:
        inside = calls[calls["cluster"] == best]
        ax.scatter(inside["x"], inside["y"], inside["z"], facecolors="none", edgecolors="k", s=CIRCLE_SIZE,
                   linewidths=CIRCLE_WIDTH, depthshade=False, **raster)
    right = _band(fig, tops[0], bands[0], a_side + 0.75, 0.72, 2, 1, height_ratios=[1.15, 1.0], hspace=0.75)
    _examples(fig, right[0], calls, images, values, noise)
    _density_panels(fig, right[1], grid)
    # D-G: the map again, as large as four fit across the page (D's axis labels, right of it, name E-G's too),
    # the overlays' colour bars under them
    maps = _band(fig, tops[2], bands[2], 0.15, 0.22, 2, 5, height_ratios=[1, 0.04], width_ratios=[1, 0.12, 1, 1, 1],
                 wspace=0.06, hspace=0.02)
    conf = shuffled[shuffled["confident"]]
    ax, _ = panel3d(fig, maps[0, 0], conf, _sex_colours(conf), f"D  confident only\n({confident_rule(values)}, n = {len(conf)})",
                    calls, scale=FIG7_A_POINTS, **raster)
    ax.set_box_aspect(None, zoom=0.95)
    for j, (column, title, unit) in enumerate(c for c in OVERLAYS if c[0] in calls):
        v = shuffled[column].to_numpy(float)
        lo, hi = np.nanpercentile(v, [2, 98]) if np.isfinite(v).any() else (0, 1)
        ax, sc = panel3d(fig, maps[0, j + 2], shuffled, v, title, calls, scale=FIG7_MAP_POINTS, cmap="viridis",
                         vmin=lo, vmax=hi, **raster)
        ax.set_box_aspect(None, zoom=1.05)
        for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
            axis.label.set_text("")
        style.exempt(ax, "the map of D (and A) in D's axes, t-SNE 1-3, turned the same way; colour bar below")
        cax = fig.add_subplot(maps[1, j + 2].subgridspec(1, 3, width_ratios=[0.15, 0.7, 0.15])[0, 1])
        style.colorbar(fig, sc, None, title.split("  ")[1], unit, cax=cax, orientation="horizontal")
    # H's two-line title clear of I's y label
    low = _band(fig, tops[4], bands[4], 0.5, 0.2, 1, 2, wspace=0.4, width_ratios=[1, 2])
    _knn_panel(fig.add_subplot(low[0, 0]), values)
    if table is not None:
        _cluster_panel(fig.add_subplot(low[0, 1]), table, best, overall)
    handles = [Line2D([], [], ls="", marker="o", color=SEX_COLOUR[s], label=SEX_NAME[s]) for s in ("F", "M")]
    if best is not None:  # the circles drawn round its calls in A (the legend's marker is theirs)
        handles.append(Line2D([], [], ls="", marker="o", mfc="none", color="k", mew=CIRCLE_WIDTH,
                              label=f"cluster {best} (circled in A)"))
    under_a = left[1].get_position(fig)  # the key right under A, from the page's left edge
    fig.legend(handles=handles, loc="upper left", ncol=3, frameon=False, title="A, B, D: emitter's sex",
               bbox_to_anchor=(under_a.x0, under_a.y1), borderaxespad=0.0, handletextpad=0.2, columnspacing=0.8)
    style.add_note(fig, summary, width=FIG7_NOTE_WIDTH, color="k", fontsize=style.fontsize_for(fig, 8))
    style.add_title(fig, "7", "The space of calls and the emitter's sex")
    return fig
