"""Detection figures: one recording's overview with its calls boxed, and the detection benchmark."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..detect.calls import Detections


def plot_overview(det: Detections, out_png: str | Path, title: str | None = None) -> None:
    """A PNG of the whole recording's coarse spectrogram with each detection drawn as a box."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if det.overview is None:
        raise ValueError("run detect_file(..., overview=True) to build the overview")
    ov = det.overview
    width = float(np.clip(det.duration_s / 2.0, 10, 40))
    fig, ax = plt.subplots(figsize=(width, 4))
    img = ov.image
    finite = img[np.isfinite(img)]
    vmin, vmax = (np.percentile(finite, [20, 99.9]) if finite.size else (0, 1))
    ax.imshow(img, origin="lower", aspect="auto", cmap="gray_r", vmin=vmin, vmax=vmax,
              extent=(ov.t_edges[0], ov.t_edges[1], ov.f_edges[0] / 1e3, ov.f_edges[1] / 1e3),
              interpolation="nearest")
    for on, off, lo, hi in det.calls[["onset_s", "offset_s", "f_min_hz", "f_max_hz"]].to_numpy():
        ax.add_patch(plt.Rectangle((on, lo / 1e3 - 1), off - on, (hi - lo) / 1e3 + 2, fill=False,
                                   edgecolor="tab:red", linewidth=0.8))
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency (kHz)")
    ax.set_title(title or f"{len(det.calls)} calls ({det.method} detector)")
    fig.tight_layout()
    Path(out_png).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=100)
    plt.close(fig)


def plot_benchmark(table: pd.DataFrame, out_pdf: str | Path) -> None:
    """F1 of every tool on the real clips (per clip and pooled, both criteria) and of our detectors on
    the simulated cohort per noise condition and call type."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    real = table[table.dataset != "simulated"]
    sim = table[table.dataset == "simulated"]
    ncols = 3 if len(sim) else 1
    fig, axes = plt.subplots(1, ncols, figsize=(6 * ncols, 4.5), squeeze=False)
    ax = axes[0, 0]
    piv = real[real.criterion == "iou0.3"].pivot_table(index="tool", columns="subset", values="f1")
    if "pooled" in piv:
        piv = piv.sort_values("pooled", ascending=False)
    order = [c for c in piv.columns if c != "pooled"] + (["pooled"] if "pooled" in piv.columns else [])
    piv = piv[order]
    x = np.arange(len(piv.index))
    w = 0.8 / max(1, len(order))
    for k, col in enumerate(order):
        ax.bar(x + (k - (len(order) - 1) / 2) * w, piv[col], w, label=col,
               color="k" if col == "pooled" else None, alpha=1 if col == "pooled" else 0.7)
    ov = real[(real.criterion == "overlap") & (real.subset == "pooled")].set_index("tool")["f1"]
    ax.scatter(x + (len(order) - 1) / 2 * w, ov.reindex(piv.index), marker="_", s=200, color="tab:red",
               zorder=3, label="pooled, any overlap")
    ax.set_xticks(x, piv.index, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("F1 (one-to-one, IoU >= 0.3)")
    ax.set_title(f"real clips ({', '.join(sorted(real.dataset.unique()))}), human truth")
    ax.legend(fontsize=7, ncol=2, loc="lower left")
    for i, (prefix, title) in enumerate([("noise:", "simulated: by noise overlapping the call"),
                                         ("type:", "simulated: by call type")], start=1):
        if not len(sim):
            break
        ax = axes[0, i]
        part = sim[(sim.criterion == "iou0.3") & (sim.subset.str.startswith(prefix) | (sim.subset == "pooled"))
                   & ~sim.subset.str.endswith("no call")]  # false positives on no call: no F1 to draw
        piv = part.pivot_table(index="subset", columns="tool", values="f1")
        x = np.arange(len(piv.index))
        w = 0.8 / max(1, len(piv.columns))
        for k, tool in enumerate(piv.columns):
            ax.bar(x + (k - (len(piv.columns) - 1) / 2) * w, piv[tool], w, label=tool)
        ax.set_xticks(x, [s.replace(prefix, "") for s in piv.index], rotation=40, ha="right")
        ax.set_ylim(0, 1.05)
        ax.set_title(title)
        ax.legend(fontsize=7, loc="lower left")
    fig.suptitle("Detection benchmark (simulated panels: default simulated cohort, see config.yaml)", fontsize=9)
    fig.tight_layout()
    Path(out_pdf).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_pdf)
    plt.close(fig)
