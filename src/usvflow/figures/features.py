"""Figures 1 and 2 of Ivanenko et al. 2020. Each function draws computed results; none computes a result."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on clusters or CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Ellipse, Rectangle  # noqa: E402

from ..features.columns import FEATURES_9, NAMES_9, PROPERTIES, PROPERTY_NAMES  # noqa: E402
from ..features.noise import BROAD_ROWS, LOW_ROWS, LOW_SHARE  # noqa: E402
from . import style  # noqa: E402

FEMALE, MALE = "#d62728", "#1f77b4"  # the paper's colours: female red, male blue
# Displayed units of the nine features (column → (scale, unit)).
UNITS_9 = {"duration_s": (1e3, "ms"), "mean_frequency_hz": (1e-3, "kHz"), "volume_db": (1.0, "dBFS")}


def level_colours(levels: list[str]) -> dict[str, str]:
    """F red, M blue as in the paper; other labels (e.g. strains) red for the first level, blue for the second."""
    known = {"F": FEMALE, "M": MALE}
    return {lvl: known.get(lvl, (FEMALE, MALE)[i % 2]) for i, lvl in enumerate(levels)}


def _stars(p: float | None) -> str:
    if p is None or not np.isfinite(p):
        return "n/a"
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else "n.s."


# Units of the six scored properties, as axis labels.
PROPERTY_AXES = {"direction": "direction (+1 up)", "peaks": "peaks (count)",
                 "breaks": "breaks (count)", "broadband": "broadband (1 = yes)", "tremolo": "tremolo (1 = yes)",
                 "complexity": "complexity (1 = complex)"}
PROPERTY_VALUES = {"direction": "−1 down, +1 up", "peaks": "count", "breaks": "count", "broadband": "1 = yes",
                   "tremolo": "1 = yes", "complexity": "1 = complex"}
IMAGE_LABEL = "level (0-255: the call's dB range)"


def group_legend(fig, levels: list[str], colours: dict[str, str], what: str = "") -> None:
    """One legend of the groups' colours for the whole figure, top right (the papers: red female, blue male)."""
    handles = [Line2D([], [], ls="", marker="s", color=colours[lvl], label=lvl) for lvl in levels]
    fig.legend(handles=handles, loc="upper right", ncol=len(levels), frameon=False, title=what or None,
               bbox_to_anchor=(1.0, 1.0), handletextpad=0.2, columnspacing=0.8)


def _box(ax, xy: tuple[float, float], text: str, colour: str = "0.2", **kw):
    return ax.text(*xy, text, **{"ha": "center", "va": "center", "color": colour, "fontsize": 7,
                                 "bbox": {"boxstyle": "round,pad=0.3", "fc": "white", "ec": colour, "lw": 0.8}, **kw})


def _arrow(ax, a: tuple[float, float], b: tuple[float, float], label: str = "", **kw) -> None:
    ax.annotate("", b, a, arrowprops={"arrowstyle": "-|>", "lw": 0.8, "color": "0.3", "shrinkA": 1,
                                      "shrinkB": 1, **kw})
    if label:
        ax.text((a[0] + b[0]) / 2, (a[1] + b[1]) / 2, label, ha="center", va="center", fontsize=7,
                bbox={"boxstyle": "square,pad=0.1", "fc": "white", "lw": 0})


def _setup_schematic(ax, animals: dict[str, int], colours: dict[str, str]) -> None:
    """A: the recording set-up (an awake mouse with an anaesthetized partner under an ultrasonic microphone),
    drawn for a column a third of the page wide."""
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 6)
    ax.add_patch(Rectangle((0.3, 1.0), 9.4, 2.1, fill=False, ec="0.3", lw=0.8))  # the arena
    for x, fc, label in ((2.6, "0.35", "awake: emits\nthe calls"), (7.2, "0.8", "anaesthetized\npartner")):
        ax.add_patch(Ellipse((x, 2.05), 2.2, 0.9, fc=fc, ec="0.2", lw=0.6))
        ax.text(x, 0.8, label, ha="center", va="top", fontsize=7)
    ax.add_patch(Rectangle((1.15, 4.2), 0.5, 1.1, fc="0.2", ec="0.2"))  # the microphone
    ax.plot([1.4, 1.4], [4.2, 3.2], color="0.3", lw=0.8, ls=":")
    ax.text(1.95, 4.75, "ultrasonic\nmicrophone", ha="left", va="center", fontsize=7)
    lines = [f"{lvl}: {n} animals" for lvl, n in animals.items()]
    top = 5.6
    for k, text in enumerate(lines):
        ax.text(6.2, top - 0.62 * k, text, ha="left", va="top", fontsize=7, color=colours[list(animals)[k]])
    ax.text(6.2, top - 0.62 * len(lines), "one session\neach", ha="left", va="top", fontsize=7)
    ax.set_axis_off()
    ax.set_title("A  recording set-up")
    style.exempt(ax, "schematic of the set-up (no data axes)")


# Where the six properties of a call come from (the dataset's ``properties_source``, after
# usvflow.features.cohort.fill_properties), as Fig 1D's box names it.
PROPERTY_ORIGINS = {"truth": "from the simulator's truth", "annotations": "scored by a human",
                    "auto": "scored automatically", "none": "scored automatically"}
ORIGIN_WIDTH = 36  # characters per line of the source note in D's box


def properties_origin(sources: pd.Series | np.ndarray | list | None) -> str:
    """Fig 1D's words for the six properties' source, read from the calls' ``properties_source``: the one
    source ("6 from the simulator's truth"), or for a mix the majority with its count ("6 from the simulator's
    truth in 1674 of 1675 calls, scored automatically in the rest"). Rows with no source count as auto-scored
    (as :func:`usvflow.features.cohort.fill_properties` fills them); ``None`` (no such column) says that the
    source is not recorded."""
    if sources is None:
        return "6 of unrecorded source"
    words = pd.Series(np.asarray(sources, dtype=object)).fillna("none").astype(str).map(
        lambda s: PROPERTY_ORIGINS.get(s, s))
    counts = words.value_counts()
    if counts.empty:
        return "6 properties, no calls"
    if len(counts) == 1:
        return f"6 {counts.index[0]}"
    rest = " and ".join(counts.index[1:])
    return f"6 {counts.index[0]} in {counts.iloc[0]} of {counts.sum()} calls, {rest} in the rest"


def _analysis_schematic(ax, origin: str) -> None:
    """D: the analysis: three relations between spectrogram, properties and sex, each fitted by DNN, SVM and
    ridge regression (the papers' Fig 1D). ``origin``: where the six properties come from
    (:func:`properties_origin`)."""
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 6)
    spec, props, sex = (1.2, 4.8), (5.0, 0.7), (8.9, 4.8)
    _box(ax, spec, "spectrogram\n(100 × 100)")
    # the features' box grows upwards from its bottom (a long source note wraps); the arrows end at its top
    box = _box(ax, (props[0], props[1] - 0.45), "9 features\n" + textwrap.fill(f"({origin})", ORIGIN_WIDTH),
               va="bottom")
    renderer = ax.figure.canvas.get_renderer()
    pad = box.get_bbox_patch().get_boxstyle().pad * box.get_fontsize() * ax.figure.dpi / 72
    top = ax.transData.inverted().transform((0, box.get_window_extent(renderer).y1 + pad))[1]
    _box(ax, sex, "emitter's\nsex")
    _arrow(ax, (2.7, spec[1]), (7.9, sex[1]))  # from box edge to box edge; its label above it
    ax.text(5.3, spec[1] + 0.35, "CNN / SVM / ridge", ha="center", va="bottom", fontsize=7)
    _arrow(ax, (1.6, 3.9), (3.9, top + 0.05), "CNN")
    _arrow(ax, (6.1, top + 0.05), (8.6, 3.9), "DNN / SVM / ridge")
    ax.set_axis_off()
    ax.set_title("D  analysis: three learned relations")
    style.exempt(ax, "schematic of the analysis (no data axes)")


NOISE_MARK, NOISE_COLOUR = "*", "#ff7f0e"  # B's mark of a noise-like example: title and dashed frame
# C: each detection's box is its time × frequency extent to scale, so a call of a few ms is a box narrower than
# its own edge at print size; a row of marks near the top (one per detection, at its midpoint, a fixed size in
# points) shows every detection however short, and the key says so.
DETECTION_COLOUR, DETECTION_MARK, DETECTION_MARK_PT, DETECTION_ROW = "#ff7f0e", "v", 5.0, 0.955
DETECTION_KEY = ("boxes: each call's time and frequency extent, to scale; ▼: every detected call (a call of a few "
                 "ms is a box thinner than a line)")
DETECTION_GID = "fig1c_detection_marks"


def noise_note(groups: np.ndarray, noise_like: np.ndarray, levels: list[str]) -> str:
    """B's note: what the mark means (Fig 7's image criterion) and the share of the cohort's detections it
    flags, overall and per group."""
    per = ", ".join(f"{lvl} {100 * noise_like[groups == lvl].mean():.0f} %" for lvl in levels
                    if (groups == lvl).any())
    return (f"*, dashed frame: noise-like image (Fig 7's criterion: > {100 * LOW_SHARE:.0f} % of its level at "
            f"25-{25 + LOW_ROWS} kHz, or one column loud over ≥ {BROAD_ROWS} kHz); {100 * noise_like.mean():.0f} % of the cohort's {noise_like.size} "
            f"detections ({per}), shown, not dropped")


def _p_text(p: float | None) -> str:
    if p is None or not np.isfinite(p):
        return "p n/a"
    return f"p<0.001 {_stars(p)}" if p < 0.001 else f"p={p:.2g} {_stars(p)}"


@style.styled
def plot_fig1(table: pd.DataFrame, images: np.ndarray, features: pd.DataFrame, stats: dict,
              stretch: dict, group: str, levels: list[str], note: str, out: str | Path,
              n_examples: int = 4, seed: int = 0, noise_like: np.ndarray | None = None) -> None:
    """Fig 1, read by rows as the caption runs: A the recording set-up | B example calls per group; C a raw
    stretch with detections | D the analysis scheme; E property distributions, F counts and rates.

    ``stretch``: ``{"db": (freq, time) dB above floor, "times": s, "freqs": Hz, "calls": DataFrame,
    "title": str}`` — a spectrogram already computed by the caller (display only; the boxes' key goes under it). ``note`` is the data
    notice (tagged above the title). ``noise_like``: per row of ``table``, whether its image is noise-like by
    Fig 7's criterion (:func:`usvflow.features.noise.image_noise_measures`); B then marks such examples
    (drawn at random like the rest, never dropped) and says the cohort's share under its row.
    """
    colours = level_colours(levels)
    # Read by rows, as the caption runs: [A set-up | B example calls] / [C a recording's stretch | D analysis
    # scheme] / E properties and F rates; with the tag and title above, one page (<= 8.75 in).
    # B's noise note takes two lines more under B than before (7.9 in).
    fig = plt.figure(figsize=(style.PRINT_WIDTH_IN, 8.35))
    outer = fig.add_gridspec(3, 1, height_ratios=[2.0, 1.35, 1.2], hspace=0.62, top=0.935)
    row = outer[0].subgridspec(1, 2, width_ratios=[1, 2.0], wspace=0.2)
    animals = table.groupby(group)["animal"].nunique().to_dict()
    _setup_schematic(fig.add_subplot(row[0]), {lvl: animals.get(lvl, 0) for lvl in levels}, colours)
    rng = np.random.default_rng(seed)
    # B: random example spectrograms per group (the paper's 100 x 100 images), one shared pair of axes.
    ncol = 2 * n_examples
    sub = row[1].subgridspec(len(levels), ncol + 1, wspace=0.12, hspace=0.45, width_ratios=[1] * ncol + [0.12])
    first = last = corner = None
    for r, lvl in enumerate(levels):
        idx = np.flatnonzero(table[group].astype(str).to_numpy() == lvl)
        pick = np.sort(rng.choice(idx, size=min(ncol, idx.size), replace=False)) if idx.size else []
        for k, i in enumerate(pick):
            ax = fig.add_subplot(sub[r, k], sharex=first, sharey=first)
            first = first or ax
            last = ax.imshow(images[i], origin="lower", cmap="gray_r", aspect="auto", extent=[0, 100, 25, 125],
                             vmin=0, vmax=255)
            noisy = noise_like is not None and bool(noise_like[i])
            ax.set_title(f"{lvl} {table['animal'].iloc[i]}{NOISE_MARK if noisy else ''}", color=colours[lvl],
                         fontsize=7)  # 7 pt: room for the mark in the narrow column
            if noisy:  # a dashed frame as well as the title's mark: visible at a glance
                for spine in ax.spines.values():
                    spine.set(visible=True, color=NOISE_COLOUR, ls="--", lw=1.2)
            if r == k == 0:  # the letter left of the row's first title, over the axis labels
                ax.annotate("B", (0, 1), xycoords="axes fraction", xytext=(-30, plt.rcParams["axes.titlepad"]),
                            textcoords="offset points", va="baseline", fontweight="bold",
                            fontsize=plt.rcParams["axes.titlesize"])
            ax.set_xticks([0, 50])
            ax.set_yticks([25, 75, 125])
            ax.tick_params(labelleft=k == 0, labelbottom=r == len(levels) - 1)
            if k == 0:
                ax.set_ylabel("kHz")
            if r == len(levels) - 1:
                ax.set_xlabel("ms")
                corner = corner or ax
    if last is not None:
        style.colorbar(fig, last, None, IMAGE_LABEL, cax=fig.add_subplot(sub[:, -1]))
    if noise_like is not None and corner is not None:  # the note under B's x labels, from its first column
        text = noise_note(table[group].astype(str).to_numpy(), np.asarray(noise_like, bool), levels)
        corner.annotate(textwrap.fill(text, 80),
                        (0, 0), xycoords="axes fraction", xytext=(0, -30), textcoords="offset points",
                        ha="left", va="top", fontsize=7, color="0.25")
    # C: a stretch of one recording with its detected calls; D beside it: the analysis scheme.
    row = outer[1].subgridspec(1, 2, width_ratios=[1.3, 1], wspace=0.3)
    _analysis_schematic(fig.add_subplot(row[1]), properties_origin(
        features["properties_source"] if "properties_source" in features else None))
    ax = fig.add_subplot(row[0])
    t, f = stretch["times"], stretch["freqs"]
    if stretch["db"].size:
        im = ax.imshow(np.clip(stretch["db"], 0, 40), origin="lower", aspect="auto", cmap="gray_r", vmin=0,
                       vmax=40, extent=[t[0], t[-1], f[0] / 1e3, f[-1] / 1e3])
        style.colorbar(fig, im, ax, "dB above floor")
    calls = stretch["calls"]
    for c in calls.itertuples():
        ax.add_patch(Rectangle((c.onset_s, c.f_min_hz / 1e3 - 2), c.offset_s - c.onset_s,
                               (c.f_max_hz - c.f_min_hz) / 1e3 + 4, fill=False, ec=DETECTION_COLOUR, lw=0.8))
    mid = (calls["onset_s"].to_numpy(float) + calls["offset_s"].to_numpy(float)) / 2
    ax.plot(mid, np.full(mid.size, DETECTION_ROW), ls="none", marker=DETECTION_MARK, ms=DETECTION_MARK_PT,
            mfc=DETECTION_COLOUR, mec="none", transform=ax.get_xaxis_transform(), gid=DETECTION_GID)
    ax.set_title(textwrap.fill(stretch["title"], 54))  # a long recording name wraps short of D's title
    ax.annotate(textwrap.fill(DETECTION_KEY, 68), (0, 0), xycoords="axes fraction", xytext=(0, -28),
                textcoords="offset points", ha="left", va="top", fontsize=7, color="0.25")  # under the x label
    style.label_axes(ax, "time", "frequency", "s", "kHz")
    # E: distributions of the six scored properties per group; F: counts and rates.
    sub = outer[2].subgridspec(1, len(PROPERTIES) + 2, wspace=0.25, width_ratios=[1] * len(PROPERTIES) + [0.45, 1])
    share = None
    for k, prop in enumerate(PROPERTIES):
        ax = fig.add_subplot(sub[0, k], sharey=share)
        share = share or ax
        vals = np.sort(features[prop].dropna().unique())
        width = 0.8 / len(levels)
        for j, lvl in enumerate(levels):
            v = features.loc[table[group].astype(str).to_numpy() == lvl, prop].dropna()
            frac = [100 * np.mean(v == x) if len(v) else 0 for x in vals]
            ax.bar(np.arange(len(vals)) + (j - (len(levels) - 1) / 2) * width, frac, width, color=colours[lvl],
                   label=lvl)
        ax.set_xticks(np.arange(len(vals)), [f"{x:g}" for x in vals])
        ax.set_title(("E  " if k == 0 else "") + PROPERTY_NAMES[prop])
        ax.set_xlabel(PROPERTY_VALUES[prop])
        ax.tick_params(labelleft=k == 0)
        if k == 0:
            ax.set_ylabel("% of calls")
    ax = fig.add_subplot(sub[0, -1])
    rates = stats["values"]["rates_per_animal"]
    for j, lvl in enumerate(levels):
        r = np.array([v for a, v in rates.items() if stats["values"]["animal_group"][a] == lvl], float)
        ax.scatter(np.full(r.size, j) + np.linspace(-0.15, 0.15, max(r.size, 1))[: r.size], r, s=8,
                   color=colours[lvl])
        if r.size:
            sem = r.std(ddof=1) / np.sqrt(r.size) if r.size > 1 else 0
            ax.errorbar(j + 0.3, r.mean(), yerr=sem, fmt="o", color="k", ms=3, capsize=2)
    counts = stats["values"]["calls_per_group"]
    ax.set_xticks(range(len(levels)), [f"{lvl}\n{counts.get(lvl, 0)}" for lvl in levels])
    ax.set_xlim(-0.5, len(levels) - 0.2)
    style.label_axes(ax, "group, calls", "rate per animal", y_unit="calls/min")
    ax.set_title("F  rates")
    group_legend(fig, levels, colours, group)
    style.add_title(fig, "1", "Vocalizations and their properties")
    style.save(fig, out, note)


# Fig 2's J-M: four 3-D clouds across the page's whole width, each cube filling its square cell (1.55 in wide,
# was 1.16 in within A-I's columns); the row is as tall as the cells (a taller one only adds empty space).
FIG2_HEIGHT_IN = 7.1
FIG2_ROW_RATIO = 1.1
ZOOM_3D = 1.0
WSPACE_3D = 0.2


def _scatter3d(fig, spec, Y: np.ndarray, labels: np.ndarray, levels: list[str], title: str, axis: str,
               seed: int = 0) -> None:
    ax = fig.add_subplot(spec, projection="3d")
    colours = level_colours(levels)
    order = np.random.default_rng(seed).permutation(len(Y))  # no group drawn on top of the other
    c = np.array([colours.get(lvl, "#7f7f7f") for lvl in labels])[order]
    if len(Y):
        ax.scatter(Y[order, 0], Y[order, 1], Y[order, 2], c=c, s=1.5, alpha=0.6, depthshade=False, linewidths=0)
    ax.set_facecolor((1, 1, 1, 0))  # a neighbour's labels stay visible
    ax.set_box_aspect(None, zoom=ZOOM_3D)  # room for the axis names inside the panel
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_zticks([])
    # Combinations of features or pixels: named, without units (the paper leaves them unlabelled).
    for setter, k in ((ax.set_xlabel, 1), (ax.set_ylabel, 2), (ax.set_zlabel, 3)):
        setter(f"{axis} {k}", labelpad=-12)


@style.styled
def plot_fig2(features: pd.DataFrame, group: str, levels: list[str], embeddings: dict[str, np.ndarray],
              stats: dict, note: str, out: str | Path) -> None:
    """Fig 2: A-I the nine features by group (box plot + mean ± SEM, rank-sum p); J-M PCA / t-SNE in 3-D."""
    colours = level_colours(levels)
    tests = {t["feature"]: t for t in stats["values"]["tests"]}
    fig = plt.figure(figsize=(style.PRINT_WIDTH_IN, FIG2_HEIGHT_IN))
    grid = fig.add_gridspec(3, 5, height_ratios=[1, 1, FIG2_ROW_RATIO], hspace=0.5, wspace=0.85, top=0.92, bottom=0.01)
    labels = features[group].astype(str).to_numpy()
    for k, col in enumerate(FEATURES_9):
        ax = fig.add_subplot(grid[k // 5, k % 5])
        scale, unit = UNITS_9.get(col, (1.0, ""))
        data = [features.loc[labels == lvl, col].dropna().to_numpy(float) * scale for lvl in levels]
        bp = ax.boxplot(data, positions=[0, 2], widths=0.6, showfliers=False, patch_artist=True)
        for patch, lvl in zip(bp["boxes"], levels):
            patch.set(facecolor="white", edgecolor=colours[lvl])
        for j, (d, lvl) in enumerate(zip(data, levels)):
            if d.size:
                sem = d.std(ddof=1) / np.sqrt(d.size) if d.size > 1 else 0
                ax.errorbar(2 * j + 0.7, d.mean(), yerr=sem, fmt="o", color=colours[lvl], ms=3, capsize=2)
        t = tests.get(col, {})
        ax.set_title(f"{chr(65 + k)}  {_p_text(t.get('p'))}", loc="center")
        ax.set_xticks([0, 2], levels)
        ax.set_xlim(-0.6, 3.1)
        ylabel = style.axis_label(NAMES_9[col].lower(), unit) if unit else PROPERTY_AXES[col]
        style.label_axes(ax, group, ylabel)
    ax = fig.add_subplot(grid[1, 4])
    ax.axis("off")
    n_sig, n = stats["values"]["n_significant"], len(FEATURES_9)
    ax.text(-0.25, 0.5, f"Wilcoxon rank-sum,\n{levels[0]} vs {levels[1]}:\n{n_sig}/{n} significant\n(p < 0.05)\n"
            f"paper: 7/9 (not mean\nfrequency, direction)\n\nbox: median, IQR\ndot: mean ± SEM", va="center")
    panels = [("features.pca", "J  PCA, 9 features", "PC"), ("spectrograms.pca", "K  PCA, spectrograms", "PC"),
              ("features.tsne", "L  t-SNE, 9 features", "t-SNE"),
              ("spectrograms.tsne", "M  t-SNE, spectrograms", "t-SNE")]
    # J-M span the page's whole width (not A-I's columns): four 3-D clouds as large as the page allows.
    row = grid[2, :].get_position(fig)
    sub = fig.add_gridspec(1, 4, left=0.0, right=1.0, bottom=row.y0, top=row.y1, wspace=WSPACE_3D)
    for k, (key, title, axis) in enumerate(panels):
        _scatter3d(fig, sub[0, k], embeddings[key], labels, levels, title, axis)
    group_legend(fig, levels, colours, group)
    style.add_title(fig, "2", f"Single features and dimensionality reduction by {group}")
    style.save(fig, out, note)
