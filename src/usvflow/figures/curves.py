"""Fig 3B: the learning curves of the leave-one-animal-out sex CNN.

A held-out animal's calls are all of one sex, so one fold's test accuracy is the share of its calls called
that sex: a network that drifts towards "male" gains on a male fold and loses on a female one, and a single
fold's curve follows that output bias rather than learning. The panel therefore shows every fold's test
accuracy (thin, in the held-out animal's sex colour) and their sex-balanced mean — the mean of the female
folds' mean and the male folds' mean, 50 % for any constant output — with the training loss and the weight
change of the representative fold below it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import style
from .features import FEMALE, MALE

SEX_COLOUR = {"F": FEMALE, "M": MALE}
BALANCED, LOSS, CHANGE = "#8b0000", "0.2", "#e377c2"
HEADROOM = 0.45  # of a B (lower) y range, added above the curves for the fold's name


def balanced_curve(curves: pd.DataFrame, n: int = 60) -> pd.DataFrame:
    """The sex-balanced test accuracy over iterations: each fold's curve (``iteration``, ``test_accuracy``,
    ``animal``, ``sex``) interpolated on a common grid up to the shortest fold's last record, averaged within
    each sex, then the two sexes' means averaged. Empty when a sex has no fold."""
    if not len(curves) or set(curves["sex"]) < {"F", "M"}:
        return pd.DataFrame(columns=["iteration", "balanced_accuracy"])
    last = curves.groupby("animal")["iteration"].max().min()
    grid = np.linspace(curves["iteration"].min(), last, n)
    per_sex = {}
    for sex, d in curves.groupby("sex"):
        per_sex[sex] = np.mean([np.interp(grid, f["iteration"], f["test_accuracy"])
                                for _, f in d.sort_values("iteration").groupby("animal")], axis=0)
    return pd.DataFrame({"iteration": grid, "balanced_accuracy": (per_sex["F"] + per_sex["M"]) / 2})


def learning_curve_panels(fig, spec, curve: pd.DataFrame, curves: pd.DataFrame | None, curve_label: str) -> None:
    """B (top): test accuracy per held-out animal and the sex-balanced mean; B (bottom): the training loss
    and the weight change per iteration of ``curve`` (the representative fold, ``curve_label``)."""
    grid = spec.subgridspec(2, 1, hspace=0.25, height_ratios=[1.3, 1])
    top = fig.add_subplot(grid[0])
    bottom = fig.add_subplot(grid[1], sharex=top)
    curves = curves if curves is not None else pd.DataFrame(columns=["iteration", "test_accuracy", "animal", "sex"])
    for (animal, sex), d in curves.groupby(["animal", "sex"]):
        top.plot(d["iteration"], 100 * d["test_accuracy"], color=SEX_COLOUR.get(sex, "0.5"), lw=0.5, alpha=0.6)
    bal = balanced_curve(curves)
    handles = []
    for sex, name in (("F", "female"), ("M", "male")):
        if (curves["sex"] == sex).any():
            handles.append(top.plot([], [], color=SEX_COLOUR[sex], lw=0.8, label=f"held-out {name} (one each)")[0])
    if len(bal):
        handles.append(top.plot(bal["iteration"], 100 * bal["balanced_accuracy"], color=BALANCED, lw=1.5,
                                label="sex-balanced mean")[0])
    top.axhline(50, color="0.6", lw=0.6, ls="--")
    top.set_ylim(0, 100)
    top.set_yticks([0, 50, 100])
    top.tick_params(labelbottom=False)
    style.label_axes(top, None, "test accuracy", y_unit="%")
    # the key below the panel, where it covers no curve
    bottom.legend(handles=handles, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.5), handlelength=1.2,
                  borderaxespad=0.0)
    top.set_title("B  learning curves (test set of a\nfold: one animal, so one sex)")
    if len(curve):
        bottom.plot(curve["iteration"], curve["train_loss"] if "train_loss" in curve else np.nan, color=LOSS, lw=1,
                    label="training loss")
        twin = bottom.twinx()
        twin.plot(curve["iteration"], curve["weight_change"], color=CHANGE, lw=1)
        twin.set_ylabel("|Δw| / iteration", color=CHANGE)
        twin.spines["right"].set_visible(True)
    style.label_axes(bottom, "iteration", "train loss")
    if curve_label:
        # The fold's name in a band above both curves (loss and weight change): headroom on both y axes.
        for a in [bottom, *([twin] if len(curve) else [])]:
            lo, hi = a.get_ylim()
            a.set_ylim(lo, hi + HEADROOM * (hi - lo))
        bottom.text(0.98, 0.97, f"one fold: {curve_label}", transform=bottom.transAxes, ha="right", va="top")
