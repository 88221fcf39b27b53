"""Leave-one-clip-out choice of the default detector's settings on annotated real clips.

Every setting of the default detector that was ever read off real clips is chosen again for each clip on the
other clips only (:func:`leave_one_clip_out`) and scored on it (:func:`loco_table`), so the held-out score is an
honest estimate of how the detector does on recordings nobody tuned it on. The same rule on all clips gives
the shipped defaults.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from .evaluate import BENCHMARK_COLUMNS, CRITERIA, _annotated_clips, _Pool, _rows, read_intervals, score
from .params import resolve_params
from .stream import detect_variants, process_context

#: The settings of the default detector whose values were read off real clips, each with the value it had
#: before any selection in the middle and one step either side (config.yaml ``detection_selection.grid``
#: holds the same); ``short_call_db`` (new with issue 15) is centred on 15 dB, about twice the ridge score pure
#: noise reaches over minutes (7 dB), with a step of 3 dB either side. The front end
#: (window, band, smoothing, contrast ring, ridge length and slope, noise-floor quantile, window and regimes,
#: stationary lines) and the sustained-evidence level (``sustain_db``, fixed from pure noise; see params)
#: follow from the calls' physics and the noise's statistics and are not chosen on clips
#: (README, "Detection"); the broadband penalty is, so it is here. 3^8 = 6,561 settings; the shipped defaults
#: are the one chosen on all four clips by :func:`choose_setting`.
DETECTION_GRID: dict[str, list[float]] = {
    "threshold_db": [8.0, 8.5, 9.0],
    "hysteresis_db": [6.0, 6.5, 7.0],
    "merge_gap_s": [0.01, 0.015, 0.02],
    "bridge_gap_s": [0.0, 0.03, 0.045],  # 0: no trajectory bridging
    "min_duration_s": [0.0025, 0.0035, 0.005],
    "short_call_db": [12.0, 15.0, 18.0],
    "pad_s": [0.002, 0.004, 0.006],
    "broadband_penalty": [0.2, 0.3, 0.4],
}


def check_grid(grid: dict[str, list], detection: dict | None = None) -> None:
    """Refuse, before any detection runs, a grid that cannot be searched: a name that is not a setting of
    the default detector, an empty list, a value that is not a number, or a combination (with
    ``detection`` on top of the defaults) that :func:`usvflow.detect.resolve_params` refuses. Raises
    ValueError with one line naming the setting."""
    if not grid:
        raise ValueError("the grid is empty")
    defaults = resolve_params("default", detection)
    for name, values in grid.items():
        if name not in defaults:
            raise ValueError(f"{name!r} is not a setting of the default detector (usvflow.detect.DEFAULT_PARAMS)")
        values = list(values)
        if not values:
            raise ValueError(f"{name}: no values to try")
        bad = [v for v in values if isinstance(v, bool) or not isinstance(v, (int, float))]
        if bad:
            raise ValueError(f"{name}: {bad[0]!r} is not a number")
        if len(set(values)) != len(values):
            raise ValueError(f"{name}: a value is listed twice")
    resolve_params("default", {**(detection or {}), **{n: list(v)[0] for n, v in grid.items()}})


def grid_settings(grid: dict[str, list]) -> list[dict]:
    """Every combination of the grid's values, in a fixed order (the last name varies fastest)."""
    names = list(grid)
    return [dict(zip(names, values)) for values in itertools.product(*(list(grid[n]) for n in names))]


def grid_distance(grid: dict[str, list], settings: list[dict]) -> np.ndarray:
    """How far each setting lies from the grid's centre (each list's middle value), in grid steps summed
    over names: the tie-break of :func:`choose_setting` (prefer the values the grid was built around)."""
    out = np.zeros(len(settings))
    for name, values in grid.items():
        values = list(values)
        centre = (len(values) - 1) / 2
        out += np.array([abs(values.index(s[name]) - centre) for s in settings])
    return out


def choose_setting(counts: pd.DataFrame, clips: list[str], distance: np.ndarray) -> int:
    """The setting chosen on ``clips`` by the one-standard-error rule: among the settings whose pooled F1
    over ``clips`` (one-to-one, the counts' criterion) is within one standard error of the best, the one
    with the smallest ``distance`` (closest to the grid's centre: the values before any selection); ties go
    to the better pooled F1, then the better mean per-clip F1, then the first. The standard error is that of
    a proportion at the best F1 over the clips' true calls, sqrt(F1 (1 - F1) / n_true): with about a hundred
    calls to choose on, dozens of settings lie within a call or two of the best, and a setting moves away
    from its centre value only where the clips show a difference larger than their own sampling noise.
    ``counts``: one row per (setting, clip) with columns ``setting`` (index into ``distance``), ``clip``,
    ``n_true``, ``n_detected``, ``tp``. Only the rows of ``clips`` are read."""
    part = counts[counts["clip"].isin(clips)]
    if part["clip"].nunique() != len(set(clips)):
        raise ValueError("counts lack some of the clips to choose on")
    tot = part.groupby("setting")[["n_true", "n_detected", "tp"]].sum()
    pooled = 2 * tot["tp"] / (tot["n_true"] + tot["n_detected"]).clip(lower=1)
    per_clip = (2 * part["tp"] / (part["n_true"] + part["n_detected"]).clip(lower=1)).groupby(part["setting"]).mean()
    best = float(pooled.max())
    n_true = float(tot["n_true"].iloc[0])  # the same clips, so the same true calls, for every setting
    se = np.sqrt(max(0.0, best * (1 - best)) / max(1.0, n_true))
    key = pd.DataFrame({"near": -distance[tot.index.to_numpy()], "pooled": pooled.round(12),
                        "mean": per_clip.round(12)}, index=tot.index)
    key = key[pooled.round(12) >= round(best - se, 12)]
    key = key.sort_values(["near", "pooled", "mean"], ascending=False, kind="stable")
    top = key.iloc[0]
    ties = key[(key["near"] == top["near"]) & (key["pooled"] == top["pooled"]) & (key["mean"] == top["mean"])]
    return int(ties.index.min())


def leave_one_clip_out(counts: pd.DataFrame, distance: np.ndarray) -> dict[str, int]:
    """For each clip, the setting :func:`choose_setting` picks on all the other clips (never on it)."""
    clips = sorted(counts["clip"].unique())
    return {held: choose_setting(counts, [c for c in clips if c != held], distance) for held in clips}


def loco_table(real_dir: str | Path, grid: dict[str, list], detection: dict | None = None,
               criterion: str = "iou0.3", jobs: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leave-one-clip-out evaluation of the default detector on the annotated clips in ``real_dir``.

    Every combination of ``grid`` (names of :data:`usvflow.detect.DEFAULT_PARAMS`, on top of ``detection``)
    is run on every clip (:func:`usvflow.detect.detect_variants`; ``jobs`` clips at once in worker processes,
    the same tables). For each clip, the setting with the best
    pooled F1 on the *other* clips under ``criterion`` (:func:`choose_setting`) is scored on it. Returns

    * benchmark rows (:data:`BENCHMARK_COLUMNS`, ``tool == "usvflow-default"``, ``evaluation ==
      "leave-one-clip-out"``): each held-out clip under every criterion, and ``pooled`` (the held-out
      counts added);
    * the choices: one row per held-out clip and one (``held_out == "none"``) for the setting chosen on all
      clips by the same rule, the one to ship; columns ``held_out``, ``chosen_on``, the grid's names, and the
      pooled F1 on the clips chosen on (``train_f1``).
    """
    check_grid(grid, detection)
    clips = _annotated_clips(real_dir)
    settings = grid_settings(grid)
    variants = [{**(detection or {}), **s} for s in settings]
    truths = {c.name: read_intervals(c / "truth.csv") for c in clips}
    wavs = [c / "recording.wav" for c in clips]
    if jobs > 1 and len(clips) > 1:  # one clip per worker process: the grid is many small numpy steps (GIL)
        with ProcessPoolExecutor(max_workers=min(jobs, len(clips)), mp_context=process_context()) as pool:
            tables = list(pool.map(detect_variants, wavs, [variants] * len(wavs)))
    else:
        tables = [detect_variants(w, variants) for w in wavs]
    found = {c.name: t for c, t in zip(clips, tables)}
    thr = CRITERIA[criterion]
    counts = []
    for name, tables in found.items():
        for k, tab in enumerate(tables):
            s = score(truths[name], tab[["onset_s", "offset_s"]].to_numpy(), thr)
            counts.append({"setting": k, "clip": name, "n_true": s.n_true, "n_detected": s.n_detected, "tp": s.tp})
    counts = pd.DataFrame(counts)
    distance = grid_distance(grid, settings)
    chosen = leave_one_clip_out(counts, distance)
    rows: list[dict] = []
    pool = _Pool()
    for held, k in chosen.items():
        det = found[held][k][["onset_s", "offset_s"]].to_numpy()
        scores, errors = pool.add(("loco",), truths[held], det)
        rows += _rows(Path(real_dir).name, held, "usvflow-default", scores, "leave-one-clip-out", errors)
    rows += _rows(Path(real_dir).name, "pooled", "usvflow-default", pool.scores[("loco",)], "leave-one-clip-out",
                  pool.errors[("loco",)])
    names = sorted(truths)
    all_k = choose_setting(counts, names, distance)

    def train_f1(on: list[str], k: int) -> float:
        part = counts[(counts["setting"] == k) & counts["clip"].isin(on)]
        return float(2 * part.tp.sum() / max(1, part.n_true.sum() + part.n_detected.sum()))

    choice_rows = [{"held_out": held, "chosen_on": "+".join(c for c in names if c != held), **settings[k],
                    "train_f1": train_f1([c for c in names if c != held], k)} for held, k in chosen.items()]
    choice_rows.append({"held_out": "none", "chosen_on": "+".join(names), **settings[all_k],
                        "train_f1": train_f1(names, all_k)})
    return pd.DataFrame(rows, columns=BENCHMARK_COLUMNS), pd.DataFrame(choice_rows)
