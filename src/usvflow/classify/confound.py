"""Background-only confound check: can the group be told from the recording rather than the calls?

A cohort recorded group by group (different days, rigs, cages, gains) can be classified "by sex" from how it
was recorded. The check trains the classical stage's classifiers (:mod:`usvflow.classify.classical`: ridge and
SVM, leave-one-animal-out, class-balanced training sets, the same estimators and settings) on inputs that hold
no call at all:

* ``background``: call-free stretches of each recording (outside every detected call by ``margin_s``, all
  of length ``window_s`` or, with ``durations: calls``, with durations drawn from the whole cohort's call
  durations: never from each animal's own calls, whose lengths would then leak into the image widths and
  make the "background" predict a group that differs in call duration), turned into the same
  100 x 100 uint8 images as the calls by the detector's own image code (:mod:`usvflow.detect.images`: same
  window, rows, dynamic range, level scaling, floor removal and floor margin); ridge and the quadratic SVM;
* ``nuisance``: measurements of the recording, not of calls: per stretch, the level in a few frequency bands
  (the noise-floor spectrum) and the broadband level, and per recording the median of those over its
  stretches and the peak level of its call-free audio (gain, clipping, clicks); all from call-free audio
  only, z-scored, ridge and the linear SVM.

**Decision rule.** Each model's statistic is its mean held-out accuracy over animals (each animal weighs the
same, whatever its number of stretches). The cohort's statistic is the best of the models' means. Its null
distribution comes from animal-level label permutations: the group labels are reassigned across animals
(every assignment with the same group sizes when there are at most ``max_permutations`` of them, else that
many random ones) and the whole leave-one-animal-out evaluation of every model is repeated; taking the best
model inside each permutation too makes the p-value account for trying several models. Verdicts:

* ``confounded`` (flagged): p <= ``alpha``: the background predicts the group in held-out animals, more
  than it predicts relabelled animals.
* ``suspect`` (flagged): p > ``alpha``, but the best mean held-out accuracy is at least ``min_effect`` with
  at least three quarters of the held-out animals above chance. Either the cohort is too small for the test
  (4 animals, 2 + 2, allow 6 assignments, 3 distinct splits: p >= 1/3) or animals cluster by recording so
  that relabellings that keep the clusters together are predicted as well; either way the call classifiers
  can use what the background carries, so their accuracies cannot be read as the group's.
* ``undecided``: too few animals for any assignment to reach p <= ``alpha``, and no such effect.
* ``clear``: p > ``alpha`` with enough animals to test, and no such effect: absence of evidence at this
  cohort size, not proof of absence.

Held-out accuracies far below chance are the leave-one-animal-out artefact of recording-level measurements
(without the held-out animal, its group's training mean moves away from it); relabelled animals show the same
artefact, so the permutation p stays valid. ``null_rate_min_effect`` says how often a relabelling reaches
``min_effect``: how often the effect route would flag this cohort by chance.

The effect size is reported beside p: the best mean held-out accuracy minus chance (percentage points), and
how many held-out animals were classified above chance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..audio.io import inspect_wav, read_wav
from ..audio.stft import hann, power_of, rfft_freqs, window_samples, windowed_rfft
from ..detect.images import _call_images
from ..detect.params import IMAGE_SIZE, resolve_params
from ..errors import InputError
from .nulls import animal_labels, assignments, fixed_regularisation, permutation_table, smallest_p

#: model → (estimator of usvflow.classify.classical.fit_predict, input)
MODELS: dict[str, tuple[str, str]] = {
    "ridge_background": ("ridge", "background"),
    "svm_background": ("svm_quadratic", "background"),
    "ridge_nuisance": ("ridge", "nuisance"),
    "svm_nuisance": ("svm_linear", "nuisance"),
}
#: Frequency bands (Hz) of the noise-floor spectrum; bands above Nyquist are left out (NaN).
BANDS_HZ: tuple[tuple[float, float], ...] = (
    (0.0, 20e3), (20e3, 40e3), (40e3, 60e3), (60e3, 80e3), (80e3, 100e3), (100e3, 125e3))
DEFAULTS: dict[str, Any] = {
    "windows_per_recording": 40,
    "margin_s": 0.02,  # call-free stretches keep this far from every detected call (the detector pads calls too)
    "durations": "fixed",  # "fixed": every stretch window_s long; "calls": drawn from the cohort's call durations
    "window_s": 0.03,
    "alpha": 0.05,
    "min_effect": 0.75,  # mean held-out accuracy that counts as a large effect on a cohort too small to test
    "max_permutations": 1000,
    "seed": 20200,
}


def _band_names() -> list[str]:
    return [f"level_{lo / 1e3:.0f}_{hi / 1e3:.0f}khz_db" for lo, hi in BANDS_HZ]


def call_free_windows(calls: pd.DataFrame, duration_s: float, durations: np.ndarray, n: int, margin_s: float,
                      rng: np.random.Generator, edge_s: float = 0.0) -> pd.DataFrame:
    """Up to ``n`` non-overlapping stretches that keep ``margin_s`` away from every call of ``calls``.

    Each stretch's duration is drawn from ``durations``; its start is uniform over the places it fits. A
    duration that fits nowhere is drawn again, never shortened (shortened stretches would tell busy
    recordings apart); fewer than ``n`` come back when the recording has no more room."""
    busy = sorted((max(0.0, a - margin_s), min(duration_s, b + margin_s))
                  for a, b in zip(calls["onset_s"].to_numpy(float), calls["offset_s"].to_numpy(float)))
    gaps, t = [], edge_s
    for a, b in busy + [(duration_s - edge_s, duration_s)]:
        if a > t:
            gaps.append((t, a))
        t = max(t, b)
    out: list[tuple[float, float]] = []
    misses = 0
    while len(out) < n and misses < 20:
        d = float(rng.choice(durations))
        room = np.array([max(0.0, (b - a) - d) for a, b in gaps])
        if not len(room) or room.sum() <= 0:
            misses += 1  # no room for this one: draw another duration (never shrink it to fit)
            continue
        cum = np.cumsum(room)
        u = rng.uniform(0, cum[-1])
        k = min(int(np.searchsorted(cum, u, side="right")), len(gaps) - 1)
        a, b = gaps[k]
        start = a + (u - (cum[k] - room[k]))
        out.append((start, start + d))
        gaps[k:k + 1] = [g for g in ((a, start), (start + d, b)) if g[1] > g[0]]
    out.sort()
    return pd.DataFrame(out, columns=["onset_s", "offset_s"], dtype=float)


def _floor(segments: list[np.ndarray], sr: int, p: dict) -> tuple[np.ndarray, np.ndarray] | None:
    """The recording's stationary noise floor (Hz, log10 power, up to a constant) from its call-free
    stretches, as the default detector measures it: the mean power of the quietest quarter of frames.
    Only its shape across frequency matters to the images (its excess over the median row is removed)."""
    if "floor_quantile" not in p:
        return None  # the paper's detector keeps plain images
    n = window_samples(p["window_s"], sr)
    frames = [s[i:i + n] for s in segments for i in range(0, len(s) - n + 1, max(1, n // 2))]
    if len(frames) < 4:
        return None
    P = power_of(windowed_rfft(np.stack(frames).astype(np.float32), hann(n, np.float32)))
    energy = P.sum(axis=1)
    quiet = energy <= np.quantile(energy, p["floor_quantile"])
    return rfft_freqs(n, sr), np.log10(np.maximum(P[quiet].mean(axis=0), 1e-30))


def _levels(seg: np.ndarray, sr: int, n: int) -> np.ndarray:
    """Band levels (dB re full scale, per Hz-free band mean) and the broadband RMS level of one stretch."""
    win = hann(n, np.float32)
    if len(seg) < n:
        seg = np.pad(seg, (0, n - len(seg)))
    frames = np.lib.stride_tricks.sliding_window_view(seg, n)[:: max(1, n // 2)]
    P = power_of(windowed_rfft(np.ascontiguousarray(frames, np.float32), win)).mean(axis=0)
    P = P / float(np.sum(win) / 2) ** 2  # a full-scale sine peaks at 1
    f = rfft_freqs(n, sr)
    bands = [10 * np.log10(max(float(P[(f >= lo) & (f < hi)].mean()), 1e-30)) if hi <= sr / 2 else np.nan
             for lo, hi in BANDS_HZ]
    rms = 10 * np.log10(max(float(np.mean(seg.astype(np.float64) ** 2)), 1e-30))
    return np.array(bands + [rms])


@dataclass
class Background:
    """One recording's call-free stretches: where they are, their images and their nuisance measurements."""
    windows: pd.DataFrame
    images: np.ndarray
    nuisance: pd.DataFrame


def recording_background(path: str, calls: pd.DataFrame, settings: dict | None = None, detector: str = "default",
                         detection: dict | None = None, channel=0, durations: np.ndarray | None = None,
                         key: str = "") -> Background:
    """Call-free stretches of one recording as call-like images plus nuisance measurements.

    ``calls``: the recording's detected calls (``onset_s``, ``offset_s``). ``durations``: the call durations
    that stretch lengths are drawn from with ``durations: calls`` (the cohort's, pooled; without any, or
    with ``durations: fixed``, every stretch is ``window_s`` long). ``key`` seeds the draw."""
    s = dict(DEFAULTS, **(settings or {}))
    p = resolve_params(detector, detection)
    info = inspect_wav(path)
    sr = info.sample_rate
    if durations is None or len(durations) == 0 or s["durations"] == "fixed":
        durations = np.array([s["window_s"]])
    rng = np.random.default_rng(np.random.SeedSequence([int(s["seed"]), *map(ord, f"confound/{key}")]))
    n_img = window_samples(p["image_window_s"], sr)
    edge = n_img / sr
    windows = call_free_windows(calls, info.duration_s, np.asarray(durations, float), int(s["windows_per_recording"]),
                                float(s["margin_s"]), rng, edge_s=edge)
    pad = n_img / sr
    segs, starts = [], []
    for on, off in zip(windows["onset_s"], windows["offset_s"]):
        a = max(0.0, on - pad)
        seg, _ = read_wav(path, channel, a, min(info.duration_s, off + pad))
        segs.append(seg)
        starts.append(int(round(a * sr)))
    inner = [seg[int(round(on * sr)) - a: int(round(off * sr)) - a]
             for seg, a, on, off in zip(segs, starts, windows["onset_s"], windows["offset_s"])]
    floor = _floor(inner, sr, p)
    images = np.zeros((len(windows), IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    rows = []
    for i, (seg, a, on, off) in enumerate(zip(segs, starts, windows["onset_s"], windows["offset_s"])):
        images[i] = _call_images(seg, sr, a, np.array([on]), np.array([off]), p, floor)[0]
        rows.append(_levels(inner[i], sr, n_img))
    cols = _band_names() + ["level_rms_db"]
    nuis = pd.DataFrame(np.array(rows).reshape(len(rows), len(cols)), columns=cols)
    # Recording-level: the median of each over the recording's stretches (its noise floor spectrum and level)
    # and the peak level of its call-free audio (gain, clipping, clicks). Never the whole file: its level
    # would count the calls, and how loud or busy a group's calls are is not the background.
    for c in cols:
        nuis[f"recording_{c}"] = float(np.nanmedian(nuis[c])) if len(nuis) and nuis[c].notna().any() else np.nan
    peak = max((float(np.max(np.abs(x))) for x in inner if len(x)), default=0.0)
    nuis["recording_peak_db"] = 20 * np.log10(max(peak, 1e-15))
    return Background(windows, images, nuis)


# ------------------------------------------------------------------------------------------ evaluation


@dataclass
class ConfoundResult:
    verdict: str
    sentence: str
    values: dict = field(default_factory=dict)
    folds: pd.DataFrame = field(default_factory=pd.DataFrame)


def evaluate(inputs: dict[str, np.ndarray], y: np.ndarray, animals: Sequence[str], classes: Sequence[str],
             params: dict, settings: dict | None = None, group: str = "the group") -> ConfoundResult:
    """The background-only control on one cohort (see the module docstring for the decision rule).

    ``inputs``: ``background`` (n x 10,000 images / 255) and ``nuisance`` (n x k measurements), one row per
    call-free stretch; ``y``: 1 / 0 group per stretch (-1: left out); ``params``: the classical stage's
    ``params`` (estimator settings, seed, minimum training size)."""
    s = dict(DEFAULTS, **(settings or {}))
    params = fixed_regularisation(params)
    animals = np.asarray(animals).astype(str)
    labels = animal_labels(y, animals)
    n_pos = sum(labels.values())
    n_animals = len(labels)
    if n_animals < 3 or n_pos == 0 or n_pos == n_animals:
        why = f"{n_animals} animal(s) with stretches, {n_pos} of class {classes[1]}: nothing to test"
        return ConfoundResult("undecided", f"Background-only control: not run ({why}).",
                              {"verdict": "undecided", "flagged": False, "reason": why})
    perms, exhaustive = assignments(labels, int(s["max_permutations"]), int(s["seed"]))
    n_total = math.comb(n_animals, n_pos)
    S, first = permutation_table(inputs, MODELS, y, animals, params, perms, standardise=("nuisance",),
                                 key="confound")  # models x assignments
    folds = [{"model": m, "fold": a, "group": classes[labels[a]], "accuracy": v,
              "n_test": int((animals == a).sum())} for m in MODELS for a, v in first[m].items()]
    if not np.isfinite(S[:, 0]).any():
        why = (f"no held-out animal could be tested (each training set needs "
               f"{params['min_train_per_class']} stretches of each group)")
        return ConfoundResult("undecided", f"Background-only control: not run ({why}).",
                              {"verdict": "undecided", "flagged": False, "reason": why})
    best = np.nanmax(S, axis=0)
    obs = float(best[0])
    p = float(np.mean(best >= obs - 1e-12))
    p_min = smallest_p(labels, len(perms), exhaustive)  # the true labels (and, equal groups, their swap) are in
    best_model = list(MODELS)[int(np.nanargmax(S[:, 0]))]
    fold_df = pd.DataFrame(folds)
    above = fold_df[(fold_df.model == best_model)]
    n_above = int((above["accuracy"] > 0.5).sum())
    per_model = {}
    for j, m in enumerate(MODELS):
        pm = float(np.mean(S[j] >= S[j, 0] - 1e-12)) if np.isfinite(S[j, 0]) else None
        per_model[m] = {"mean_accuracy": S[j, 0], "p": pm,
                        "fold_accuracy": dict(zip(fold_df[fold_df.model == m]["fold"],
                                                  fold_df[fold_df.model == m]["accuracy"]))}
    too_small = p_min > s["alpha"]
    large = obs >= s["min_effect"] and n_above >= 0.75 * len(above)
    if p <= s["alpha"]:
        verdict = "confounded"
    elif large:
        verdict = "suspect"
    elif too_small:
        verdict = "undecided"
    else:
        verdict = "clear"
    acc_txt = (f"{100 * obs:.0f} % (best of {len(MODELS)} models, {best_model}; chance 50 %; "
               f"{n_above} of {len(above)} held-out animals above chance)")
    perm_txt = (f"animal-level permutation p = {p:.2g} over {'all ' if exhaustive else ''}{len(perms)}"
                f"{'' if exhaustive else ' random'} label assignments")
    small_txt = f"; with {n_animals} animals the smallest p possible is {p_min:.2g}" if too_small else ""
    predict = f"call-free stretches of the recordings predict {group} in held-out animals at {acc_txt}"
    if verdict == "confounded":
        sentence = (f"Background-only control: {predict} ({perm_txt}), so the accuracies on calls may reflect "
                    f"how the groups were recorded rather than their calls.")
    elif verdict == "suspect":
        sentence = (f"Background-only control: {predict}; relabelled animals are predicted nearly as well "
                    f"({perm_txt}{small_txt}), but either way the accuracies on calls may reflect how the groups "
                    f"were recorded rather than their calls.")
    elif verdict == "undecided":
        sentence = (f"Background-only control: call-free stretches of the recordings classify {group} in held-out "
                    f"animals at {acc_txt}; the cohort is too small to decide whether that is above chance "
                    f"({perm_txt}{small_txt}).")
    else:
        sentence = (f"Background-only control: call-free stretches of the recordings do not predict {group} above "
                    f"chance in held-out animals ({acc_txt}; {perm_txt}).")
    values = {"verdict": verdict, "flagged": verdict in ("confounded", "suspect"), "sentence": sentence,
              "best_model": best_model, "best_mean_accuracy": obs, "effect_pp": 100 * (obs - 0.5),
              "animals_above_chance": n_above, "n_animals": n_animals, "p": p, "p_min": p_min,
              "n_assignments": len(perms), "n_assignments_total": n_total, "exhaustive": exhaustive,
              "null_best_mean": float(np.nanmean(best)), "null_best_sd": float(np.nanstd(best)),
              # how often a random assignment of the groups to these animals reaches min_effect: how likely a
              # cohort recorded like this one lines its groups up with its recording conditions by chance
              "null_rate_min_effect": float(np.mean(best >= s["min_effect"])),
              "null_best": best.tolist(),
              "alpha": s["alpha"], "min_effect": s["min_effect"], "models": per_model,
              "n_stretches": int((y >= 0).sum())}
    return ConfoundResult(verdict, sentence, values, fold_df)


def read_calls(path) -> pd.DataFrame:
    """A recording's call table (``onset_s``, ``offset_s`` in seconds); one clear line when it is unusable."""
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputError(path, f"cannot read the call table ({exc})") from None
    missing = {"onset_s", "offset_s"} - set(table.columns)
    if missing:
        raise InputError(path, f"call table lacks {', '.join(sorted(missing))}")
    bad = ~(np.isfinite(table["onset_s"]) & np.isfinite(table["offset_s"]) & (table["offset_s"] >= table["onset_s"]))
    if bad.any():
        raise InputError(path, f"call table row {int(np.flatnonzero(bad)[0]) + 2}: onset_s / offset_s not a time span")
    return table


def cohort_background(recordings: pd.DataFrame, calls: dict[str, pd.DataFrame], settings: dict | None = None,
                      detector: str = "default", detection: dict | None = None, channel=0
                      ) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """Background inputs of a cohort: ``recordings`` has ``recording``, ``path``, ``animal`` (and any label
    columns, carried into the table); ``calls`` maps each recording to its detected calls.

    Returns ``{"background": images / 255, "nuisance": measurements}`` (one row per stretch) and the table
    of stretches (recording, animal, labels, onset_s, offset_s, then the nuisance columns)."""
    # One duration pool for the whole cohort, in a fixed order: the stretches' widths say nothing of an animal.
    pooled = np.concatenate([(calls[r]["offset_s"] - calls[r]["onset_s"]).to_numpy(float)
                             for r in sorted(calls)] or [np.zeros(0)])
    parts, images = [], []
    for rec in recordings.itertuples(index=False):
        bg = recording_background(rec.path, calls[rec.recording], settings, detector, detection, channel,
                                  durations=pooled, key=str(rec.recording))
        meta = pd.DataFrame([rec._asdict()] * len(bg.windows)).drop(columns=["path"], errors="ignore")
        parts.append(pd.concat([meta.reset_index(drop=True), bg.windows, bg.nuisance], axis=1))
        images.append(bg.images)
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    imgs = np.concatenate(images) if images else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    nuis_cols = [c for c in table.columns if c.startswith(("level_", "recording_"))]
    return ({"background": imgs.reshape(len(imgs), -1).astype(np.float32) / 255.0,
             "nuisance": table[nuis_cols].to_numpy(float)}, table)


def caption_with_control(template: str, sentence: str | None) -> str:
    """A figure's report caption with the control's sentence as its own paragraph, before the closing
    ``Made by`` line (the provenance) where there is one; the template alone when the control did not run."""
    caption = template.rstrip("\n")
    if sentence:
        head, sep, tail = caption.rpartition("\n\nMade by")
        caption = f"{head}\n\n{sentence}{sep}{tail}" if sep else f"{caption}\n\n{sentence}"
    return caption + "\n"
