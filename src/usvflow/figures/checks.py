"""What can be checked of a figure by code, as a reviewer would read it: text size on paper, overlapping text,
labelled axes, colour bars for images, a key for every colour, no empty panels, the data tag. Used by the figure tests; usable on any
matplotlib figure before it is saved (``audit(fig)`` lists the problems, empty when none)."""

from __future__ import annotations

import re

import numpy as np
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.text import Text

from .style import (
    MIN_PT,
    PRINT_HEIGHT_IN,
    PRINT_WIDTH_IN,
    exemption,
    find_tag,
    is_screen_only,
    is_simulated,
    page_width,
    printed_height,
    printed_pt,
)

OVERLAP_PX = 1.0  # two texts overlap when their boxes share more than this many pixels (at 100 dpi) each way


def drawn_texts(fig: Figure) -> list[Text]:
    """Every text artist the figure draws (tick labels included), each once, in drawing order.

    Recorded where a text draws itself, not at the renderer: matplotlib hands the renderer a multi-line text
    line by line without naming the text, so a renderer hook misses every text with a line break (the
    two-line tick labels and column titles that overlapped unseen)."""
    drawn: dict[int, Text] = {}
    original = Text.draw

    def record(self, renderer):
        if self.get_visible() and str(self.get_text()).strip() and self.get_figure(root=True) is fig:
            drawn.setdefault(id(self), self)
        return original(self, renderer)

    Text.draw = record
    try:
        fig.canvas.draw()
    finally:
        Text.draw = original
    return list(drawn.values())


def _owner(t: Text):
    """The axes a text belongs to (its own, or the one whose axis, tick or legend drew it), else None."""
    if t.axes is not None:
        return t.axes
    fig = t.get_figure(root=True)
    owners = getattr(fig, "_usvflow_text_owners", None)
    if owners is None or id(t) not in owners:
        owners = {id(x): a for a in fig.axes for x in a.findobj(Text)}
        fig._usvflow_text_owners = owners  # noqa: SLF001 - a cache for one audit
    return owners.get(id(t))


def _name(t: Text) -> str:
    owner = _owner(t)
    where = (owner.get_title(loc="left") or owner.get_title()) if owner is not None else "figure"
    return f"{t.get_text()[:40]!r} (in {where[:30]!r})"


def small_texts(fig: Figure, texts: list[Text]) -> list[str]:
    """Texts printed smaller than :data:`MIN_PT` once the saved page (the tight bounding box: labels sticking
    out past the canvas widen it) is shrunk to the print width."""
    width = page_width(fig)
    return [f"text {printed_pt(t.get_fontsize(), fig, width):.1f} pt on paper < {MIN_PT:g}: {_name(t)}"
            for t in texts if printed_pt(t.get_fontsize(), fig, width) < MIN_PT - 0.02]


def page_problems(fig: Figure) -> list[str]:
    """The saved page wider than the print width (it would be shrunk, and every text with it), or, printed at
    that width, taller than a journal page (:data:`PRINT_HEIGHT_IN`: it would be shrunk again to fit)."""
    out = []
    width = page_width(fig)
    if width > PRINT_WIDTH_IN + 0.02:
        out.append(f"page {width:.2f} in wide > {PRINT_WIDTH_IN:g} in: printed, every text shrinks by "
                   f"{100 * (1 - PRINT_WIDTH_IN / width):.0f} %")
    height = printed_height(fig)
    if height > PRINT_HEIGHT_IN + 0.02:
        out.append(f"page {height:.2f} in tall at print width > {PRINT_HEIGHT_IN:g} in: it does not fit a "
                   f"page; printed, every text shrinks by {100 * (1 - PRINT_HEIGHT_IN / height):.0f} %")
    return out


def crowded_notes(fig: Figure, texts: list[Text]) -> list[str]:
    """A figure-level text (a note, a block header, the title) on the same line as a panel's text less than
    one character apart, sitting on top of one (less than a quarter line between them), or lying over a panel:
    the reader cannot tell which it belongs to (Fig 3's note ran into panel F's x label; a three-line title
    sat on SqueakOut Fig 5's column titles)."""
    renderer = fig.canvas.get_renderer()
    tag = find_tag(fig)
    notes = [t for t in fig.texts if t is not tag and t.get_visible() and t.get_text().strip()]
    suptitle = getattr(fig, "_suptitle", None)
    if suptitle is not None and suptitle.get_visible() and suptitle.get_text().strip():
        notes.append(suptitle)
    drawn = {id(t) for t in texts}
    owned = [t for t in texts if _owner(t) is not None]
    panels = [a for a in fig.axes if a.get_visible()]
    out = []
    for n in notes:
        if id(n) not in drawn:
            continue
        e = n.get_window_extent(renderer)
        em = n.get_fontsize() * fig.dpi / 72
        for t in owned:
            f = t.get_window_extent(renderer)
            dx = max(f.x0 - e.x1, e.x0 - f.x1)  # negative: the boxes share columns
            dy = max(f.y0 - e.y1, e.y0 - f.y1)  # negative: the boxes share rows
            if (dy < 0 and dx < em) or (dx < 0 and dy < 0.25 * em):
                out.append(f"figure text crowds a panel's text: {_name(n)} and {_name(t)}")
        for a in panels:
            b = a.bbox
            if min(e.x1, b.x1) - max(e.x0, b.x0) > 1 and min(e.y1, b.y1) - max(e.y0, b.y0) > 1:
                out.append(f"figure text over a panel: {_name(n)} over axes "
                           f"{(a.get_title(loc='left') or a.get_title())[:30]!r}")
    return list(dict.fromkeys(out))


LETTER = re.compile(r"^([A-Z])((?:/[A-Z])*)(?:\s{2}|\s*$|\n)")


def panel_letters(fig: Figure) -> list[str]:
    """The panels' letters, in the order the titles and block headers give them: the leading capital of a title
    followed by two spaces, a line break or nothing (``"B  direction"``, ``"C"``)."""
    heads = []
    for a in fig.axes:
        if a.get_visible() and not hasattr(a, "_colorbar"):
            heads += [a.get_title(loc="left"), a.get_title()] + [t.get_text() for t in a.texts]
    heads += [t.get_text() for t in fig.texts if t is not find_tag(fig)]
    out = []
    for h in heads:
        m = LETTER.match(h.strip())
        if m:
            out.append(m.group(1) + m.group(2))
    return out


def letter_problems(fig: Figure) -> list[str]:
    """Panel letters as a reviewer reads them: every panel of a multi-panel figure lettered (two or more
    labelled data panels and no letter at all is a problem), one letter per panel (no "A/B"), and the letters
    running from A without a gap."""
    if getattr(fig, "_usvflow_letters_exempt", None):
        return []
    letters = panel_letters(fig)
    panels = [a for a in fig.axes if a.get_visible() and not hasattr(a, "_colorbar") and a.has_data()
              and (a.get_title(loc="left") or a.get_title())]
    if not letters:
        return ["panels without letters"] if len(panels) >= 2 else []
    out = [f"two panels under one letter: {x!r}" for x in letters if "/" in x]
    single = sorted({x for x in letters if "/" not in x} | {c for x in letters for c in x.split("/")})
    expected = [chr(ord("A") + k) for k in range(ord(max(single)) - ord("A") + 1)]
    missing = [c for c in expected if c not in single]
    if missing:
        out.append(f"panel letters missing: {', '.join(missing)} (found {', '.join(single)})")
    out += order_problems(fig)
    return out


def _lettered_boxes(fig: Figure) -> list[tuple[str, object]]:
    """Each panel letter with the box a reader sees it label: a lettered axes title's axes and title together,
    a block header (a figure text) its own line."""
    from matplotlib.transforms import Bbox

    renderer = fig.canvas.get_renderer()
    tag = find_tag(fig)
    out = []
    for a in fig.axes:
        if not a.get_visible() or hasattr(a, "_colorbar"):
            continue
        for t in [a._left_title, a.title] + list(a.texts):  # noqa: SLF001
            m = LETTER.match(str(t.get_text()).strip())
            if m and t.get_visible():
                out.append((m.group(1), Bbox.union([a.bbox, t.get_window_extent(renderer)])))
    for t in fig.texts:
        m = LETTER.match(str(t.get_text()).strip())
        if t is not tag and m and t.get_visible():
            out.append((m.group(1), t.get_window_extent(renderer)))
    return out


def order_problems(fig: Figure) -> list[str]:
    """Letters a reader meets out of the papers' order, reading the page by rows from the top, left to right
    in a row: a later letter whose panel lies wholly above an earlier one's, or beside it (their heights
    overlapping) and wholly to its left (Fig 4's J was a row above I)."""
    tol = 2.0 * fig.dpi / 72
    boxes = sorted(_lettered_boxes(fig), key=lambda lb: lb[0])
    out = []
    for i, (p, pb) in enumerate(boxes):
        for q, qb in boxes[i + 1:]:
            if q == p:
                continue
            above = qb.y0 >= pb.y1 - tol
            beside = min(pb.y1, qb.y1) - max(pb.y0, qb.y0) > tol
            if above or (beside and qb.x1 <= pb.x0 + tol):
                out.append(f"panel letters out of order: {q} is read before {p} "
                           f"({'above' if above else 'left of'} it)")
    return list(dict.fromkeys(out))


def overlapping_texts(fig: Figure, texts: list[Text]) -> list[str]:
    """Pairs of texts whose boxes overlap by more than :data:`OVERLAP_PX` both ways."""
    renderer = fig.canvas.get_renderer()
    boxes = np.array([t.get_window_extent(renderer).extents for t in texts]).reshape(-1, 4)
    if not len(boxes):
        return []
    x0, y0, x1, y1 = boxes.T
    w = np.clip(np.minimum(x1[:, None], x1[None]) - np.maximum(x0[:, None], x0[None]), 0, None)
    h = np.clip(np.minimum(y1[:, None], y1[None]) - np.maximum(y0[:, None], y0[None]), 0, None)
    tol = OVERLAP_PX * fig.dpi / 100
    out = []
    for i, j in zip(*np.nonzero(np.triu((w > tol) & (h > tol), 1))):
        out.append(f"overlapping text: {_name(texts[i])} and {_name(texts[j])}")
    return out


def texts_over_panels(fig: Figure, texts: list[Text]) -> list[str]:
    """An axes' text (tick label, axis label, title, note) lying over another axes' plotting area."""
    renderer = fig.canvas.get_renderer()
    drawn = {id(t) for t in texts}
    out = []
    panels = [a for a in fig.axes if a.get_visible() and not hasattr(a, "_colorbar")]
    tol = OVERLAP_PX * fig.dpi / 100
    for owner in panels:
        family = set(owner.get_shared_x_axes().get_siblings(owner)) | set(owner.get_shared_y_axes().get_siblings(owner))
        own = [t for t in owner.findobj(Text) if id(t) in drawn]
        for other in panels:
            if other is owner or (other in family and other.bbox.overlaps(owner.bbox)):
                continue
            box = other.bbox
            for t in own:
                e = t.get_window_extent(renderer)
                w = min(e.x1, box.x1) - max(e.x0, box.x0)
                h = min(e.y1, box.y1) - max(e.y0, box.y0)
                if w > tol and h > tol:
                    out.append(f"text over another panel: {_name(t)} over axes "
                               f"{(other.get_title(loc='left') or other.get_title())[:30]!r}")
    return out


def _label_given(ax, axis: str) -> bool:
    """The axes, or an axes sharing this axis with it (a twin, a shared row/column), shows a label."""
    get = {"x": lambda a: a.get_xlabel(), "y": lambda a: a.get_ylabel(), "z": lambda a: a.get_zlabel()}[axis]
    if get(ax).strip():
        return True
    if axis == "z":
        return False
    group = (ax.get_shared_x_axes() if axis == "x" else ax.get_shared_y_axes()).get_siblings(ax)
    return any(get(a).strip() for a in group if a.get_visible())


def axes_problems(fig: Figure) -> list[str]:
    """Unlabelled axes, images without colour bar, empty panels (an exemption must say why)."""
    out = []
    # An image shares a colour bar with another one of the same colour map and limits.
    scales = {(im.get_cmap().name, im.get_clim()) for ax in fig.axes for im in ax.images if im.colorbar is not None}
    for k, ax in enumerate(fig.axes):
        if not ax.get_visible():
            continue
        name = f"axes {k} {(ax.get_title(loc='left') or ax.get_title())[:30]!r}"
        if hasattr(ax, "_colorbar"):
            if not (ax.get_ylabel().strip() or ax.get_xlabel().strip()):
                out.append(f"{name}: colour bar without label")
            continue
        has_data = ax.has_data() or bool(ax.texts) or bool(getattr(ax, "tables", []))
        if not has_data:
            out.append(f"{name}: empty panel")
            continue
        if exemption(ax):
            continue
        for im in ax.images:
            if im.colorbar is None and (im.get_cmap().name, im.get_clim()) not in scales:
                out.append(f"{name}: image without colour bar")
        if not (getattr(ax, "_axis3don", False) if ax.name == "3d" else ax.axison):
            if ax.images or ax.collections or ax.lines:
                out.append(f"{name}: data drawn without axes")
            continue
        for axis in ("x", "y", "z") if ax.name == "3d" else ("x", "y"):
            if not _label_given(ax, axis):
                out.append(f"{name}: no {axis} label")
    return out


def _chromatic(rgba) -> bool:
    r, g, b, a = rgba
    return a > 0.05 and max(r, g, b) - min(r, g, b) > 0.15


def _colours(ax) -> set[tuple]:
    """The distinct non-grey colours of an axes' bars, lines and few-coloured point sets."""
    out: set[tuple] = set()
    for p in ax.patches:
        if p.get_fill() and _chromatic(to_rgba(p.get_facecolor())):
            out.add(tuple(np.round(to_rgba(p.get_facecolor()), 2)))
    for line in ax.lines:
        if line.get_visible() and _chromatic(to_rgba(line.get_color())):
            out.add(tuple(np.round(to_rgba(line.get_color()), 2)))
    for coll in ax.collections:
        fc = np.unique(np.round(np.atleast_2d(coll.get_facecolor()), 2), axis=0)
        if coll.get_array() is None and len(fc) <= 10:
            out.update(tuple(c) for c in fc if _chromatic(c))
    return out


def colour_key_problems(fig: Figure) -> list[str]:
    """Axes drawing two or more colours with nothing saying what they mean: no legend (its own or the
    figure's), no colour bar, no text in those colours (direct labels)."""
    if fig.legends:
        return []
    out = []
    for k, ax in enumerate(fig.axes):
        if not ax.get_visible() or hasattr(ax, "_colorbar") or exemption(ax):
            continue
        if len(_colours(ax)) < 2 or ax.get_legend() is not None:
            continue
        texts = ax.texts + [ax.title, ax._left_title, ax.yaxis.label] + ax.get_xticklabels()  # noqa: SLF001
        if any(_chromatic(to_rgba(t.get_color())) for t in texts if t.get_text()):
            continue
        twins = ax.get_shared_x_axes().get_siblings(ax)
        if any(a.get_legend() is not None for a in twins):
            continue
        out.append(f"axes {k} {(ax.get_title(loc='left') or ax.get_title())[:30]!r}: colours without a legend")
    return out


def tag_problems(fig: Figure, texts: list[Text], simulated: bool) -> list[str]:
    """The data tag is there, says SIMULATED when the data are, and sits above every other text."""
    tag = find_tag(fig)
    if tag is None:
        return ["no data tag"]
    out = []
    if simulated and not is_simulated(tag.get_text()):
        out.append(f"data tag does not say SIMULATED: {tag.get_text()!r}")
    renderer = fig.canvas.get_renderer()
    top = tag.get_window_extent(renderer).y0
    above = [t for t in texts if t is not tag and t.get_window_extent(renderer).y1 > top + 1]
    out += [f"text above the data tag: {_name(t)}" for t in above]
    box = tag.get_window_extent(renderer)
    gap = 0.5 * tag.get_fontsize() * fig.dpi / 72  # clear of the box drawn round the tag (pad: a quarter line)
    for t in texts:
        e = t.get_window_extent(renderer)
        if t is not tag and t not in above and e.y1 > box.y0 - gap and min(e.x1, box.x1) > max(e.x0, box.x0):
            out.append(f"text touching the data tag: {_name(t)}")
    return out


def audit(fig: Figure, simulated: bool = True, printed: bool | None = None) -> list[str]:
    """Every problem found in ``fig`` (empty list: the figure passes). ``printed=False``: a figure for the
    screen only (a movie's frame, a recording's overview), whose page size and printed text size do not apply;
    ``None``: printed unless :func:`usvflow.figures.style.screen_only` marked it."""
    if printed is None:
        printed = not is_screen_only(fig)
    texts = drawn_texts(fig)
    fig._usvflow_text_owners = None  # noqa: SLF001 - drawn afresh: tick labels may be new objects
    tag = find_tag(fig)
    body = [t for t in texts if t is not tag]
    return ((page_problems(fig) + small_texts(fig, texts) if printed else []) + overlapping_texts(fig, body) + texts_over_panels(fig, body)
            + crowded_notes(fig, body) + axes_problems(fig) + colour_key_problems(fig) + letter_problems(fig)
            + tag_problems(fig, texts, simulated))
