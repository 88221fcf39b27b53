"""Detection figures: one recording's overview with its calls boxed, and the detection benchmark."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..detect.calls import Detections
from . import style


def plot_overview(det: Detections, out_png: str | Path, title: str | None = None, note: str | None = None) -> None:
    """A PNG of the whole recording's coarse spectrogram with each detection drawn as a box, a colour bar and a
    key; ``note``: a data notice (``planning.data_notice(...)["caption"]``, the extraction rule's
    ``params.data``) for the data tag above the title ("SIMULATED data ..." on the simulated cohort). A screen
    image as wide as the recording is long (:func:`usvflow.figures.style.screen_only`): audited like every
    figure, but for its page size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if det.overview is None:
        raise ValueError("run detect_file(..., overview=True) to build the overview")
    ov = det.overview
    width = float(np.clip(det.duration_s / 2.0, 10, 40))
    fig, ax = plt.subplots(figsize=(width, 4))
    style.screen_only(fig, "a recording's overview for checking detections on screen, as wide as it is long")
    img = ov.image
    finite = img[np.isfinite(img)]
    vmin, vmax = (np.percentile(finite, [20, 99.9]) if finite.size else (0, 1))
    im = ax.imshow(img, origin="lower", aspect="auto", cmap="gray_r", vmin=vmin, vmax=vmax,
                   extent=(ov.t_edges[0], ov.t_edges[1], ov.f_edges[0] / 1e3, ov.f_edges[1] / 1e3),
                   interpolation="nearest")
    for on, off, lo, hi in det.calls[["onset_s", "offset_s", "f_min_hz", "f_max_hz"]].to_numpy():
        ax.add_patch(plt.Rectangle((on, lo / 1e3 - 1), off - on, (hi - lo) / 1e3 + 2, fill=False,
                                   edgecolor="tab:red", linewidth=0.8))
    ax.plot([], [], color="tab:red", lw=0.8, label="detected call (time × frequency extent)")
    ax.legend(loc="upper right", frameon=True, fontsize=9)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency (kHz)")
    ax.set_title(title or f"{len(det.calls)} calls ({det.method} detector)")
    style.colorbar(fig, im, ax, "mean power per pixel", "dB", fraction=0.02)
    # The tag above the canvas is drawn at a size that grows with the image's width (9 pt at print width);
    # half a tag line between the canvas top and the title keeps the box round the tag off the title, which
    # a wide image (a 90 s recording: 40 in, a 48-pt tag) would otherwise touch.
    clear = (0.5 * style.fontsize_for(fig, 9) + 2.0) / 72 / fig.get_figheight() if note else 0.0
    fig.tight_layout(rect=(0, 0, 1, 1 - clear))
    Path(out_png).parent.mkdir(parents=True, exist_ok=True)
    if note:
        style.add_data_tag(fig, note)
    fig.savefig(out_png, dpi=100, bbox_inches="tight")
    plt.close(fig)


#: How the figure marks a score whose settings were chosen on the scored clips, or chosen leave-one-clip-out
#: (the table's ``evaluation`` column, set in :mod:`usvflow.detect.evaluate`); independent scores stay plain.
EVALUATION_MARK = {"in-sample": "in-sample", "leave-one-clip-out": "LOCO"}


def tool_label(tool: str, evaluation: str) -> str:
    """A tool's label in the benchmark figure: its name, with ``(in-sample)`` where its settings were chosen on
    the very clips it is scored on and ``(LOCO)`` where they were chosen on the other clips, so that neither
    reads as an independent tool's score beside the published tools."""
    mark = EVALUATION_MARK.get(evaluation)
    return f"{tool} ({mark})" if mark else tool


@style.styled
def plot_benchmark(table: pd.DataFrame, out_pdf: str | Path) -> None:
    """F1 of every tool on the real clips (per clip and pooled; our default detector with its shipped
    settings and with settings chosen leave-one-clip-out, "LOCO"), their timing precision (pooled F1 at IoU 0.3
    and 0.5, median onset and offset errors), and our detectors on the simulated cohort per noise condition,
    recording condition and call type. The data tag (real clips and, where present, the simulated cohort) is
    added when the figure is saved (:func:`usvflow.figures.style.script_figures`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = table.copy()
    if "evaluation" not in table:
        table["evaluation"] = "in-sample"
    table["label"] = [tool_label(t, e) for t, e in zip(table["tool"], table["evaluation"])]
    real = table[table.dataset != "simulated"]
    sim = table[table.dataset == "simulated"]
    fig, axes = plt.subplots(2, 2, figsize=(style.PRINT_WIDTH_IN, 7.55), squeeze=False,  # + tag, title: 8.75 in
                             gridspec_kw={"hspace": 1.0, "wspace": 0.5, "top": 0.95, "bottom": 0.13,
                                          "left": 0.08, "right": 0.91})
    tool_axis = "tool (in-sample: settings chosen on these clips;\nLOCO: chosen leave-one-clip-out)"
    ax = axes[0, 0]
    piv = real[real.criterion == "iou0.3"].pivot_table(index="label", columns="subset", values="f1")
    if "pooled" in piv:
        piv = piv.sort_values("pooled", ascending=False)
    order = [c for c in piv.columns if c != "pooled"] + (["pooled"] if "pooled" in piv.columns else [])
    piv = piv[order]
    x = np.arange(len(piv.index))
    # the mark on a line of its own: the rotated labels stay as short as the tools' names, clear of C's title
    ticks = [lab.replace(" (", "\n(") for lab in piv.index]
    w = 0.8 / max(1, len(order))
    for k, col in enumerate(order):
        ax.bar(x + (k - (len(order) - 1) / 2) * w, piv[col], w, label=col,
               color="k" if col == "pooled" else None, alpha=1 if col == "pooled" else 0.7)
    ov = real[(real.criterion == "overlap") & (real.subset == "pooled")].set_index("label")["f1"]
    ax.scatter(x + (len(order) - 1) / 2 * w, ov.reindex(piv.index), marker="_", s=120, color="tab:red",
               zorder=3, label="pooled, any overlap")
    ax.set_xticks(x, ticks, rotation=90)
    ax.set_ylim(0, 1.45)
    ax.set_yticks(np.arange(0, 1.01, 0.2))
    style.label_axes(ax, tool_axis, "F1 (one-to-one, IoU ≥ 0.3)")
    ax.xaxis.label.set_x(1.0)
    ax.xaxis.label.set_horizontalalignment("right")
    ax.set_title(f"A  real clips ({', '.join(sorted(real.dataset.unique()))}),\nhuman truth")
    ax.legend(ncol=3, loc="upper center", handlelength=1.0, columnspacing=0.8)

    ax = axes[0, 1]
    pooled = real[real.subset == "pooled"]
    f1 = pooled.pivot_table(index="label", columns="criterion", values="f1").reindex(piv.index)
    err = pooled[pooled.criterion == "iou0.3"].set_index("label")[["onset_err_ms", "offset_err_ms"]].reindex(piv.index)
    for k, (crit, name) in enumerate([("iou0.3", "IoU ≥ 0.3"), ("iou0.5", "IoU ≥ 0.5")]):
        if crit in f1:
            ax.bar(x + (k - 0.5) * 0.35, f1[crit], 0.35, label=f"F1, {name}", alpha=0.8)
    ax.set_ylim(0, 1.45)
    ax.set_yticks(np.arange(0, 1.01, 0.2))
    style.label_axes(ax, "tool", "pooled F1")
    ax.set_xticks(x, ticks, rotation=90)
    ax2 = ax.twinx()
    ax2.plot(x, err["onset_err_ms"], "v", color="tab:red", label="median |onset error|")
    ax2.plot(x, err["offset_err_ms"], "^", color="tab:purple", label="median |offset error|")
    ax2.set_ylabel("median |error| of matched calls (ms)")
    ax2.set_ylim(0, max(1.0, float(np.nanmax(err.to_numpy(float)) if err.notna().any().any() else 1.0)) * 1.7)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, ncol=2, loc="upper center", handlelength=1.0, columnspacing=0.8)
    ax.set_title("B  timing precision on the real clips\n(pooled)")

    panels = [("noise:", "C  simulated: by noise overlapping\nthe call and recording condition", axes[1, 0],
               ("condition:",), "noise / recording condition"),
              ("type:", "D  simulated: by call type", axes[1, 1], (), "call type")]
    for prefix, title, ax, also, xlabel in panels:
        if not len(sim):
            ax.set_axis_off()
            continue
        wanted = sim.subset.str.startswith(prefix) | (sim.subset == "pooled")
        for extra in also:
            wanted |= sim.subset.str.startswith(extra)
        part = sim[(sim.criterion == "iou0.3") & wanted & ~sim.subset.str.endswith("no call")]
        piv_s = part.pivot_table(index="subset", columns="tool", values="f1")
        xs = np.arange(len(piv_s.index))
        ws = 0.8 / max(1, len(piv_s.columns))
        for k, tool in enumerate(piv_s.columns):
            ax.bar(xs + (k - (len(piv_s.columns) - 1) / 2) * ws, piv_s[tool], ws, label=tool)
        ax.set_xticks(xs, [s.replace(prefix, "").replace("condition:", "recording: ") for s in piv_s.index], rotation=90)
        ax.set_ylim(0, 1.3)
        ax.set_yticks(np.arange(0, 1.01, 0.2))
        style.label_axes(ax, xlabel, "F1 (one-to-one, IoU ≥ 0.3)")
        ax.set_title(title)
        ax.legend(ncol=2, loc="upper center", handlelength=1.0, columnspacing=0.8)
    style.add_title(fig, "Detection benchmark", "Our detectors and published tools against human annotations")
    Path(out_pdf).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_pdf, metadata={"CreationDate": None})  # no timestamp: the same table gives the same bytes
    plt.close(fig)
