"""Fig 6 of Ivanenko et al. 2020. Each function reads computed results and draws; none of them computes a
result (the numbers come from :mod:`usvflow.interpret` and :mod:`usvflow.report.interpret`). Fig 7 is
:mod:`usvflow.figures.callspace` (its names still resolve here), the S1 Video :mod:`usvflow.figures.movie`."""

from __future__ import annotations

import textwrap
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; no display on clusters or CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import TwoSlopeNorm  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from ..interpret.examples import RULE_TEXT as EXAMPLE_RULE  # noqa: E402
from ..report import paper  # noqa: E402
from . import style  # noqa: E402
from .features import FEMALE, MALE  # noqa: E402

ACROSS = "#9467bd"  # purple: across-sex correlation (paper Fig 6D)
SEX_COLOUR = {"F": FEMALE, "M": MALE}
SEX_NAME = {"F": "female", "M": "male"}
# The call images: rows 25-125 kHz (1 kHz each), columns 0-100 ms (1 ms each); the network's input is the
# same image pooled to a coarser grid, over the same extent.
IMAGE_EXTENT = (0, 100, 25, 125)
INPUT_LABEL = "input level"
ACTIVATION_LABEL = "activation ÷ the layer's max (grey: no unit)"
# The colour bars' labels: close to their own bar (points), and A's (E's) bar set apart from B's (F's) first image
# by a gap column (a fraction of an image's width).
BAR_LABEL_PAD, INPUT_BAR_GAP = 2.0, 0.75
# An FC layer's units fill a near-square grid; the cells past the last unit are grey, not a colour of the scale.
UNITS_CMAP = plt.get_cmap("magma").with_extremes(bad="0.8")
RECONSTRUCTION_LABEL = "reconstruction ÷ its max |value|"
FIG6_HEIGHT_IN = 7.55  # with the data tag, the title and the five-line note below: one page (8.75 in)
FIG6_NOTE_WIDTH = 145  # characters per line of the note at the minimum printed size
# A and E: the examples' frequency ticks sit inside the axis (not on its top and bottom edges, 25 and 125 kHz)
# so that no tick label shares a line with a row's title ("male M01" read as "25 male M01" beside the female
# row's lowest tick); the rows' gap (a fraction of a row's height) and the titles' pad (points) keep each title
# clear of the row above.
INPUT_FREQ_TICKS = (50, 100)
EXAMPLE_ROW_GAP, EXAMPLE_TITLE_PAD = 0.6, 4.0


def _activation_image(act: np.ndarray) -> np.ndarray:
    """A layer's activation as an image: conv maps averaged over channels; vectors as a near-square grid."""
    if act.ndim == 3:
        return act.mean(axis=0)
    side = int(np.ceil(np.sqrt(act.size)))
    grid = np.full(side * side, np.nan)
    grid[:act.size] = act
    return grid.reshape(side, side)


def _scaled(img: np.ndarray, signed: bool) -> np.ndarray:
    """``img`` divided by its largest (absolute) value, for one colour scale across layers."""
    top = float(np.nanmax(np.abs(img))) if np.isfinite(img).any() else 0.0
    return img / top if top > 0 else np.zeros_like(img, float)


def _input_axes(ax: plt.Axes, img: np.ndarray, row: int, n_rows: int):
    im = ax.imshow(img, origin="lower", aspect="auto", cmap="gray_r", extent=IMAGE_EXTENT, vmin=0, vmax=1,
                   interpolation="nearest")
    ax.set_xticks([0, 100])
    ax.set_yticks(INPUT_FREQ_TICKS)
    if row == n_rows - 1:
        style.label_axes(ax, "time", "f", "ms", "kHz")
    else:  # the time axis is the bottom row's (shared); no tick marks to reach the title below
        ax.tick_params(labelbottom=False, bottom=False)
    return im


def fit_bar_label(bar, text: str) -> None:
    """Wrap the colour bar's label onto as few lines as keep it within the bar's height (measured as drawn);
    a single word longer than the bar stays on its own line."""
    fig = bar.ax.figure
    renderer = fig.canvas.get_renderer()
    height = bar.ax.get_window_extent(renderer).height
    words = text.split()
    for width in range(len(text), 0, -1):
        wrapped = textwrap.fill(text, width, break_long_words=False)
        bar.set_label(wrapped)
        if bar.ax.yaxis.label.get_window_extent(renderer).height <= height or wrapped.count("\n") >= len(words) - 1:
            return


def _example_block(fig: plt.Figure, spec, examples: dict[str, dict[str, Any]], key: str,
                   headers: tuple[str, str]) -> None:
    """One row per sex: the input, then one image per layer (activations, or reconstructions in input space),
    with one colour bar for the input and one for the layers. ``headers``: the inputs' panel (its letter) and
    the layers' panel."""
    sexes = [s for s in ("F", "M") if s in examples]
    n_layers = max(len(e["layers"]) for e in examples.values())
    grid = spec.subgridspec(len(sexes), n_layers + 4, wspace=0.12, hspace=EXAMPLE_ROW_GAP,
                            width_ratios=[1.0, 0.1, INPUT_BAR_GAP] + [1.0] * n_layers + [0.1])
    first_input, layer_im, input_im = None, None, None
    for r, sex in enumerate(sexes):
        ex = examples[sex]
        ax = fig.add_subplot(grid[r, 0], sharex=first_input, sharey=first_input)
        first_input = first_input or ax
        input_im = _input_axes(ax, ex["stimulus"], r, len(sexes))
        ax.set_title(f"{SEX_NAME[sex]} {ex['animal']}", color=SEX_COLOUR[sex], loc="left", pad=EXAMPLE_TITLE_PAD)
        for li, layer in enumerate(ex["layers"]):
            a = fig.add_subplot(grid[r, li + 3])
            if key == "activations":
                layer_im = a.imshow(_scaled(_activation_image(ex["activations"][li]), False), origin="lower",
                                    aspect="auto", cmap=UNITS_CMAP, vmin=0, vmax=1, interpolation="nearest")
                style.exempt(a, "activation map: the layer's units (conv: positions, FC: units on a grid), "
                                "no physical axes; shared colour bar")
            else:
                layer_im = a.imshow(_scaled(ex["reconstructions"][li], True), origin="lower", aspect="auto",
                                    cmap="RdBu_r", norm=TwoSlopeNorm(0, -1, 1), extent=IMAGE_EXTENT,
                                    interpolation="nearest")
                style.exempt(a, "reconstruction in the input's axes (time × frequency, as the row's input); "
                                "shared colour bar")
            a.set_xticks([])
            a.set_yticks([])
            if r == 0:
                a.set_title(layer, loc="center")
    bar = style.colorbar(fig, input_im, None, INPUT_LABEL, cax=fig.add_subplot(grid[:, 1]), ticks=[0, 1])
    bar.ax.yaxis.labelpad = BAR_LABEL_PAD  # by its own bar, well apart from B's (F's) first image
    fit_bar_label(bar, INPUT_LABEL)
    label = ACTIVATION_LABEL if key == "activations" else RECONSTRUCTION_LABEL
    bar = style.colorbar(fig, layer_im, None, label, cax=fig.add_subplot(grid[:, -1]), ticks=[-1, 0, 1]
                         if key != "activations" else [0, 0.5, 1])
    bar.ax.yaxis.labelpad = BAR_LABEL_PAD
    fit_bar_label(bar, label)
    pos = spec.get_position(fig)
    first_layer = grid[0, 3].get_position(fig)
    above = pos.y1 + 0.28 / fig.get_figheight()  # clear of the column titles (inches, whatever the height)
    fig.text(pos.x0 - 0.07, above, headers[0], ha="left", va="bottom", fontweight="bold")
    fig.text(first_layer.x0, above, headers[1], ha="left", va="bottom", fontweight="bold")


def _curve(ax: plt.Axes, summary: pd.DataFrame, measure: str, ylabel: str, title: str,
           across: bool = False, labels: dict[str, str] | None = None) -> None:
    """Mean ± 2 SEM per layer and sex (the paper's error bars; :func:`fig6_note` says so on the figure).
    ``labels``: the legend entry per sex (default: the sex, with "→ other sex" for ``across``)."""
    s = summary[summary["measure"] == measure]
    layers = s.sort_values("layer_index")["layer"].unique()
    for sex, colour in SEX_COLOUR.items():
        d = s[s["sex"] == sex].sort_values("layer_index")
        if len(d):
            label = (labels or {}).get(sex, SEX_NAME[sex] + (" → other sex" if across else ""))
            ax.errorbar(d["layer_index"], d["mean"], yerr=2 * d["sem"].fillna(0), color=ACROSS if across else colour,
                        marker="o" if sex == "F" else "s", ms=3, lw=1, capsize=2, label=label,
                        ls="--" if across and sex == "M" else "-")
    ax.set_xticks(range(len(layers)))
    ax.set_xticklabels(layers, rotation=90)
    style.label_axes(ax, "layer", ylabel)
    ax.set_title(title)


# Fig 6D's four lines, as pattern_correlation (usvflow.interpret.activations) computes them: each held-out call
# against the reference calls of its fold's training animals, of its own sex (within) or of the other (across).
WITHIN_LABELS = {"F": "female vs other females", "M": "male vs other males"}
ACROSS_LABELS = {"F": "female vs males", "M": "male vs females"}


def _legend_above(ax: plt.Axes, handles: list | None = None) -> None:
    """The panel's legend above its axes in two columns, under a one-line title, clear of the lines and of
    reference lines (inside, "best" sat on them: Fig 6G's on the paper's 0.40)."""
    kw = {"handles": handles} if handles is not None else {}
    legend = ax.legend(frameon=False, ncol=2, loc="lower left", bbox_to_anchor=(0, 1.0), borderaxespad=0.3,
                       borderpad=0.0, handlelength=1.8, columnspacing=1.2, **kw)
    rows = max(2, int(np.ceil(len(legend.get_texts()) / 2)))  # the same title height in every panel
    fontsize = legend.get_texts()[0].get_fontsize() if rows else 0
    ax.set_title(ax.get_title(loc="left"), pad=6 + 1.45 * fontsize * rows)


def _n_text(summary: pd.DataFrame, measure: str) -> str:
    """'880 F, 795 M': the calls behind a measure's points (the largest n over layers, per sex)."""
    d = summary[summary["measure"] == measure]
    return ", ".join(f"{int(d.loc[d['sex'] == s, 'n'].max())} {s}" for s in ("F", "M") if (d["sex"] == s).any())


def fig6_note(summary: pd.DataFrame, values: dict[str, Any], examples: dict[str, dict[str, Any]] | None = None) -> str:
    """How A and E's examples were chosen (when they carry a typicality distance); what C, D, G and H's points
    and error bars are, and what D's lines average; from the summary's n."""
    folds = values.get("n_folds")
    deconv = _n_text(summary, "deconv_stim_corr")
    chosen = [f"{s} {e['call_uid']}" for s, e in (examples or {}).items() if "distance" in e]
    return ((f"A, E: {EXAMPLE_RULE} ({', '.join(chosen)}). " if chosen else "") + f"C, D, G, H: mean over held-out calls ({_n_text(summary, 'sparsity')}"
            + (f"; G, H: {deconv} deconvolved" if deconv else "")
            + "), each through the network of its own leave-one-animal-out fold"
            + (f" ({folds} folds)" if folds else "") + "; error bars ± 2 SEM over those calls. "
            "D: a call's activation pattern (centred on the references' mean) correlated with reference calls of "
            "its fold's training animals, averaged over those of its own sex (red, blue) or of the other sex "
            "(purple). The purple lines average different calls through different networks (female calls vs male "
            "references; male calls vs female references), so they need not be equal.")


@style.styled
def plot_fig6(summary: pd.DataFrame, examples: dict[str, dict[str, Any]], values: dict[str, Any],
              subtitle: str) -> plt.Figure:
    """Fig 6: A a female and a male example, B their activations per layer; C sparsity; D within/across-sex
    correlation; E the examples again, F their deconvolution reconstructions per layer; G reconstruction–stimulus correlation;
    H within-layer similarity of the reconstructions. ``values`` and ``subtitle`` are kept for the callers;
    the data tag is added when the figure is saved (:func:`usvflow.figures.style.script_figures`)."""
    fig = plt.figure(figsize=(style.PRINT_WIDTH_IN, FIG6_HEIGHT_IN))  # with tag, title, note: one page
    blocks = [b for b in (("activations", ("A  inputs", "B  activation per layer (conv: mean over channels; "
                                                       "FC: units)")),
                          ("reconstructions", ("E  inputs", "F  deconvolution of each layer's activity back to "
                                                            "the input")))
              if examples]
    # rows in the papers' order: A B (activations), C D (their measures), E F (deconvolution), G H (its measures)
    outer = fig.add_gridspec(4, 1, height_ratios=[1, 0.75, 1, 0.75], hspace=1.25, top=0.93, bottom=0.085,
                             left=0.1, right=0.92)
    for b, (key, header) in enumerate(blocks):
        _example_block(fig, outer[2 * b], examples, key, header)
    curves = {(r, c): outer[2 * r + 1].subgridspec(1, 2, wspace=0.35)[0, c] for r in (0, 1) for c in (0, 1)}
    ax = fig.add_subplot(curves[0, 0])
    _curve(ax, summary, "sparsity", "1 − active/total", "C  sparsity")
    for sex, colour in SEX_COLOUR.items():  # units whose receptive field holds sound only
        d = summary[(summary["measure"] == "sparsity_seen") & (summary["sex"] == sex)].sort_values("layer_index")
        ax.plot(d["layer_index"], d["mean"], ls=":", color=colour, lw=1)
    handles = ax.get_legend_handles_labels()[0]
    handles.append(Line2D([], [], ls=":", color="0.3", lw=1, label="dotted: units that see sound"))
    _legend_above(ax, handles)
    ax = fig.add_subplot(curves[0, 1])
    _curve(ax, summary, "within_corr", "correlation", "D  correlation within and across sex",
           labels=WITHIN_LABELS)
    _curve(ax, summary, "across_corr", "correlation", "D  correlation within and across sex", across=True,
           labels=ACROSS_LABELS)
    ax.axhline(0, color="k", lw=0.5)
    _legend_above(ax)
    ax = fig.add_subplot(curves[1, 0])
    _curve(ax, summary, "deconv_stim_corr", "correlation", "G  reconstruction vs stimulus")
    handles = ax.get_legend_handles_labels()[0]
    for sex, ref in paper.FIG6_DECONV_PLATEAU.items():
        ax.axhline(ref, color=SEX_COLOUR[sex], lw=0.6, ls=":")
    handles += [Line2D([], [], color=SEX_COLOUR[s], lw=0.6, ls=":",
                       label=f"paper's plateau, {s} {paper.FIG6_DECONV_PLATEAU[s]:.2f}")
                for s in ("F", "M") if s in paper.FIG6_DECONV_PLATEAU]
    _legend_above(ax, handles)
    ax = fig.add_subplot(curves[1, 1])
    _curve(ax, summary, "deconv_similarity", "correlation", "H  similarity between units")
    _legend_above(ax)
    style.add_title(fig, "6", "Structure of the sex CNN's activity and representation")
    style.add_note(fig, fig6_note(summary, values, examples), width=FIG6_NOTE_WIDTH, color="k")
    return fig
