"""The accuracy of a per-recording decision against the number of calls it is made from (figures/aggregation.pdf)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..report.attribution import MODEL_LABELS  # noqa: E402

COLOURS = {"cnn": "#b2182b", "dnn9": "#ef8a62", "ridge": "#2166ac", "svm": "#1a9850"}


def plot_aggregation(table: pd.DataFrame, models: list[str], note: str) -> plt.Figure:
    """One panel per task: per-recording accuracy (mean ± SEM over held-out animals) against the number of
    calls, for ``models`` (others in grey); "all" is drawn at the median number of calls per animal. Dotted:
    the mean posterior of the CNN's decisions (calibrated when it follows the accuracy)."""
    tasks = sorted(table["task"].unique())
    fig, axes = plt.subplots(1, max(1, len(tasks)), figsize=(5.2 * max(1, len(tasks)), 4.2), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        sub = table[table["task"] == task]
        for model, g in sub.groupby("model"):
            x = np.where(g["n_calls"] == "all", g["n_calls_used"], pd.to_numeric(g["n_calls"], errors="coerce"))
            order = np.argsort(x)
            x, y, e = x[order], g["accuracy"].to_numpy()[order], g["sem"].to_numpy()[order]
            main = model in models
            colour = COLOURS.get(model, "0.6") if main else "0.75"
            ax.plot(x, y, "-o", color=colour, lw=1.8 if main else 0.8, ms=3, label=MODEL_LABELS.get(model, model)
                    if main else None, zorder=3 if main else 1)
            if main:
                ax.fill_between(x, y - e, y + e, color=colour, alpha=0.15, lw=0)
            if model == "cnn" and g["mean_posterior"].notna().any():
                ax.plot(x, g["mean_posterior"].to_numpy()[order], ":", color=colour, lw=1.2,
                        label="CNN: mean posterior")
            last = g[g["n_calls"] == "all"]
            if main and len(last):
                ax.annotate("all", (float(last["n_calls_used"].iloc[0]), float(last["accuracy"].iloc[0])),
                            textcoords="offset points", xytext=(4, -10), fontsize=7, color=colour)
        ax.axhline(0.5, color="0.5", lw=0.8)
        ax.axhline(0.9, color="0.3", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.set_ylim(0.4, 1.02)
        ax.set_xlabel("calls per recording (random calls of a held-out animal)")
        ax.set_ylabel("per-recording accuracy")
        ax.set_title(f"{task}: leave-one-animal-out, {int(sub['n_animals'].max())} animals")
        ax.legend(fontsize=7, loc="lower right")
    fig.text(0.01, 0.01, note, fontsize=7, color="0.3")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig
