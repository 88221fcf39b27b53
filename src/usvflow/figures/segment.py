"""Figures of the SqueakOut stage: refinement steps (Fig 3), augmentation gallery (Fig 5), examples (Fig 6)."""

from __future__ import annotations

import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from . import style  # noqa: E402

GRAY_LABEL = "level (0-255)"
MASK_LABEL = "mask (1 = call)"
ACC_COLOUR, DICE_COLOUR = "#b00000", "#0047ab"  # dark red and blue: readable on the white page at 7 pt
SCORE_GID = "usvflow-score"  # Fig 6's per-image scores (tests find them by it)
SHARED = "same pixel axes as the labelled crop at the bottom left of its grid"
# What the truth column shows (usvflow.simulate.recording.render_mask): strokes a reader does not find in the
# spectrogram are the truth's, not the display's.
TRUTH_NOTE = ("truth: the simulator's call pixels. A call's broadband burst (faint) is marked over its whole band, "
              "and a frame that spans a frequency step is filled between the two frequencies (tall bars, vertical "
              "connectors); clicks and other noise are never marked.")


def _show(ax: plt.Axes, img: np.ndarray, cmap: str = "gray", title: str = "", label: bool = False):
    """A crop or mask without ticks; ``label`` names its pixel axes, otherwise it is marked as sharing them."""
    im = ax.imshow(img, origin="lower", cmap=cmap, aspect="auto", interpolation="nearest", vmin=0,
                   vmax=255 if img.dtype == np.uint8 else 1)
    ax.set_xticks([])
    ax.set_yticks([])
    if label:
        style.label_axes(ax, "time", "frequency", "px", "px")
    else:
        style.exempt(ax, SHARED)
    if title:
        ax.set_title(title, loc="center")
    return im


def column_title(name: str, width: int = 9) -> str:
    """A grid column's title broken into lines of at most ``width`` characters (a 9-column grid gives each
    crop about 0.7 in: "autoencoder 1" on one line runs into its neighbours)."""
    words = str(name).replace("autoencoder", "auto-encoder")
    return textwrap.fill(words, width, break_on_hyphens=True, break_long_words=False)


def _colour_bars(fig, gray, mask, axes) -> None:
    """One colour bar for the spectrogram crops and one for the masks (every crop shares one of the two)."""
    if gray is not None:
        style.colorbar(fig, gray, axes, GRAY_LABEL, shrink=0.45, anchor=(0, 1.0))
    if mask is not None:
        style.colorbar(fig, mask, axes, MASK_LABEL, shrink=0.45, anchor=(0, 0.0), ticks=[0, 1])


def noise_empty_label(n_noise: int | None = None) -> str:
    """What ``noise_empty_pct`` of the refinement steps measures (:func:`usvflow.segment.refine.refine_masks`):
    the share of the noise crops (all of them, those the noise task trains on included) whose mask has no
    pixel at all — the threshold masks at the start, the autoencoder's prediction after each task. The
    erosion steps leave the noise crops unscored, so the line breaks there; the entry says so, or the gaps
    read as missing data."""
    of = f"of all {n_noise} " if n_noise else "of all "
    return (f"noise crops with no mask pixel (% {of}noise crops,\nincl. the noise task's training crops;\n"
            "erosion steps do not score them: the line breaks there)")


# Fig 5's page height (in) and the height of the spacer row before C, in rows' heights.
FIG5_HEIGHT_IN, FIG5_GAP = 5.8, 0.15


# Sideways shifts (in steps) of A's three series, so that markers at one step never hide one another (the three
# met at "calls + noise tasks, round 1" of the default run): Dice left, accuracy centred, noise share right.
DODGE = {"dice": -0.2, "accuracy": 0.0, "noise": 0.2}


def zoom_label(lo: float, hi: float, other: float) -> str:
    """The accuracy's legend entry when its (right) axis spans only ``hi − lo`` points against the left axis'
    ``other``: a zoom that large must be said, or small changes read as large ones."""
    return f"pixel accuracy (%), right axis zoomed:\nit spans only {hi - lo:.2g} points, the left axis {other:.0f}"


@style.styled
def plot_refinement(steps: pd.DataFrame, images: np.ndarray, truth: np.ndarray | None,
                    examples: dict[str, np.ndarray], out: str, note: str, n_noise: int | None = None) -> None:
    """Fig 3: Dice and accuracy of each refinement step against the truth, and example masks per step.

    ``n_noise``: how many noise crops ``noise_empty_pct`` is over (named in its legend entry)."""
    names = list(examples)
    n_ex = len(images)
    ncol = len(names) + 2
    fig = plt.figure(figsize=(style.PRINT_WIDTH_IN, 4.0 + 1.0 * n_ex))
    # row 1 (empty) holds A's three-line tick labels, its x label and legend (entries of two lines), and B's
    # header; the title line sits above the canvas, so the canvas' top is not left empty
    gs = fig.add_gridspec(2 + n_ex, ncol, height_ratios=[2.4, 3.2] + [1] * n_ex, hspace=0.3, wspace=0.1,
                          top=0.95)
    ax = fig.add_subplot(gs[0, :])
    labels = [textwrap.fill(str(r.step), 14) + (f"\nround {r['round']}" if r.step != "threshold" else "")
              for _, r in steps.iterrows()]
    x = np.arange(len(steps))
    handles = []
    ax2 = None
    if "dice_mean" in steps:
        handles.append(ax.errorbar(x + DODGE["dice"], steps["dice_mean"], yerr=steps["dice_sem"], marker="o",
                                   color="tab:blue", label="Dice ×100 vs truth (call crops)"))
        ax2 = ax.twinx()
        # open squares: where the zoomed accuracy meets another series, the marker under it still shows
        handles.append(ax2.errorbar(x + DODGE["accuracy"], steps["accuracy_mean"], yerr=steps["accuracy_sem"],
                                    marker="s", mfc="white", color="tab:red", label="pixel accuracy (%)"))
        ax2.spines["right"].set_visible(True)
    if "noise_empty_pct" in steps:
        # NaN where a step does not score the noise crops (erosion): the line breaks there instead of
        # drawing a value across a step that has none.
        handles += ax.plot(x + DODGE["noise"], steps["noise_empty_pct"].to_numpy(float), "^--", color="tab:green",
                           label=noise_empty_label(n_noise))
    ax.set_xticks(x, labels)
    style.label_axes(ax, "refinement step", "Dice ×100 / % empty")
    if ax2 is not None:
        lo, hi = ax2.get_ylim()
        ax2.set_ylabel("pixel accuracy (%), zoomed", color="tab:red")
        handles[1].set_label(zoom_label(lo, hi, float(np.diff(ax.get_ylim())[0])))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0, -0.42), ncol=2, frameon=False)
    ax.set_title("A  automated dataset refinement scored against the truth")
    gray = mask = None
    cells = []
    for i in range(n_ex):
        bottom = i == n_ex - 1
        cells.append(fig.add_subplot(gs[2 + i, 0]))
        gray = _show(cells[-1], images[i], title=column_title("spectrogram", 8) if i == 0 else "", label=bottom)
        if i == 0:  # the panel letter as a header above the grid's column titles
            header = "B  the masks after each step (columns), for example crops (rows)"
            if truth is not None:
                header += "\n" + textwrap.fill(TRUTH_NOTE, 100)
            cells[-1].text(0.0, 1.65, header, transform=cells[-1].transAxes, ha="left", va="bottom", fontsize=8)
        if truth is not None:
            cells.append(fig.add_subplot(gs[2 + i, 1]))
            mask = _show(cells[-1], truth[i], "viridis", "truth" if i == 0 else "")
        for j, name in enumerate(names):
            cells.append(fig.add_subplot(gs[2 + i, j + 2]))
            mask = _show(cells[-1], examples[name][i], "viridis", column_title(name) if i == 0 else "")
    _colour_bars(fig, gray, mask, cells)
    style.add_title(fig, "SqueakOut Fig 3", "Refinement of the training masks")
    style.save(fig, out, note)


@style.styled
def plot_augmentations(image: np.ndarray, mask: np.ndarray, single: dict[str, tuple[np.ndarray, np.ndarray]],
                       combined: list[tuple[np.ndarray, np.ndarray, list[str]]], out: str, note: str) -> None:
    """Fig 5: (A) an example crop, (B) each augmentation alone, (C) random draws of the paper's policy."""
    ncol = max(len(single), len(combined)) + 1
    fig = plt.figure(figsize=(style.PRINT_WIDTH_IN, FIG5_HEIGHT_IN))
    # The title sits above the canvas (style.add_title), so the canvas' top holds only A's and B's column
    # titles. A spacer row between B's masks and C keeps the example's "time (px)" label (under its mask) off
    # C's column titles of up to three lines.
    gs = fig.add_gridspec(5, ncol, height_ratios=[1, 1, FIG5_GAP, 1, 1], hspace=0.3, wspace=0.1, top=0.95,
                          bottom=0.02)
    axes = np.array([[fig.add_subplot(gs[r, c]) for c in range(ncol)] for r in (0, 1, 3, 4)])
    for ax in axes.flat:
        ax.axis("off")
    gray = _show(axes[0, 0], image, title="A  example")
    axes[0, 0].axis("on")
    mask = _show(axes[1, 0], mask.astype(float), "viridis", "its mask", label=True)
    axes[1, 0].axis("on")
    for j, (name, (im, mk)) in enumerate(single.items(), start=1):
        for r, (img, cmap) in enumerate([(im, "gray"), (mk.astype(float), "viridis")]):
            _show(axes[r, j], img, cmap, ("B  " if j == 1 else "") + name if r == 0 else "")
            axes[r, j].axis("on")
    for j, (im, mk, applied) in enumerate(combined, start=1):
        title = ("C  " if j == 1 else "") + ("\n+ ".join(applied) or "none")
        for r, (img, cmap) in enumerate([(im, "gray"), (mk.astype(float), "viridis")], start=2):
            _show(axes[r, j], img, cmap, title if r == 2 else "")
            axes[r, j].axis("on")
    for ax in axes.flat:  # no empty cell in the grid
        if not ax.axison:
            ax.remove()
    _colour_bars(fig, gray, mask, [a for a in axes.flat if a.axison])
    style.add_title(fig, "SqueakOut Fig 5", "Augmentations of a training crop\nA the crop; B each augmentation "
                    "alone; C random draws of the training policy\n(augmentations combined). Each image above its mask")
    style.save(fig, out, note)


@style.styled
def plot_examples(images: np.ndarray, columns: dict[str, np.ndarray], scores: dict[str, tuple[np.ndarray, np.ndarray]],
                  out: str, note: str) -> None:
    """Fig 6: spectrogram, truth and each method's mask, with per-image accuracy (red) and Dice (blue) under it."""
    n = len(images)
    names = list(columns)
    height = 1.25 * n + 1.0
    fig, axes = plt.subplots(n, len(names) + 1, figsize=(min(style.PRINT_WIDTH_IN, 1.5 * (len(names) + 1) + 0.8),
                                                        height),
                             gridspec_kw={"wspace": 0.1, "hspace": 0.35, "top": 1 - 0.75 / height})
    axes = np.atleast_2d(axes)
    gray = mask = None
    for i in range(n):
        bottom = i == n - 1
        gray = _show(axes[i, 0], images[i], title="spectrogram" if i == 0 else "", label=bottom)
        for j, name in enumerate(names, start=1):
            mask = _show(axes[i, j], columns[name][i].astype(float), "viridis", name if i == 0 else "")
            if name in scores:
                acc, dice = scores[name]
                # Under the mask, on the white page: the dark-purple mask behind them made red and blue hard to
                # read at screen resolution, and a box inside the image would hide mask pixels.
                axes[i, j].text(0.0, -0.03, f"{acc[i] * 100:.1f}", color=ACC_COLOUR, va="top", ha="left",
                                transform=axes[i, j].transAxes, fontsize=7, gid=SCORE_GID)
                axes[i, j].text(1.0, -0.03, f"{dice[i] * 100:.1f}", color=DICE_COLOUR, va="top", ha="right",
                                transform=axes[i, j].transAxes, fontsize=7, gid=SCORE_GID)
    _colour_bars(fig, gray, mask, list(axes.flat))
    style.letters_exempt(fig, "the paper's Fig 6 is one grid of examples without panel letters")
    style.add_title(fig, "SqueakOut Fig 6", "Held-out test crops\nunder each mask: its pixel accuracy (red, %, left) "
                    "and Dice ×100 (blue, right)")
    style.save(fig, out, note)
