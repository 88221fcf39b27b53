"""One figure style for every plot: print-size text, labelled axes, colour bars, and the data tag.

A figure is printed at most :data:`PRINT_WIDTH_IN` wide (a journal's two-column width); a figure drawn wider is
shrunk to it, so its text must be drawn larger: :func:`printed_pt` gives a text's size on paper, and
:data:`MIN_PT` is the least we accept. The defaults in :data:`RC` are applied by :func:`apply` (the plot
functions of this package call it; every Snakemake plotting script gets it through
:func:`usvflow.workflow.script.script_main`, see :func:`script_figures`).

Every figure says where its data come from in a tag above its title (:func:`add_data_tag`): "SIMULATED data
(preset …, seed …)" in red for the embedded simulated cohort, the sample sheet's name otherwise. The wording is
``usvflow.workflow.planning.data_notice``'s ``caption``, which every plotting rule passes as ``params.data``.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; no display on clusters or CI
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

PRINT_WIDTH_IN = 7.5  # widest printed figure (PLOS: 19.05 cm)
PRINT_HEIGHT_IN = 8.75  # tallest printed figure at that width (PLOS: 22.23 cm, the page's text height)
MIN_PT = 7.0  # smallest text on paper
TAG_GID = "usvflow-data-tag"  # the data tag's artist id (tests and the save hook look for it)
TITLE_GID = "usvflow-title"  # the "Fig N  ..." title line (:func:`add_title`)
NOTE_GID = "usvflow-note"  # a note below the panels (:func:`add_note`)
SIM_COLOUR = "#c00000"  # the tag's colour on simulated data

RC: dict[str, Any] = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "legend.title_fontsize": 7,
    "figure.titlesize": 9,
    "axes.titlelocation": "left",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.dpi": 300,
    "pdf.fonttype": 42,  # editable text in the PDF
    "ps.fonttype": 42,
    "image.interpolation": "nearest",
}


def apply() -> None:
    """Set :data:`RC` as matplotlib's defaults (idempotent)."""
    matplotlib.rcParams.update(RC)


def styled(func: Callable) -> Callable:
    """Draw (and save) inside the style's defaults, without changing the caller's matplotlib settings."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with matplotlib.rc_context(RC):
            return func(*args, **kwargs)

    return wrapper


def page_width(fig: Figure) -> float:
    """The width (inches) of the page ``fig`` is saved on: its tight bounding box (texts sticking out past the
    canvas included) with the save's padding on both sides, or the canvas when that is wider."""
    tight = fig.get_tightbbox(fig.canvas.get_renderer()).width + 2 * _pad()
    return max(fig.get_figwidth(), tight)


def page_height(fig: Figure) -> float:
    """The height (inches) of the page ``fig`` is saved on (as :func:`page_width`: the tight bounding box, the
    data tag and title above the canvas included, with the save's padding)."""
    tight = fig.get_tightbbox(fig.canvas.get_renderer()).height + 2 * _pad()
    return max(fig.get_figheight(), tight)


def printed_height(fig: Figure) -> float:
    """The page's height (inches) once printed at :data:`PRINT_WIDTH_IN` (shrunk with the width, never
    enlarged); more than :data:`PRINT_HEIGHT_IN` does not fit a journal page."""
    return page_height(fig) * min(1.0, PRINT_WIDTH_IN / page_width(fig))


def _pad() -> float:
    """The margin (inches) ``savefig(bbox_inches="tight")`` adds around the tight box."""
    pad = matplotlib.rcParams["savefig.pad_inches"]
    return 0.1 if pad == "layout" else float(pad)


def printed_pt(fontsize: float, fig: Figure, width: float | None = None) -> float:
    """A text's size on paper once ``fig``'s page (``width`` inches, else the canvas width) is shrunk to
    :data:`PRINT_WIDTH_IN` (never enlarged)."""
    return float(fontsize) * min(1.0, PRINT_WIDTH_IN / (width or fig.get_figwidth()))


def fontsize_for(fig: Figure, printed: float = MIN_PT) -> float:
    """The font size to draw so that the text prints at ``printed`` points on ``fig``."""
    return printed * max(1.0, fig.get_figwidth() / PRINT_WIDTH_IN)


# --------------------------------------------------------------------------------------------- the data tag


def is_simulated(caption: str) -> bool:
    """Whether a data notice (``data_notice(...)["caption"]`` or ``["note"]``) describes simulated data."""
    return "SIMULATED" in caption


def tag_text(caption: str) -> str:
    """The tag's words from a data notice: its first clause, e.g. ``SIMULATED data (usvflow simulator, preset
    default, seed 0)`` or ``Data: the recordings of sample sheet samples.tsv``."""
    head = caption.split(";")[0].strip()
    if is_simulated(head) or head.lower().startswith("data"):
        return head
    return f"Data: {head}"


def find_tag(fig: Figure):
    """The figure's data tag (a Text), or None."""
    return next((t for t in fig.texts if t.get_gid() == TAG_GID), None)


def add_data_tag(fig: Figure, caption: str) -> None:
    """Put the data tag above everything else at the figure's top left (once; a second call replaces the words).

    The tag sits just above the canvas, so it never covers a title or a panel; save with
    ``bbox_inches="tight"`` (:func:`save` does) to keep it on the page."""
    text, sim = tag_text(caption), is_simulated(caption)
    old = find_tag(fig)
    if old is not None:
        old.set_text(text)
        return
    size = fontsize_for(fig, 9)
    fig.text(0.0, 1.0, text, ha="left", va="bottom", fontsize=size,
             fontweight="bold", color=SIM_COLOUR if sim else "black", gid=TAG_GID,
             bbox={"boxstyle": "square,pad=0.25", "fc": "white", "ec": SIM_COLOUR if sim else "0.3", "lw": 1.0})
    _stack_top(fig)


def find_title(fig: Figure):
    """The figure's "Fig N  ..." title line (a Text, :func:`add_title`), or None."""
    return next((t for t in fig.texts if t.get_gid() == TITLE_GID), None)


def add_title(fig: Figure, number: str, text: str) -> None:
    """The figure's title line, ``Fig {number}  {text}`` (``number``: "3", "S1", or a longer name such as
    "SqueakOut Fig 3" when it starts with a letter), bold, just above the canvas at the top left, under the
    data tag: above the canvas it never covers a panel, a legend or a block header, whatever the layout.
    A second call replaces the words."""
    words = f"{number}  {text}" if number[:1].isalpha() else f"Fig {number}  {text}"
    old = find_title(fig)
    if old is not None:
        old.set_text(words)
    else:
        fig.text(0.01, 1.0, words, ha="left", va="bottom", fontsize=fontsize_for(fig, 9), fontweight="bold",
                 gid=TITLE_GID)
    _stack_top(fig)


def _stack_top(fig: Figure) -> None:
    """Place the title just above the canvas and the data tag above the title (or above the canvas when
    there is no title): each raised by its own height, so the tag stays above every other text."""
    from matplotlib.transforms import offset_copy

    raised = 2.0  # points above the canvas
    title, tag = find_title(fig), find_tag(fig)
    if title is not None:
        title.set_transform(offset_copy(fig.transFigure, fig=fig, y=raised, units="points"))
        height = title.get_window_extent(fig.canvas.get_renderer()).height * 72 / fig.dpi  # points, all lines
        raised += height + 0.5 * title.get_fontsize() + 2.0  # clear of the tag's box (its pad: a quarter line)
    if tag is not None:
        # raised by the box's padding (a quarter line) and a point, so that the box itself stays off the canvas
        lift = raised - 1.0 + 0.25 * tag.get_fontsize()
        tag.set_transform(offset_copy(fig.transFigure, fig=fig, y=lift, units="points"))


def add_note(fig: Figure, text: str, width: int = 120, **kwargs: Any):
    """A note (a sentence of the caption: a control, a definition) below everything already drawn, one line's
    height clear of the lowest text (an x label, rotated tick labels), at the style's minimum printed size.

    Placed from the drawn extent, not at a fixed figure fraction: a fixed place collides with whatever the
    panels above happen to reach down to (Fig 3's note ran into panel F's x label)."""
    import textwrap

    size = kwargs.pop("fontsize", fontsize_for(fig, MIN_PT))
    bottom = fig.get_tightbbox(fig.canvas.get_renderer()).y0  # inches, over every artist drawn so far
    gap = 0.8 * size / 72
    y = (bottom - gap) / fig.get_figheight()
    lines = "\n".join(textwrap.fill(p, width) for p in str(text).split("\n"))
    kwargs.setdefault("color", "0.25")
    return fig.text(0.01, y, lines, ha="left", va="top", fontsize=size, gid=NOTE_GID, **kwargs)


def fit_width(fig: Figure, width: float = PRINT_WIDTH_IN) -> None:
    """Narrow ``fig`` until its tight bounding box (what :func:`save` writes) is at most ``width`` inches.

    Labels and colour-bar labels that stick out past the canvas widen the saved page; a page wider than the
    print width is shrunk to it when printed, and so is every text on it (Fig 4 printed its 7-pt labels at
    6.4 pt). The texts keep their size; the panels give up the width."""
    width -= 2 * _pad()
    for _ in range(3):
        before, wide = fig.get_figwidth(), fig.get_tightbbox(fig.canvas.get_renderer()).width
        if wide <= width + 0.005:
            return
        fig.set_figwidth(max(1.0, before - (wide - width) - 0.005))
        if fig.get_tightbbox(fig.canvas.get_renderer()).width > wide - 0.5 * (wide - width):
            fig.set_figwidth(before)  # a text wider than the page (a long title) does not shrink: leave it
            return


def letters_exempt(fig: Figure, reason: str) -> None:
    """Exempt a figure from the panel-letter check, and say why (the paper's figure has no letters; a movie shows
    some of another figure's panels under their letters)."""
    fig._usvflow_letters_exempt = reason  # noqa: SLF001


def screen_only(fig: Figure, reason: str) -> None:
    """Mark a figure as a screen image, never printed (a recording's overview, wider than any page): it is not
    narrowed to the print width, and the audit leaves out page size and printed text size (:func:`is_screen_only`)."""
    fig._usvflow_screen_only = reason  # noqa: SLF001


def is_screen_only(fig: Figure) -> bool:
    """Whether :func:`screen_only` marked ``fig``."""
    return bool(getattr(fig, "_usvflow_screen_only", None))


def save(fig: Figure, out: str | Path, caption: str | None = None, close: bool = True, **kwargs: Any) -> None:
    """Tag (when ``caption`` is given) and write ``fig`` with a tight bounding box no wider than the print width
    (:func:`fit_width`), then close it."""
    if caption:
        add_data_tag(fig, caption)
    if not is_screen_only(fig):
        fit_width(fig)
    kwargs.setdefault("bbox_inches", "tight")
    fig.savefig(out, **kwargs)
    if close:
        plt.close(fig)


def _report_checks(fig: Figure, fname: Any, simulated: bool) -> None:
    """Print what :func:`usvflow.figures.checks.audit` finds in a figure about to be saved (to the rule's log);
    never stops the job."""
    from .checks import audit

    try:
        problems = audit(fig, simulated=simulated, printed=not is_screen_only(fig))
    except Exception as err:  # noqa: BLE001 - a checker failure must not lose a figure
        print(f"figure check of {fname}: not run ({err!r})")
        return
    print(f"figure check of {fname}: {len(problems)} problem(s)" + "".join(f"\n  {p}" for p in problems))


@contextlib.contextmanager
def script_figures(caption: str | None) -> Iterator[None]:
    """Inside a plotting script: the style's defaults, and every figure saved gets the data tag; what
    :func:`usvflow.figures.checks.audit` finds in it is printed to the rule's log.

    Figures that already carry a tag keep it; frames grabbed by a movie writer (raw pixel formats) are left
    alone, since their size must not change."""
    original = Figure.savefig

    def savefig(self: Figure, fname: Any, *args: Any, **kwargs: Any) -> Any:
        if str(kwargs.get("format", "")).lower() not in {"rgba", "raw", "argb"}:
            if caption and find_tag(self) is None:
                add_data_tag(self, caption)
            if find_tag(self) is not None:
                kwargs.setdefault("bbox_inches", "tight")
            if kwargs.get("bbox_inches") == "tight" and not is_screen_only(self):
                fit_width(self)
            _report_checks(self, fname, bool(caption and is_simulated(caption)))
        return original(self, fname, *args, **kwargs)

    with matplotlib.rc_context(RC):
        Figure.savefig = savefig
        try:
            yield
        finally:
            Figure.savefig = original


# --------------------------------------------------------------------------------------------- labels


def axis_label(name: str, unit: str | None = None) -> str:
    """``name (unit)``; a quantity without unit (a count, a ratio) gives ``name`` alone."""
    return f"{name} ({unit})" if unit else name


def label_axes(ax, x: str | None = None, y: str | None = None, x_unit: str | None = None,
               y_unit: str | None = None, z: str | None = None, z_unit: str | None = None) -> None:
    """Set the axis labels with their units (``None`` leaves a label as it is)."""
    if x is not None:
        ax.set_xlabel(axis_label(x, x_unit))
    if y is not None:
        ax.set_ylabel(axis_label(y, y_unit))
    if z is not None:
        ax.set_zlabel(axis_label(z, z_unit))


def colorbar(fig: Figure, mappable, ax, label: str, unit: str | None = None, **kwargs: Any):
    """A colour bar for an image, labelled with its quantity and unit."""
    kwargs.setdefault("fraction", 0.05)
    kwargs.setdefault("pad", 0.02)
    cb = fig.colorbar(mappable, ax=ax, **kwargs)
    cb.set_label(axis_label(label, unit))
    return cb


def exempt(ax, reason: str) -> None:
    """Mark an axes as needing no axis labels or colour bar, and say why (e.g. "same axes as the row's first
    panel", "binary mask: white = call"). The figure test reads the reason."""
    ax._usvflow_exempt = reason  # noqa: SLF001


def exemption(ax) -> str | None:
    """The reason given by :func:`exempt`, or None."""
    return getattr(ax, "_usvflow_exempt", None)
