"""The accuracy of a per-recording decision against the number of calls it is made from (figures/aggregation.pdf)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..report.attribution import MODEL_LABELS  # noqa: E402
from . import style  # noqa: E402

COLOURS = {"cnn": "#b2182b", "dnn9": "#ef8a62", "ridge": "#2166ac", "svm": "#1a9850"}
# The task's other models, in grey, each with its own marker so that the key can name it.
GREY, GREY_MARKERS = "0.6", ["s", "^", "v", "D", "P", "X", "<", ">"]
KEY_COLUMNS = 3


def band_note(table: pd.DataFrame, band_model: str) -> str:
    """What the shading and the grey lines are (the figure's note)."""
    n = {t: int(g["n_animals"].max()) for t, g in table.groupby("task") if g["n_animals"].notna().any()}
    animals = ", ".join(f"{v} in {t}" for t, v in n.items())
    label = MODEL_LABELS.get(band_model, band_model)
    return (f"Shaded: the {label}'s per-recording accuracy ± 1 SEM over the held-out animals ({animals}); the other "
            "models' SEM (aggregation.csv, column sem) are not shaded: their bands would cover each other. Grey: the "
            "task's other models, each named in the key.")


@style.styled
def plot_aggregation(table: pd.DataFrame, models: list[str], note: str) -> plt.Figure:
    """One panel per task: per-recording accuracy (mean over held-out animals) against the number of calls, for
    ``models`` in colour and the task's other models in grey, each named in the key; the first of ``models``
    (the CNN) shaded ± 1 SEM over the held-out animals, as the note under the figure says. "all" (a thin
    vertical line) is drawn at the median number of calls per animal. Dotted: the mean posterior of the CNN's
    decisions (calibrated when it follows the accuracy). ``note`` (the data notice) is kept for the callers:
    the data tag is added when the figure is saved (:func:`usvflow.figures.style.script_figures`)."""
    tasks = sorted(table["task"].unique())
    ncols = min(2, max(1, len(tasks)))
    nrows = int(np.ceil(max(1, len(tasks)) / ncols))
    band_model = next((m for m in models if m in set(table["model"])), None)
    others = sorted(set(table["model"]) - set(models), key=lambda m: MODEL_LABELS.get(m, m))
    # the key above the panels: every model drawn, the CNN's band and posterior, chance and 90 %
    entries = len(set(table["model"])) + (band_model is not None) + ("cnn" in set(table["model"])) + 2
    key_rows = int(np.ceil(entries / KEY_COLUMNS))
    head = 0.3 + 0.14 * key_rows  # inches above the panels' titles: the key
    height = head + 0.45 + 3.0 * nrows
    fig, axes = plt.subplots(nrows, ncols, figsize=(style.PRINT_WIDTH_IN, height), squeeze=False,
                             sharey=True, gridspec_kw={"wspace": 0.12, "hspace": 0.6, "left": 0.09, "right": 0.98,
                                                       "top": 1 - head / height, "bottom": 0.45 / height})
    marker = {m: GREY_MARKERS[i % len(GREY_MARKERS)] for i, m in enumerate(others)}
    handles: dict[str, object] = {}
    for k, (ax, task) in enumerate(zip(axes.flat, tasks)):
        sub = table[table["task"] == task]
        for model, g in sub.groupby("model"):
            x = np.where(g["n_calls"] == "all", g["n_calls_used"], pd.to_numeric(g["n_calls"], errors="coerce"))
            order = np.argsort(x)
            x, y, e = x[order], g["accuracy"].to_numpy()[order], g["sem"].to_numpy()[order]
            main = model in models
            colour = COLOURS.get(model, "0.3") if main else GREY
            label = MODEL_LABELS.get(model, model)
            handles[label] = ax.plot(x, y, "-", marker="o" if main else marker[model], color=colour,
                                     lw=1.8 if main else 0.8, ms=3, zorder=3 if main else 1)[0]
            if model == band_model:
                band = ax.fill_between(x, y - e, y + e, color=colour, alpha=0.15, lw=0)
                handles[f"{label} ± 1 SEM (animals)"] = band
            if model == "cnn" and g["mean_posterior"].notna().any():
                handles["CNN: mean posterior"] = ax.plot(x, g["mean_posterior"].to_numpy()[order], ":",
                                                         color=colour, lw=1.2)[0]
        last = sub.loc[sub["n_calls"] == "all", "n_calls_used"]
        if len(last):  # one mark for "all calls" (the same count for every model), not one label per line
            ax.axvline(float(last.median()), color="0.8", lw=0.8, zorder=0)
            ax.text(float(last.median()), 0.42, "all calls ", ha="right", va="bottom", color="0.4")
        ax.axhline(0.5, color="0.5", lw=0.8)
        ax.axhline(0.9, color="0.3", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.set_ylim(0.4, 1.02)
        style.label_axes(ax, "calls per recording (random calls of a held-out animal)",
                         "per-recording accuracy" if ax in axes[:, 0] else None)
        ax.set_title(f"{chr(ord('A') + k)}  {task}: leave-one-animal-out, {int(sub['n_animals'].max())} animals")
    for ax in axes.flat[len(tasks):]:
        ax.set_visible(False)
    handles["chance"] = plt.Line2D([], [], color="0.5", lw=0.8)
    handles["90 %"] = plt.Line2D([], [], color="0.3", lw=0.8, ls="--")
    # the coloured models first, then the grey ones (the key names every line), then the reference lines
    keys = ([k for k in handles if k in {MODEL_LABELS.get(m, m) for m in models}]
            + [k for k in handles if k.startswith(MODEL_LABELS.get(band_model or "", "?")) and k not in
               {MODEL_LABELS.get(m, m) for m in models}]
            + [k for k in handles if k in {MODEL_LABELS.get(m, m) for m in others}]
            + ["chance", "90 %"])
    keys = list(dict.fromkeys(keys))
    fig.legend([handles[k] for k in keys], keys, loc="upper right", ncol=KEY_COLUMNS, frameon=False,
               bbox_to_anchor=(1.0, 1.0), handlelength=1.6, columnspacing=1.0)
    style.add_title(fig, "Aggregation", "Accuracy per recording as more calls of one animal are pooled")
    if band_model is not None:
        style.add_note(fig, band_note(table, band_model), width=135, color="k")
    return fig
