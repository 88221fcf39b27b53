"""The truth ceiling: how well the simulator's own per-call parameters tell the groups apart.

Every model of Figs 3-5 reads the group from a call's image or its measured features. On simulated data the
generator's parameters of each call are known (``results/simulated/truth/{recording}.calls.csv``), so the
accuracy they allow under the same protocol is the information actually put into the calls: a model near it
recovers what was put in; a model far above it uses something else (recording conditions).

Inputs (from the truth; only what the generator drew per call, never the recording's conditions):

* ``parameters``: duration, start / end / min / max / mean frequency of the fundamental, its bandwidth, the
  call's source level (its level at the reference distance before the recorder's gain: the truth's level minus
  the distance loss and the recording's gain), the scored properties (direction, peaks, breaks, broadband,
  tremolo, complexity), the harmonic's amplitude and whether there is one, the broadband component's band
  width and duration, and the call type (one column per type). Left out: where the call falls in the
  recording, the level at the microphone and the SNR (distance, gain, noise floor), the faint condition, its
  fades and clipping: recording-level nuisance, balanced across groups by design (:mod:`usvflow.simulate.plan`).
* ``feat9``: the truth's version of the paper's 9 features (duration, mean frequency, source level as the
  volume, the 6 properties): what Fig 4G/H's models could reach with perfect measurement.

Protocol: exactly the classical stage's (:func:`usvflow.classify.classical.run_fold`): leave-one-animal-out,
class-balanced training sets, inputs z-scored on the training calls, ridge (primal) and the linear SVM with the
regularisation chosen by nested leave-one-animal-out over the configured grid. The ceiling of a task is the
better of the two models' mean held-out accuracy, per input; every number is kept. It covers every generated
call (also those the detector missed): the information in the calls, not in the detections.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from ..features.columns import PROPERTIES
from ..simulate.plan import CALL_TYPES
from .classical import run_fold
from .classical_tasks import encode_labels

#: Per-call columns of the truth that enter the ceiling as they are.
TRUTH_NUMERIC = ["duration_s", "f_start_hz", "f_end_hz", "f_min_hz", "f_max_hz", "f_mean_hz", *PROPERTIES,
                 "harmonic_amp"]
#: The truth's version of the paper's 9 features (FEATURES_9 order: duration, mean frequency, volume, properties).
TRUTH_FEAT9 = ["duration_s", "f_mean_hz", "source_level_db", *PROPERTIES]
#: Model name → the classical stage's estimator it runs (ridge in primal form; linear SVM), see MODELS there.
CEILING_MODELS = {"ridge": "ridge_feat9", "svm": "svm_feat9"}
INPUT_NAMES = {"parameters": "all per-call parameters the generator drew",
               "feat9": "the true values of the 9 features"}


def call_parameters(calls: pd.DataFrame, recordings: pd.DataFrame, reference_m: float) -> pd.DataFrame:
    """The per-call parameters of the truth (one row per generated call, the truth's order) with ``animal``,
    ``recording`` and the label columns kept; ``recordings``: the truth's ``recordings.tsv`` (``gain_db``)."""
    need = {"recording", "animal", "duration_s", "level_dbfs", "distance_m", "call_type", *TRUTH_NUMERIC}
    missing = need - set(calls.columns)
    if missing:
        raise InputError("truth calls", f"lacks column(s) {', '.join(sorted(missing))}")
    gain = recordings.set_index("recording")["gain_db"]
    unknown = sorted(set(calls["recording"]) - set(gain.index))
    if unknown:
        raise InputError("truth recordings.tsv", f"has no gain_db for recording(s) {', '.join(unknown[:3])}")
    out = calls[["recording", "animal"] + [c for c in ("sex", "strain", "cohort") if c in calls]].copy()
    for c in TRUTH_NUMERIC:
        out[c] = calls[c].astype(float)
    out["bandwidth_hz"] = calls["f_max_hz"] - calls["f_min_hz"]
    # The generator's level of the call (animal level + per-call spread) = level at the microphone, minus
    # what distance (6 dB per doubling from the reference) and the recorder's gain added.
    out["source_level_db"] = (calls["level_dbfs"] + 20 * np.log10(calls["distance_m"] / reference_m)
                              - calls["recording"].map(gain).astype(float))
    out["harmonic"] = (calls["harmonic_amp"].fillna(0) > 0).astype(float)
    has_bb = calls["bb_f_low_hz"].notna() if "bb_f_low_hz" in calls else pd.Series(False, index=calls.index)
    out["broadband_width_hz"] = np.where(has_bb, calls.get("bb_f_high_hz", 0) - calls.get("bb_f_low_hz", 0), 0.0)
    out["broadband_duration_s"] = np.where(has_bb, calls.get("bb_offset_s", 0) - calls.get("bb_onset_s", 0), 0.0)
    for t in CALL_TYPES:
        out[f"type_{t}"] = (calls["call_type"] == t).astype(float)
    return out.reset_index(drop=True)


def input_columns(kind: str) -> list[str]:
    """Columns of :func:`call_parameters` that make input ``kind`` (``parameters`` or ``feat9``)."""
    if kind == "feat9":
        return list(TRUTH_FEAT9)
    if kind == "parameters":
        return [*TRUTH_NUMERIC, "bandwidth_hz", "source_level_db", "harmonic", "broadband_width_hz",
                "broadband_duration_s", *[f"type_{t}" for t in CALL_TYPES]]
    raise ValueError(f"unknown ceiling input {kind!r}; choose one of {', '.join(INPUT_NAMES)}")


def task_ceiling(table: pd.DataFrame, task: str, spec: dict[str, str], params: dict,
                 inputs: Sequence[str] = tuple(INPUT_NAMES)) -> dict:
    """Leave-one-animal-out accuracy of ridge and the linear SVM on the truth's per-call inputs of one task.

    ``table``: :func:`call_parameters` of the task's cohort. Returns ``{input: {"models": {model: {"mean",
    "sem", "fold_accuracy", "chosen"}}, "ceiling", "best_model"}, "n_calls", "n_animals"}``."""
    y = encode_labels(table[spec["column"]], spec)
    animals = table["animal"].astype(str).to_numpy()
    uid = (table["recording"].astype(str) + "/" + table.index.astype(str)).to_numpy()
    folds = sorted(set(animals[y >= 0]))
    out: dict = {"n_calls": int((y >= 0).sum()), "n_animals": len(folds)}
    for kind in inputs:
        X = table[input_columns(kind)].to_numpy(float)
        models = {}
        for name, model in CEILING_MODELS.items():
            acc, chosen = {}, {}
            for fold in folds:
                res = run_fold(X, y, animals, uid, fold, model, f"ceiling/{task}/{kind}", spec, params)
                if res.metrics["accuracy"] is not None:
                    acc[fold] = res.metrics["accuracy"]
                    chosen[fold] = res.metrics["hyperparameter"]["value"]
            a = np.array(list(acc.values()), float)
            models[name] = {"mean": float(a.mean()) if a.size else None,
                            "sem": float(a.std(ddof=1) / np.sqrt(a.size)) if a.size > 1 else None,
                            "fold_accuracy": acc, "chosen": chosen}
        ran = {m: v["mean"] for m, v in models.items() if v["mean"] is not None}
        best = max(ran, key=ran.get) if ran else None
        out[kind] = {"models": models, "best_model": best, "ceiling": ran[best] if best else None}
    return out


def read_ceiling(paths: Sequence[str], task: str) -> dict[str, float]:
    """``{input: ceiling}`` of ``task`` from ``results/stats/ceiling.json`` (``paths``: it, or nothing on real
    data), for the figures that draw it; empty when there is none."""
    import json

    if not paths:
        return {}
    with open(paths[0]) as fh:
        values = json.load(fh)["values"].get(task, {})
    return {k: values[k]["ceiling"] for k in INPUT_NAMES if values.get(k, {}).get("ceiling") is not None}


def ceiling_text(ceilings: dict[str, float], task: str) -> str:
    """One sentence for a caption or a figure note: the task's ceilings, or '' without any."""
    if not ceilings:
        return ""
    parts = [f"{100 * v:.0f} % from {INPUT_NAMES[k]}" for k, v in ceilings.items()]
    return (f"Truth ceiling (dashed): ridge / linear SVM, leave-one-animal-out, on the simulator's own per-call "
            f"parameters reach {' and '.join(parts)} for {task}: the information put into the calls.")


def panel(fig, prefix: str):
    """The axes of ``fig`` whose title (left, centre or right) starts with ``prefix`` (e.g. ``"E "``), or None."""
    return next((ax for ax in fig.axes if any(ax.get_title(loc).startswith(prefix)
                                              for loc in ("left", "center", "right"))), None)


def draw_ceiling(ax, value: float | None, label: str = "truth ceiling") -> None:
    """A dashed line at the ceiling (``value`` as a fraction) across a panel of accuracies in %, named where
    the name covers no data (:func:`_data_boxes`): just above the line, else just below it, else at the top of
    the panel, from its right end leftwards; on one line, or on two where one does not fit (matplotlib axes;
    nothing is imported here). Nothing without a value or a panel."""
    if value is None or ax is None:
        return
    y = 100 * value
    ax.axhline(y, ls="--", lw=1, color="0.15", zorder=0.5, gid="truth ceiling")
    words = f"{label} {y:.0f} %"
    top = ax.get_ylim()[1]
    spots = [(1.0 - k / 12, yy, va, w) for yy, va in ((y + 1, "bottom"), (y - 1, "top"), (top, "top"))
             for w in (words, words.replace(f" {y:.0f} %", f"\n{y:.0f} %")) for k in range(12)]
    renderer = ax.figure.canvas.get_renderer()
    inside, boxes = ax.get_window_extent(renderer), _data_boxes(ax, renderer)
    kw = {"transform": ax.get_yaxis_transform(), "ha": "right", "fontsize": 7, "color": "0.15",
          "gid": "truth ceiling label"}
    for x, yy, va, w in spots:
        text = ax.text(x, yy, w, va=va, **kw)
        b = text.get_window_extent(renderer)
        fits = b.x0 >= inside.x0 - 0.5 and b.x1 <= inside.x1 + 0.5 and b.y1 <= inside.y1 + 0.5
        if fits and not any(b.x0 < x1 and x0 < b.x1 and b.y0 < y1 and y0 < b.y1 for x0, y0, x1, y1 in boxes):
            return
        text.remove()
    x, yy, va, w = spots[0]  # nowhere free: the right end, above the line
    ax.text(x, yy, w, va=va, **kw)


def _data_boxes(ax, renderer) -> list[tuple[float, float, float, float]]:
    """Display-space boxes (x0, y0, x1, y1) of what a panel shows: bars, points and their markers, line and
    error-bar segments, and its other texts (the ceiling's own line left out)."""
    boxes = []

    def points(xy, transform, pad):
        xy = transform.transform(xy) if len(xy) else xy
        for px, py in xy:
            boxes.append((px - pad, py - pad, px + pad, py + pad))
        return xy

    def segments(xy):
        for (ax0, ay0), (ax1, ay1) in zip(xy[:-1], xy[1:]):
            boxes.append((min(ax0, ax1) - 0.5, min(ay0, ay1) - 0.5, max(ax0, ax1) + 0.5, max(ay0, ay1) + 0.5))

    px_per_pt = ax.figure.dpi / 72
    for line in ax.get_lines():
        if line.get_gid() == "truth ceiling" or not line.get_visible():
            continue
        xy = points(line.get_xydata(), line.get_transform(),
                    line.get_markersize() * px_per_pt / 2 if line.get_marker() not in (None, "None", "", " ") else 0)
        if line.get_linestyle() not in ("None", "", " "):
            segments(xy)
    for coll in ax.collections:
        if hasattr(coll, "get_segments"):
            for seg in coll.get_segments():
                segments(coll.get_transform().transform(seg) if len(seg) else seg)
        elif len(coll.get_offsets()):
            sizes = coll.get_sizes() if len(coll.get_sizes()) else [36]
            points(coll.get_offsets(), coll.get_offset_transform(), max(sizes) ** 0.5 * px_per_pt / 2)
    for artist in [*ax.patches, *(t for t in ax.texts if t.get_gid() != "truth ceiling label")]:
        b = artist.get_window_extent(renderer)
        boxes.append((b.x0, b.y0, b.x1, b.y1))
    return boxes
