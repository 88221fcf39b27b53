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
MIN_PT = 7.0  # smallest text on paper
TAG_GID = "usvflow-data-tag"  # the data tag's artist id (tests and the save hook look for it)
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


def printed_pt(fontsize: float, fig: Figure) -> float:
    """A text's size on paper once ``fig`` is shrunk to :data:`PRINT_WIDTH_IN` (never enlarged)."""
    return float(fontsize) * min(1.0, PRINT_WIDTH_IN / fig.get_figwidth())


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
    fig.text(0.0, 1.0, text, transform=fig.transFigure, ha="left", va="bottom", fontsize=size,
             fontweight="bold", color=SIM_COLOUR if sim else "black", gid=TAG_GID,
             bbox={"boxstyle": "square,pad=0.25", "fc": "white", "ec": SIM_COLOUR if sim else "0.3", "lw": 1.0})


def save(fig: Figure, out: str | Path, caption: str | None = None, close: bool = True, **kwargs: Any) -> None:
    """Tag (when ``caption`` is given) and write ``fig`` with a tight bounding box, then close it."""
    if caption:
        add_data_tag(fig, caption)
    kwargs.setdefault("bbox_inches", "tight")
    fig.savefig(out, **kwargs)
    if close:
        plt.close(fig)


def _report_checks(fig: Figure, fname: Any, simulated: bool) -> None:
    """Print what :func:`usvflow.figures.checks.audit` finds in a figure about to be saved (to the rule's log);
    never stops the job."""
    from .checks import audit

    try:
        problems = audit(fig, simulated=simulated)
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
