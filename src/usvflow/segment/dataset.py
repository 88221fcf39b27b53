"""SqueakOut data: spectrogram crops with truth masks, the threshold baseline, the paper's dataset refinement.

Santana & Dietrich (2024) built their segmentation dataset from VocalMat's crops and VocalMat's (noisy) masks,
refined by an autoencoder and by erosion. Here every crop also has an exact mask rendered from the simulator's
truth, so each refinement step — and every model — can be scored against the truth.

* :func:`build_dataset`: crops centred on each detected call plus call-free noise crops, as grayscale uint8
  images at native resolution (one spectrogram pixel per bin and frame) or resized to the paper's 512×512;
  truth masks (:func:`usvflow.simulate.recording.render_mask`, each frame seeing only its own window),
  threshold masks (:func:`threshold_mask`) and the split (test = whole animals held out per cohort; the rest
  90/10 train/validation at random).
* :func:`threshold_mask`: segmentation in the style of VocalMat (contrast, local threshold, opening, dilation,
  small-object removal) — the baseline, and the starting masks of the refinement.
* :func:`erode_large_segments`: the paper's border thinning (4×2 kernel, only on segments ≥ 4× its size).
* :func:`refine_masks`: threshold masks → U-Net autoencoder pre-trained on reconstruction, trained to segment
  calls and then noise → refined masks → erosion → repeat until erosion no longer applies; every step scored.
* :func:`ff_line_from_mask`: the fundamental-frequency line of a call read inside a segmentation mask.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ..audio.io import read_wav
from ..audio.stft import window_samples
from ..simulate.recording import load_truth, render_mask
from .crops import CropGrid, ThresholdParams, _resize, crop_at, crop_image, recording_floor, threshold_mask


def _pick_test_animals(meta: pd.DataFrame, fraction: float, seed: int) -> set[str]:
    """Whole animals held out for the test set: ``fraction`` of each cohort's animals (at least one)."""
    rng = np.random.default_rng(seed)
    test = set()
    for _, grp in meta.groupby("cohort"):
        animals = sorted(grp["animal"].unique())
        if len(animals) < 2:
            continue  # a cohort of one animal cannot give a test animal and still train
        k = min(len(animals) - 1, max(1, int(round(fraction * len(animals)))))
        test.update(rng.choice(animals, size=k, replace=False).tolist())
    return test


def recording_crops(wav_path: str | Path, detections: pd.DataFrame, grid: CropGrid, n_noise: int,
                    rng: np.random.Generator, truth_dir: str | Path | None = None, recording: str = "",
                    channel: int | str = 0, threshold: ThresholdParams | None = None) -> dict:
    """Crops of one recording: one per detected call and ``n_noise`` call-free windows.

    A noise window contains no detection and (when the truth is known) no true call. With ``grid.floor`` =
    "recording" every crop is referenced to the recording's per-frequency floor (:func:`recording_floor`). Returns arrays
    ``images`` (uint8), ``truth`` (bool or None), ``threshold`` (bool) and the per-crop ``meta`` table.
    """
    x, fs = read_wav(wav_path, channel=channel)
    dur = len(x) / fs
    calls = contours = None
    if truth_dir is not None:
        calls, _, contours = load_truth(truth_dir, recording)
    crop_len = grid.n_frames * grid.hop_s
    frame_s = window_samples(grid.window_s, fs) / fs  # what one frame sees: no overlap at window = hop
    windows = []
    for i, d in detections.reset_index(drop=True).iterrows():
        on, off = float(d["onset_s"]), float(d["offset_s"])
        if grid.size:
            a, b = on - grid.pad_s, off + grid.pad_s
        else:
            mid = 0.5 * (on + off)
            a, b = mid - crop_len / 2, mid + crop_len / 2
        windows.append(("call", i, on, off, max(0.0, a), min(dur, b)))
    # Noise windows: random starts whose span touches no detection and no true call.
    busy = detections[["onset_s", "offset_s"]].to_numpy(float) if len(detections) else np.zeros((0, 2))
    if calls is not None and len(calls):
        busy = np.vstack([busy, calls[["onset_s", "offset_s"]].to_numpy(float)])
    span = crop_len if not grid.size else 0.05 + 2 * grid.pad_s
    tries, found = 0, 0
    while found < n_noise and tries < 200 * max(1, n_noise) and dur > span:
        tries += 1
        a = float(rng.uniform(0, dur - span))
        if busy.size and np.any((busy[:, 0] < a + span + 0.005) & (busy[:, 1] > a - 0.005)):
            continue
        windows.append(("noise", -1, np.nan, np.nan, a, a + span))
        found += 1
    out_shape = (grid.n_freq, grid.n_frames) if not grid.size else (grid.size, grid.size)
    floor = recording_floor(x, fs, grid) if grid.floor == "recording" else None
    n = len(windows)
    images = np.zeros((n,) + out_shape, np.uint8)
    truth = np.zeros((n,) + out_shape, bool) if calls is not None else None
    rows = []
    for k, (kind, det, on, off, a, b) in enumerate(windows):
        power, freqs, times = crop_at(x, fs, a, b, grid)
        img = crop_image(power, grid, floor)
        if truth is not None:
            t_lo, t_hi = times[0] - grid.hop_s, times[-1] + grid.hop_s
            inside = calls[(calls["onset_s"] < t_hi) & (calls["offset_s"] > t_lo)]
            tm = (render_mask(contours, inside, times, freqs, frame_s=frame_s) if len(inside)
                  else np.zeros(power.shape, bool))
        if grid.size:
            img = np.clip(np.round(_resize(img, out_shape, 1)), 0, 255).astype(np.uint8)
            if truth is not None:
                tm = _resize(tm, out_shape, 0) > 0.5
        images[k] = img
        if truth is not None:
            truth[k] = tm
        rows.append(dict(recording=recording, kind=kind, detection=det, onset_s=on, offset_s=off,
                         t0_s=float(times[0]), t1_s=float(times[-1]), f0_hz=float(freqs[0]),
                         f1_hz=float(freqs[-1])))
    thr = np.stack([threshold_mask(im, threshold) for im in images]) if n else np.zeros_like(images, bool)
    return dict(images=images, truth=truth, threshold=thr, meta=pd.DataFrame(rows))


def build_dataset(samples: pd.DataFrame, detections: dict[str, str | Path], grid: CropGrid,
                  truth_dir: str | Path | None, noise_per_call: float = 0.2, test_fraction: float = 0.25,
                  val_fraction: float = 0.1, seed: int = 0, channel: int | str = 0,
                  max_calls_per_recording: int | None = None, log: Callable[[str], None] = print) -> dict:
    """All crops of a cohort (every recording in ``samples``), with masks and the train/val/test split.

    ``samples`` is the sample sheet (index = recording; columns animal, cohort, path). Returns arrays
    ``images``, ``truth`` (None without a truth), ``threshold`` and the ``meta`` table with a ``split`` column.
    """
    parts = []
    for rec in samples.index:
        det = pd.read_csv(detections[rec])
        rng = np.random.default_rng([seed, len(parts)])
        if max_calls_per_recording and len(det) > max_calls_per_recording:
            det = det.iloc[np.sort(rng.choice(len(det), max_calls_per_recording, replace=False))]
        n_noise = int(round(noise_per_call * len(det)))
        part = recording_crops(samples.loc[rec, "path"], det, grid, n_noise, rng, truth_dir, rec, channel)
        part["meta"]["animal"] = samples.loc[rec, "animal"]
        part["meta"]["cohort"] = samples.loc[rec, "cohort"]
        log(f"{rec}: {int((part['meta']['kind'] == 'call').sum())} call crops, "
            f"{int((part['meta']['kind'] == 'noise').sum())} noise crops")
        parts.append(part)
    meta = pd.concat([p["meta"] for p in parts], ignore_index=True)
    images = np.concatenate([p["images"] for p in parts])
    thr = np.concatenate([p["threshold"] for p in parts])
    truth = np.concatenate([p["truth"] for p in parts]) if truth_dir is not None else None
    test_animals = _pick_test_animals(meta, test_fraction, seed)
    rng = np.random.default_rng([seed, 90])
    split = np.where(meta["animal"].isin(test_animals), "test", "train").astype(object)
    rest = np.flatnonzero(split == "train")
    val = rng.choice(rest, size=int(round(val_fraction * rest.size)), replace=False) if rest.size else rest
    split[val] = "val"
    meta["split"] = split
    return dict(images=images, truth=truth, threshold=thr, meta=meta)


def save_dataset(path: str | Path, data: dict, grid: CropGrid) -> None:
    """One ``.npz`` with images, masks and the crop table (as columns) and the grid settings."""
    meta = data["meta"]
    arrays = {f"meta_{c}": meta[c].to_numpy() for c in meta.columns}
    if data["truth"] is not None:
        arrays["truth"] = data["truth"]
    np.savez_compressed(path, images=data["images"], threshold=data["threshold"],
                        grid=np.array(json.dumps(asdict(grid))), **arrays)


def load_dataset(path: str | Path) -> dict:
    """Inverse of :func:`save_dataset` (``truth`` is None when the data had no truth)."""
    with np.load(path, allow_pickle=True) as z:
        meta = pd.DataFrame({k[5:]: z[k] for k in z.files if k.startswith("meta_")})
        return dict(images=z["images"], threshold=z["threshold"], truth=z["truth"] if "truth" in z.files else None,
                    meta=meta, grid=json.loads(str(z["grid"])))


# --------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------


def score_masks(pred: np.ndarray, truth: np.ndarray) -> dict[str, np.ndarray]:
    """Per-image pixel accuracy and Dice (both 0–1) of boolean stacks (n, H, W)."""
    from .models import dice_score, pixel_accuracy

    return {"accuracy": pixel_accuracy(pred, truth), "dice": dice_score(pred, truth)}


def mean_sem_pct(v: np.ndarray) -> tuple[float, float]:
    """Mean and SEM of per-image scores, in percent."""
    v = np.asarray(v, float) * 100
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else float("nan")
