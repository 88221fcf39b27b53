"""Network schematics (Ivanenko et al. 2020 Fig 3A, Fig 4A, F, J) drawn from the networks themselves.

Nothing here is typed in: every box is one layer of the trained network, read from its layer table
(:func:`usvflow.classify.models.describe_layers`, one row per Conv/Linear/BatchNorm/ReLU/Dropout module with
its kernel, stride, units and output shape). A plotting script loads a fold's saved network
(``load_model``), takes its layer table and passes it here, so a changed architecture in ``config.yaml``
changes the drawing. This module draws from those plain rows and imports no torch.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

from . import style

WEIGHTED = ("Conv1d", "Conv2d", "Linear")  # a box starts at each of these
FILL = {"input": "0.92", "conv": "#d1e5f0", "fc": "#fddbc7", "output": "#f4a582"}
EXTRA_SHORT = {"BatchNorm1d": "BN", "BatchNorm2d": "BN", "ReLU": "ReLU", "Dropout": "drop"}


def layer_groups(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Group a layer table into boxes: one per convolution or linear layer, with the batch norm, ReLU and
    dropout that follow it as ``extras``. Each group gets a ``name`` (conv1…, fc1…, output) counted in its
    own part of the network (``part``: the module path before the layer's index, e.g. ``conv``, ``fc``,
    ``stacks.1``), and ``parameters`` summed over the box's modules."""
    groups: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for r in rows:
        if r["layer"] in WEIGHTED:
            parts = str(r["block"]).split(".")
            part = ".".join(p for p in parts if not p.isdigit()) if parts[0] != "stacks" else ".".join(parts[:2])
            if r["block"] == "out":
                name, kind = "output", "output"
            else:
                counts[part] = counts.get(part, 0) + 1
                kind = "conv" if r["layer"].startswith("Conv") else "fc"
                name = f"{kind}{counts[part]}"
            groups.append({**r, "name": name, "kind": kind, "part": part, "extras": [],
                           "weights": int(r["parameters"]), "parameters": int(r["parameters"])})
        elif groups:
            groups[-1]["extras"].append(r["layer"])
            groups[-1]["parameters"] += int(r["parameters"])
    return groups


def box_label(group: dict[str, Any]) -> str:
    """The words in a layer's box: name, kernel and stride (conv), channels or units, output shape."""
    if group["kind"] == "conv":
        shape = str(group["output_shape"]).split("×", 1)
        return (f"{group['name']}\n{group['kernel']} /{group['stride'].split('×')[0]}\n{group['units']} ch"
                f"\n{shape[1] if len(shape) > 1 else shape[0]}")
    if group["kind"] == "output":
        n = int(group["units"])
        return f"output\n{n} unit{'s' if n > 1 else ''}\n{'sigmoid' if n == 1 else 'softmax'}"
    return f"{group['name']}\n{group['units']}\nunits"


def _draw_box(ax, x: float, y: float, text: str, kind: str, **kwargs: Any):
    kwargs = {"ha": "center", "va": "center", **kwargs}
    return ax.text(x, y, text, fontsize=7, linespacing=1.1,
                   bbox={"boxstyle": "round,pad=0.3", "fc": FILL[kind], "ec": "0.3", "lw": 0.6}, **kwargs)


def _arrowprops(**kwargs: Any) -> dict[str, Any]:
    return {"arrowstyle": "-|>", "lw": 0.6, "color": "0.3", "shrinkA": 3, "shrinkB": 3, "mutation_scale": 6,
            **kwargs}


def _arrow(ax, a, b) -> None:
    """An arrow from box ``a``'s right edge to box ``b``'s left edge (both text artists)."""
    ax.annotate("", xy=(0, 0.5), xycoords=b, xytext=(1, 0.5), textcoords=a, arrowprops=_arrowprops())


def _arrow_down(ax, a, b) -> None:
    """An arrow from box ``a``'s bottom edge to box ``b``'s top edge (a column of boxes, top to bottom)."""
    ax.annotate("", xy=(0.5, 1), xycoords=b, xytext=(0.5, 0), textcoords=a, arrowprops=_arrowprops())


def draw_chain(ax, start, groups: Sequence[dict[str, Any]], x0: float, x1: float, y: float) -> list:
    """Boxes for ``groups`` evenly spaced from ``x0`` to ``x1`` (axes fraction) at height ``y``, each joined
    to the previous one (``start``: the box the chain leaves from, or None). Returns the text artists."""
    n = len(groups)
    xs = [x0 + (x1 - x0) * i / max(n - 1, 1) for i in range(n)]
    drawn, prev = [], start
    for x, g in zip(xs, groups):
        t = _draw_box(ax, x, y, box_label(g), g["kind"])
        if prev is not None:
            _arrow(ax, prev, t)
        drawn.append(t)
        prev = t
    return drawn


def _extras_note(groups: Sequence[dict[str, Any]]) -> str:
    """One line on what follows each layer, e.g. 'conv: BN → ReLU; fc: BN → ReLU → drop'."""
    seen: dict[str, str] = {}
    for g in groups:
        if g["kind"] != "output" and g["kind"] not in seen:
            seen[g["kind"]] = " → ".join(EXTRA_SHORT.get(e, e) for e in g["extras"]) or "none"
    return "; ".join(f"each {k}: {v}" for k, v in seen.items())


def _finish(ax, title: str) -> None:
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_axis_off()
    ax.set_title(title)
    style.exempt(ax, "schematic of the network (no data axes)")


def _into_fc(groups: Sequence[dict[str, Any]]) -> str:
    """How the last convolution feeds the first fully connected layer: flattened, or averaged over positions
    (read from the first FC layer's number of inputs)."""
    convs = [g for g in groups if g["kind"] == "conv"]
    fcs = [g for g in groups if g["kind"] in ("fc", "output")]
    if not convs or not fcs:
        return ""
    n_in, last = n_inputs(fcs[0]), convs[-1]
    if n_in == int(last["units"]):
        return f"; {last['name']} averaged over positions → {n_in} values"
    return f"; {last['name']} flattened → {n_in} values"


def parameter_count(groups: Sequence[dict[str, Any]]) -> int:
    return sum(g["parameters"] for g in groups)


def draw_network(ax, rows: Sequence[dict[str, Any]], input_label: str, title: str, note: str = "") -> list:
    """A sequential network (the spectrogram CNN, the feature DNN) as one row of boxes, input at the left;
    below it what follows each layer and the number of trained parameters. Returns the box artists."""
    groups = layer_groups(rows)
    start = _draw_box(ax, 0.04, 0.64, input_label, "input")
    step = 0.92 / max(len(groups), 1)
    boxes = [start] + draw_chain(ax, start, groups, 0.04 + step, 0.96, 0.64)
    lines = [f"{_extras_note(groups)}{_into_fc(groups)}; {parameter_count(groups):,} parameters"] + ([note] if note else [])
    ax.text(0.0, 0.02, "\n".join(lines), ha="left", va="bottom", fontsize=7)
    _finish(ax, title)
    return boxes


def _next_top(ax, box, gap: float) -> float:
    """The axes fraction ``gap`` inches below ``box``'s frame (a text with a bbox: its padding included), where
    the next box of a column starts."""
    renderer = ax.figure.canvas.get_renderer()
    pad = 0.3 * box.get_fontsize() * ax.figure.dpi / 72  # the frame's padding (boxstyle pad=0.3), pixels
    y0 = box.get_window_extent(renderer).y0 - pad - gap * ax.figure.dpi
    return float(ax.transAxes.inverted().transform((0, y0))[1])


def output_label(task: str, k: int) -> str:
    """An output layer for a task of ``k`` values: a softmax over them, one sigmoid unit for two."""
    return f"{task}: {k}, " + ("sigmoid" if k == 2 else "softmax")


def draw_per_task(ax, rows: Sequence[dict[str, Any]], input_label: str, outputs: dict[str, int], title: str,
                  reference: str = "Fig 3A") -> list:
    """One network per task, each with the layers of ``rows`` before its own output layer (the CNN drawn in
    full in ``reference``), compactly from the top down: the input; one box with the number of convolutional
    and fully connected layers and their parameters, read from the layer table; one output box per task
    (``outputs``: task → number of values: a softmax over them, one sigmoid unit for 2). Returns the box
    artists."""
    groups = layer_groups(rows)
    hidden = [g for g in groups if g["kind"] != "output"]
    n_conv = sum(g["kind"] == "conv" for g in hidden)
    start = _draw_box(ax, 0.03, 0.99, input_label, "input", ha="left", va="top")
    body = _draw_box(ax, 0.03, _next_top(ax, start, 0.2),
                     f"layers of {reference}:\n{n_conv} conv + {len(hidden) - n_conv} fc,\n"
                     f"{parameter_count(hidden):,} parameters;\nthen its output layer:", "conv", ha="left", va="top")
    _arrow_down(ax, start, body)
    boxes, y = [start, body], _next_top(ax, body, 0.14)
    for task, k in outputs.items():
        t = _draw_box(ax, 0.1, y, output_label(task, int(k)), "output", ha="left", va="top")
        ax.annotate("", xy=(0, 0.5), xycoords=t, xytext=(0.06, 0), textcoords=body,
                    arrowprops=_arrowprops(connectionstyle="angle,angleA=90,angleB=0,rad=0"))
        boxes.append(t)
        y = _next_top(ax, t, 0.08)
    _finish(ax, title)
    return boxes


def n_inputs(group: dict[str, Any]) -> int:
    """Inputs of a fully connected layer: its weights ÷ its units (the hidden layers carry no bias, batch norm
    follows them; the output layer's bias adds one per unit)."""
    units = int(group["units"])
    bias = units if group["kind"] == "output" else 0
    return (group["weights"] - bias) // units


def _stack_label(group: dict[str, Any]) -> str:
    """A 1-D convolution's box: its output, channels × length (kernel and stride head its column)."""
    return str(group["output_shape"])


def _column_head(column: Sequence[dict[str, Any]]) -> str:
    """A column of 1-D convolutions: name, kernel and stride, shared by the stacks (else per stack)."""
    kinds = {(g["kernel"], g["stride"]) for g in column}
    if len(kinds) == 1:
        k, st = kinds.pop()
        return f"{column[0]['name']}\nk{k} /{st}"
    return f"{column[0]['name']}\n" + ", ".join(f"k{g['kernel']} /{g['stride']}" for g in column)


def draw_semiconv(ax, rows: Sequence[dict[str, Any]], vectors: Sequence[tuple[str, int]], n_features: int,
                  title: str) -> list:
    """The semi-convolutional DNN: one row of 1-D convolutions per input vector (``vectors``: name and
    length, in the network's order), joined with the ``n_features`` single-value features into the fully
    connected head, drawn as a column from the top down at the right (the paper's Fig 4J). Each convolution's
    box gives its output (channels × length), its column's head the layer's name, kernel and stride.
    Returns the box artists: per vector its input and convolutions, the features, the join, the head."""
    groups = layer_groups(rows)
    stacks = sorted({g["part"] for g in groups if g["part"].startswith("stacks.")}, key=lambda p: int(p.split(".")[1]))
    head = [g for g in groups if not g["part"].startswith("stacks.")]
    n_rows = len(stacks) + 1
    ys = [0.79 - 0.6 * i / max(n_rows - 1, 1) for i in range(n_rows)]
    mid = sum(ys) / len(ys)
    left, join_x, head_x = 0.06, 0.8, 0.94
    chains = [[g for g in groups if g["part"] == part] for part in stacks]
    depth = max((len(c) for c in chains), default=0)
    xs = [0.2 + (join_x - 0.125 - 0.2) * j / max(depth - 1, 1) for j in range(depth)]
    for j, x in enumerate(xs):  # column heads: the layer's name, kernel and stride
        ax.text(x, ys[0] + 0.1, _column_head([c[j] for c in chains if len(c) > j]), ha="center", va="bottom",
                fontsize=7)
    ends, boxes = [], []
    for i, chain in enumerate(chains):
        name, length = vectors[i] if i < len(vectors) else (stacks[i], "?")
        words = "\n".join(textwrap.wrap(str(name), 9, break_long_words=False))
        prev = start = _draw_box(ax, left, ys[i], f"{words}\n1×{length}", "input")
        boxes.append(start)
        for x, g in zip(xs, chain):
            t = _draw_box(ax, x, ys[i], _stack_label(g), "conv")
            _arrow(ax, prev, t)
            boxes.append(t)
            prev = t
        ends.append(prev)
    feats = _draw_box(ax, 0.01, ys[-1], f"{n_features} single-value\nfeatures", "input", ha="left")
    join = _draw_box(ax, join_x, mid, f"join\n{n_inputs(head[0])}\nvalues", "input")
    for e in ends:
        _arrow(ax, e, join)
    # the features go round below the convolutions, into the join from beneath
    ax.annotate("", xy=(0.5, 0), xycoords=join, xytext=(1, 0.5), textcoords=feats,
                arrowprops=_arrowprops(connectionstyle="angle,angleA=0,angleB=90,rad=0"))
    # the head: a column from the top down, beside the join
    step = 0.2
    hy = [mid + step * ((len(head) - 1) / 2 - k) for k in range(len(head))]
    column = [_draw_box(ax, head_x, y, box_label(g), g["kind"]) for y, g in zip(hy, head)]
    if column:
        ax.annotate("", xy=(0, 0.5), xycoords=column[0], xytext=(0.5, 1), textcoords=join,
                    arrowprops=_arrowprops(connectionstyle="angle,angleA=90,angleB=0,rad=0"))
    for a, b in zip(column, column[1:]):
        _arrow_down(ax, a, b)
    boxes += [feats, join] + column
    ax.text(0.0, 0.0, f"{_extras_note(groups)}; {parameter_count(groups):,} parameters\n"
            "conv boxes: channels × length of their output", ha="left", va="bottom", fontsize=7)
    _finish(ax, title)
    return boxes
