"""SqueakOut data: spectrogram crops with truth masks, the threshold baseline, the paper's dataset refinement.

Santana & Dietrich (2024) built their segmentation dataset from VocalMat's crops and VocalMat's (noisy) masks,
refined by an autoencoder and by erosion. Here every crop also has an exact mask rendered from the simulator's
truth, so each refinement step — and every model — can be scored against the truth.

* :func:`build_dataset`: crops centred on each detected call plus call-free noise crops, as grayscale uint8
  images at native resolution (one spectrogram pixel per bin and frame) or resized to the paper's 512×512;
  truth masks (:func:`usvflow.simulate.render_mask`), threshold masks (:func:`threshold_mask`) and the split
  (test = whole animals held out per cohort; the rest 90/10 train/validation at random).
* :func:`threshold_mask`: segmentation in the style of VocalMat (contrast, local threshold, opening, dilation,
  small-object removal) — the baseline, and the starting masks of the refinement.
* :func:`erode_large_segments`: the paper's border thinning (4×2 kernel, only on segments ≥ 4× its size).
* :func:`refine_masks`: threshold masks → U-Net autoencoder pre-trained on reconstruction, trained to segment
  calls and then noise → refined masks → erosion → repeat until erosion no longer applies; every step scored.
* :func:`ff_line_from_mask`: the fundamental-frequency line of a call read inside a segmentation mask.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import scipy.ndimage as ndi

from .io import read_wav
from .simulate import load_truth, render_mask
from .spectrogram import spectrogram

PAPER_SIZE = 512


@dataclass(frozen=True)
class CropGrid:
    """Where crops come from. Native crops are ``n_freq`` bins from ``f_lo_hz`` × ``n_frames`` frames.

    ``size`` = 0 keeps native pixels; ``size`` = 512 resizes each crop (the call's own time span plus
    ``pad_s`` either side, over the same band) to size × size as the paper's images are.
    """

    window_s: float = 0.001
    hop_s: float = 0.001
    f_lo_hz: float = 25_000.0
    n_freq: int = 96
    n_frames: int = 96
    size: int = 0
    pad_s: float = 0.01
    dynamic_range_db: float = 50.0


def grid_from_config(cfg: dict) -> CropGrid:
    """A :class:`CropGrid` from the ``segment`` config block (unknown keys ignored)."""
    names = set(CropGrid.__dataclass_fields__)
    return CropGrid(**{k: v for k, v in cfg.items() if k in names})


def to_gray(power: np.ndarray, dynamic_range_db: float) -> np.ndarray:
    """dB power → uint8 grayscale: the crop's median level maps to a dark grey, ``dynamic_range_db`` above to white.

    The median is the crop's background (calls cover a few % of pixels), so crops from loud and quiet
    recordings look alike without any per-row whitening that would erase long flat calls.
    """
    db = 10 * np.log10(np.maximum(power, 1e-20))
    lo = np.median(db) - 5.0
    return np.clip(np.round((db - lo) / dynamic_range_db * 255), 0, 255).astype(np.uint8)


def _resize(a: np.ndarray, shape: tuple[int, int], order: int) -> np.ndarray:
    """Resize a 2-D array to ``shape`` (order 1: bilinear for images, 0: nearest for masks)."""
    zoom = (shape[0] / a.shape[0], shape[1] / a.shape[1])
    out = ndi.zoom(a.astype(np.float32), zoom, order=order, mode="nearest", grid_mode=True)
    return out[:shape[0], :shape[1]]


def crop_at(x: np.ndarray, fs: int, t_start: float, t_stop: float, grid: CropGrid
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Power spectrogram of ``x`` (a whole recording) from ``t_start`` on the native grid, in the band.

    Returns ``(power, freqs, times)``; native crops have exactly ``n_frames`` frames (shifted to stay inside the
    recording), resized crops span ``t_start..t_stop``.
    """
    nper = max(16, int(round(grid.window_s * fs)))
    hop = max(1, int(round(grid.hop_s * fs)))
    n_frames = grid.n_frames if grid.size == 0 else max(2, int(round((t_stop - t_start) / grid.hop_s)))
    n_samp = (n_frames + 1) * hop + nper  # a spare frame: the STFT keeps only frames fully inside
    s0 = int(round(t_start * fs)) - nper // 2
    s0 = min(max(0, s0), max(0, len(x) - n_samp))
    seg = x[s0:s0 + n_samp]
    if len(seg) < n_samp:  # recording shorter than a crop: pad with its own quiet level
        seg = np.concatenate([seg, np.zeros(n_samp - len(seg), seg.dtype)])
    spec = spectrogram(seg, fs, window_s=grid.window_s, hop_s=grid.hop_s, t0=s0 / fs)
    keep = np.flatnonzero(spec.freqs >= grid.f_lo_hz)[:grid.n_freq]
    power = spec.power[keep][:, :n_frames]
    freqs = spec.freqs[keep]
    if power.shape[0] < grid.n_freq:  # band runs past Nyquist: pad with the quietest level
        pad = grid.n_freq - power.shape[0]
        df = freqs[1] - freqs[0]
        power = np.vstack([power, np.full((pad, power.shape[1]), power.min())])
        freqs = np.concatenate([freqs, freqs[-1] + df * np.arange(1, pad + 1)])
    return power, freqs, spec.times[:n_frames]


@dataclass
class ThresholdParams:
    """VocalMat-style segmentation settings (in pixels of the crop and in grayscale units 0–1)."""

    block: int = 15  # local-mean window of the adaptive threshold
    offset: float = 0.12  # above the local mean (0.12 × 50 dB ≈ 6 dB)
    min_level: float = 0.3  # and above this absolute grey level
    open_kernel: tuple[int, int] = (2, 2)
    dilate_kernel: tuple[int, int] = (3, 3)  # VocalMat's masks overshoot the call (the paper's border effect)
    min_area: int = 20


def threshold_mask(img: np.ndarray, p: ThresholdParams | None = None) -> np.ndarray:
    """Boolean mask of bright structure in one grayscale crop (uint8 or [0, 1]), in the style of VocalMat.

    Local (adaptive) threshold → morphological opening (removes isolated pixels) → dilation → removal of
    small components. It segments anything loud — calls and noise alike — which is its weakness in the paper.
    """
    p = p or ThresholdParams()
    a = img.astype(np.float32) / (255.0 if img.dtype == np.uint8 else 1.0)
    local = ndi.uniform_filter(a, size=p.block, mode="reflect")
    m = (a > local + p.offset) & (a > p.min_level)
    m = ndi.binary_opening(m, structure=np.ones(p.open_kernel, bool))
    m = ndi.binary_dilation(m, structure=np.ones(p.dilate_kernel, bool))
    lab, n = ndi.label(m, structure=np.ones((3, 3), bool))
    if n:
        area = ndi.sum_labels(m, lab, index=np.arange(1, n + 1))
        m = np.isin(lab, 1 + np.flatnonzero(area >= p.min_area))
    return m


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

    A noise window contains no detection and (when the truth is known) no true call. Returns arrays
    ``images`` (uint8), ``truth`` (bool or None), ``threshold`` (bool) and the per-crop ``meta`` table.
    """
    x, fs = read_wav(wav_path, channel=channel)
    dur = len(x) / fs
    calls = contours = None
    if truth_dir is not None:
        calls, _, contours = load_truth(truth_dir, recording)
    crop_len = grid.n_frames * grid.hop_s
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
    n = len(windows)
    images = np.zeros((n,) + out_shape, np.uint8)
    truth = np.zeros((n,) + out_shape, bool) if calls is not None else None
    rows = []
    for k, (kind, det, on, off, a, b) in enumerate(windows):
        power, freqs, times = crop_at(x, fs, a, b, grid)
        img = to_gray(power, grid.dynamic_range_db)
        if truth is not None:
            t_lo, t_hi = times[0] - grid.hop_s, times[-1] + grid.hop_s
            inside = calls[(calls["onset_s"] < t_hi) & (calls["offset_s"] > t_lo)]
            tm = render_mask(contours, inside, times, freqs) if len(inside) else np.zeros(power.shape, bool)
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
    from .squeakout import dice_score, pixel_accuracy

    return {"accuracy": pixel_accuracy(pred, truth), "dice": dice_score(pred, truth)}


def mean_sem_pct(v: np.ndarray) -> tuple[float, float]:
    """Mean and SEM of per-image scores, in percent."""
    v = np.asarray(v, float) * 100
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else float("nan")


# --------------------------------------------------------------------------------------------
# Erosion (the paper's border thinning)
# --------------------------------------------------------------------------------------------


def erode_large_segments(mask: np.ndarray, kernel: tuple[int, int] = (4, 2), min_factor: float = 4.0
                         ) -> tuple[np.ndarray, int]:
    """Erode each connected segment of at least ``min_factor`` × kernel area pixels with a ``kernel`` rectangle.

    ``kernel`` is (frequency rows, time columns). A segment that the erosion would erase entirely is kept as
    it is (erosion "cannot be applied" to it), so thin calls are never deleted. Returns the new mask and how
    many segments were eroded; 0 means the paper's loop has converged.
    """
    mask = np.asarray(mask, bool)
    lab, n = ndi.label(mask, structure=np.ones((3, 3), bool))
    if n == 0:
        return mask.copy(), 0
    out = mask.copy()
    st = np.ones(kernel, bool)
    eroded = ndi.binary_erosion(mask, structure=st, border_value=1)
    min_area = min_factor * st.size
    areas = ndi.sum_labels(mask, lab, index=np.arange(1, n + 1))
    kept = ndi.sum_labels(eroded, lab, index=np.arange(1, n + 1))
    applied = 0
    for i in np.flatnonzero((areas >= min_area) & (kept > 0)):
        seg = lab == i + 1
        out[seg] = eroded[seg]
        applied += 1
    return out, applied


# --------------------------------------------------------------------------------------------
# The paper's automated refinement
# --------------------------------------------------------------------------------------------


@dataclass
class RefineConfig:
    """Sizes of the refinement loop (the U-Net autoencoder and how long each task trains)."""

    unet_base: int = 8
    unet_depth: int = 3
    pretrain_epochs: int = 1
    call_epochs: int = 2
    noise_epochs: int = 1
    max_rounds: int = 4
    lr: float = 1e-3
    batch_size: int = 8
    kernel: tuple[int, int] = (4, 2)
    min_factor: float = 4.0
    seed: int = 0
    max_batches_per_epoch: int | None = None
    noise_rehearsal: float = 1.0  # call crops mixed into the noise task, per noise crop (0: noise alone)
    score_each_task: bool = True  # also score the masks between the call and the noise task


@dataclass
class RefineResult:
    masks: np.ndarray  # final masks of the call crops
    steps: list[dict] = field(default_factory=list)  # one row per step, scored against the truth
    examples: dict[str, np.ndarray] = field(default_factory=dict)  # step name -> masks of a few example crops


def _score_step(name: str, rnd: int, masks: np.ndarray, truth: np.ndarray | None, noise_pred: np.ndarray | None,
                extra: dict | None = None) -> dict:
    row = dict(step=name, round=rnd, **(extra or {}))
    if truth is not None:
        s = score_masks(masks, truth)
        row["accuracy_mean"], row["accuracy_sem"] = mean_sem_pct(s["accuracy"])
        row["dice_mean"], row["dice_sem"] = mean_sem_pct(s["dice"])
    if noise_pred is not None and len(noise_pred):
        empty = ~noise_pred.reshape(len(noise_pred), -1).any(1)
        row["noise_empty_pct"] = float(empty.mean() * 100)  # noise crops left with no segment at all
    return row


def refine_masks(images: np.ndarray, start_masks: np.ndarray, is_noise: np.ndarray, truth: np.ndarray | None,
                 cfg: RefineConfig, example_idx: np.ndarray | None = None,
                 log: Callable[[str], None] = print) -> RefineResult:
    """Reproduce the paper's automated refinement; score every step against ``truth`` when given.

    ``images``/``start_masks`` hold all crops (calls and noise); ``is_noise`` marks the noise crops, whose
    target is always empty. Steps: (1) the U-Net is pre-trained to reconstruct spectrograms through its
    bottleneck (skips off); then each round (2) trains it to segment call crops with the current masks,
    (3) trains it to segment noise crops (empty targets), (4) predicts new masks for the call crops, and erodes
    them (4×2 kernel, segments ≥ 4× its size). Rounds repeat until no segment can be eroded or ``max_rounds``.
    """
    import torch

    from .squeakout import TrainConfig, UNet, to_tensor, predict_masks, train_segmenter

    torch.manual_seed(cfg.seed)
    calls = np.flatnonzero(~is_noise)
    noise = np.flatnonzero(is_noise)
    call_truth = truth[calls] if truth is not None else None
    ex = example_idx if example_idx is not None else np.arange(min(4, calls.size))
    res = RefineResult(masks=start_masks[calls].copy())
    noise_thr = start_masks[noise]
    res.steps.append(_score_step("threshold", 0, res.masks, call_truth, noise_thr))
    res.examples["threshold"] = res.masks[ex].copy()
    log(f"threshold masks: {res.steps[-1]}")

    rng = np.random.default_rng(cfg.seed)

    def split(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        perm = rng.permutation(idx)
        k = max(1, int(round(0.1 * perm.size)))
        return perm[k:], perm[:k]

    model = UNet(base=cfg.unet_base, depth=cfg.unet_depth)
    # (1) Reconstruction through the bottleneck: the skips are zeroed so the network cannot copy its input.
    tr, va = split(np.arange(len(images)))
    recon_cfg = TrainConfig(lr=cfg.lr, batch_size=cfg.batch_size, max_epochs=cfg.pretrain_epochs, augment=False,
                            seed=cfg.seed, max_batches_per_epoch=cfg.max_batches_per_epoch)

    class _Recon(torch.nn.Module):
        def __init__(self, net: torch.nn.Module) -> None:
            super().__init__()
            self.net = net

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net(x, skips=False)

    def mse(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.mse_loss(torch.sigmoid(logits), target)

    t0 = time.perf_counter()
    train_segmenter(_Recon(model), images[tr], images[tr], images[va], images[va], recon_cfg, loss_fn=mse, log=log)
    with torch.no_grad():
        model.eval()
        xv = to_tensor(images[va[:256]])
        rec = torch.sigmoid(model(xv, skips=False))
        recon_acc = float(1 - (rec - xv).abs().mean()) * 100
    log(f"reconstruction: {recon_acc:.1f} % (1 − mean absolute error), {time.perf_counter() - t0:.0f} s")
    pretrained = copy.deepcopy(model.state_dict())

    targets = np.zeros_like(start_masks)
    for rnd in range(1, cfg.max_rounds + 1):
        targets[calls] = res.masks
        model.load_state_dict(pretrained)  # each round restarts from the reconstruction pre-training
        seg_cfg = TrainConfig(lr=cfg.lr, batch_size=cfg.batch_size, max_epochs=cfg.call_epochs, augment=False,
                              seed=cfg.seed + rnd, max_batches_per_epoch=cfg.max_batches_per_epoch)
        tr, va = split(calls)
        train_segmenter(model, images[tr], targets[tr], images[va], targets[va], seg_cfg, log=log)  # (2)
        if cfg.score_each_task:
            pred = predict_masks(model, images[calls])
            res.steps.append(_score_step("calls task", rnd, pred, call_truth,
                                         predict_masks(model, images[noise]) if noise.size else None))
            log(f"round {rnd} after the call task: {res.steps[-1]}")
        if noise.size:
            # (3) Noise crops with empty targets. Alone, this phase erases the call task at small budgets (all
            # masks come out empty), so call crops are rehearsed alongside in the share ``noise_rehearsal``.
            tr, va = split(noise)
            n_reh = int(round(cfg.noise_rehearsal * tr.size))
            reh = rng.choice(calls, size=min(n_reh, calls.size), replace=False) if n_reh else np.zeros(0, int)
            tr = np.concatenate([tr, reh])
            seg_cfg.max_epochs = cfg.noise_epochs
            train_segmenter(model, images[tr], targets[tr], images[va], targets[va], seg_cfg, log=log)
        pred = predict_masks(model, images[calls])  # (4)
        noise_pred = predict_masks(model, images[noise]) if noise.size else None
        res.steps.append(_score_step("calls + noise tasks", rnd, pred, call_truth, noise_pred,
                                     {"reconstruction_pct": recon_acc}))
        res.examples[f"autoencoder {rnd}"] = pred[ex].copy()
        log(f"round {rnd} autoencoder: {res.steps[-1]}")
        eroded = np.empty_like(pred)
        applied = 0
        for i in range(len(pred)):
            eroded[i], a = erode_large_segments(pred[i], cfg.kernel, cfg.min_factor)
            applied += a
        res.masks = eroded
        res.steps.append(_score_step("erosion", rnd, eroded, call_truth, None, {"segments_eroded": applied}))
        res.examples[f"erosion {rnd}"] = eroded[ex].copy()
        log(f"round {rnd} erosion: {res.steps[-1]}")
        if applied == 0:
            break
    return res


# --------------------------------------------------------------------------------------------
# Features from masks
# --------------------------------------------------------------------------------------------


def ff_line_from_mask(power: np.ndarray, mask: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """FF(t): per frame, the frequency of the loudest pixel inside the mask (NaN where the mask is empty).

    The peak is refined to sub-bin precision by a parabola through the log power of its neighbours, so a
    mask a few bins wide does not quantise the line.
    """
    power = np.asarray(power, float)
    mask = np.asarray(mask, bool)
    ff = np.full(power.shape[1], np.nan)
    cols = np.flatnonzero(mask.any(axis=0))
    if cols.size == 0:
        return ff
    db = 10 * np.log10(np.maximum(power, 1e-20))
    masked = np.where(mask, db, -np.inf)
    k = np.argmax(masked[:, cols], axis=0)
    df = float(freqs[1] - freqs[0]) if len(freqs) > 1 else 0.0
    for c, kk in zip(cols, k):
        off = 0.0
        if 0 < kk < power.shape[0] - 1:
            a, b, d = db[kk - 1, c], db[kk, c], db[kk + 1, c]
            den = a - 2 * b + d
            off = float(np.clip(0.5 * (a - d) / den, -0.5, 0.5)) if den < 0 else 0.0
        ff[c] = freqs[kk] + off * df
    return ff


def truth_ff_line(contours: dict[str, np.ndarray], call_id: int, times: np.ndarray, hop_s: float) -> np.ndarray:
    """The truth's FF on a frame grid: mean contour frequency within ± half a hop (NaN outside or in gaps)."""
    sel = contours["call_index"] == call_id
    ct, cf = contours["t"][sel], contours["f"][sel].astype(float)
    out = np.full(times.size, np.nan)
    for j, t in enumerate(times):
        w = (ct >= t - hop_s / 2) & (ct < t + hop_s / 2)
        v = cf[w]
        v = v[~np.isnan(v)]
        if v.size:
            out[j] = v.mean()
    return out


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------

#: Built-in settings; ``segment.<preset>`` in config.yaml overrides any of them.
DEFAULT_SETTINGS: dict = {
    "window_s": 0.001, "hop_s": 0.001, "f_lo_hz": 25_000.0, "n_freq": 96, "n_frames": 96, "size": 0,
    "pad_s": 0.01, "dynamic_range_db": 50.0,
    "noise_per_call": 0.2, "test_fraction": 0.25, "val_fraction": 0.1, "max_calls_per_recording": None,
    "seed": 0,
    "squeakout_width": 1.0, "squeakout_last_channels": 1280, "unet_base": 64, "unet_depth": 4,
    "lr": 1e-4, "batch_size": 8, "max_epochs": 200, "batches_per_epoch": None, "plateau_patience": 5,
    "early_stop_patience": 15,
    "refine": {"unet_base": 64, "unet_depth": 4, "pretrain_epochs": 5, "call_epochs": 10, "noise_epochs": 5,
               "max_rounds": 10, "lr": 1e-4, "batches_per_epoch": None, "noise_rehearsal": 1.0},
}


def segment_settings(config: dict) -> dict:
    """The ``segment`` settings of the active preset (``config['preset']``, else ``default``), with defaults."""
    block = dict(config.get("segment") or {})
    preset = config.get("preset", "default")
    chosen = dict(block.get(preset) or block.get("default") or {})
    out = copy.deepcopy(DEFAULT_SETTINGS)
    refine = {**out["refine"], **(chosen.pop("refine", None) or {})}
    out.update(chosen)
    out["refine"] = refine
    out["features_from_mask"] = bool(block.get("features_from_mask", False))
    out["train_masks"] = block.get("train_masks", "truth")
    return out


# --------------------------------------------------------------------------------------------
# Which FF source recovers the truth's features better
# --------------------------------------------------------------------------------------------


def _line_metrics(est: np.ndarray, truth_ff: np.ndarray, truth_duration_s: float, hop_s: float,
                  complete: bool) -> dict[str, float]:
    """Errors of one estimated FF line (NaN = no estimate) against the truth's line on the same frames."""
    voiced = ~np.isnan(truth_ff)
    have = ~np.isnan(est)
    both = voiced & have
    out = dict(coverage=float(both.sum() / max(1, voiced.sum())),
               spurious=float((have & ~voiced).sum() / max(1, have.sum())) if have.any() else np.nan,
               ff_mae_khz=float(np.mean(np.abs(est[both] - truth_ff[both])) / 1e3) if both.any() else np.nan,
               mean_freq_err_khz=(float(abs(np.nanmean(est) - np.nanmean(truth_ff)) / 1e3)
                                  if have.any() and voiced.any() else np.nan),
               duration_err_ms=np.nan)
    if complete and have.any():
        idx = np.flatnonzero(have)
        out["duration_err_ms"] = float(abs((idx[-1] - idx[0] + 1) * hop_s - truth_duration_s) * 1e3)
    return out


def compare_ff_sources(data: dict, rows: np.ndarray, masks: dict[str, np.ndarray], samples: pd.DataFrame,
                       truth_dir: str | Path, channel: int | str = 0, margin_s: float = 0.006,
                       log: Callable[[str], None] = print) -> pd.DataFrame:
    """Per test call: FF line from the spectrogram peak (the features stage's ``ff_line``) and from masks.

    ``rows`` index the dataset's crops; ``masks`` maps a source name to masks for those rows (e.g. SqueakOut's
    prediction, the truth as an oracle). Every line is read within the detection ± ``margin_s`` and scored
    against the truth call that overlaps the detection most: FF error, mean-frequency error, duration error
    (calls wholly inside the crop) and coverage of the truth's voiced frames.
    """
    from .features import ff_line, resolve_params

    grid = CropGrid(**data["grid"])
    meta = data["meta"]
    p = resolve_params({"hop_s": grid.hop_s, "window_s": grid.window_s})
    out = []
    for rec, idx in pd.Series(np.arange(len(rows)), index=meta.loc[rows, "recording"].to_numpy()).groupby(level=0):
        x, fs = read_wav(samples.loc[rec, "path"], channel=channel)
        calls, _, contours = load_truth(truth_dir, rec)
        full = spectrogram(x[:int(60 * fs)], fs, window_s=grid.window_s, hop_s=grid.hop_s)
        keep = np.flatnonzero(full.freqs >= grid.f_lo_hz)[:grid.n_freq]
        floor = np.maximum(np.median(full.power[keep], axis=1), 1e-20)
        for k in idx.to_numpy():
            m = meta.loc[rows[k]]
            on, off = float(m["onset_s"]), float(m["offset_s"])
            if grid.size:
                a, b = max(0.0, on - grid.pad_s), off + grid.pad_s
            else:
                mid = 0.5 * (on + off)
                a, b = max(0.0, mid - grid.n_frames * grid.hop_s / 2), mid + grid.n_frames * grid.hop_s / 2
            power, freqs, times = crop_at(x, fs, a, b, grid)
            ov = np.minimum(calls["offset_s"], off) - np.maximum(calls["onset_s"], on)
            if not len(calls) or ov.max() <= 0:
                continue  # a false detection: no truth line to compare with
            tc = calls.iloc[int(np.argmax(ov.to_numpy()))]
            sel = (times >= on - margin_s) & (times <= off + margin_s)
            if sel.sum() < 2:
                continue
            complete = bool(times[0] <= tc["onset_s"] and times[-1] >= tc["offset_s"])
            truth_ff = truth_ff_line(contours, int(tc["call_id"]), times[sel], grid.hop_s)
            nf = min(len(freqs), floor.size)
            ff, first, last, _ = ff_line(power[:nf, sel], floor[:nf], freqs[:nf], p)
            peak = np.full(int(sel.sum()), np.nan)
            if ff.size:
                seg = np.where(ff > 0, ff, np.nan)
                peak[first:last + 1] = seg
            row = dict(recording=rec, crop=int(rows[k]), call_id=int(tc["call_id"]), call_type=tc["call_type"],
                       truth_duration_ms=float(tc["duration_s"]) * 1e3, complete=complete)
            for name, line in [("peak", peak)] + [
                    (src, ff_line_from_mask(power[:, sel], _as_native(mk[k], power.shape)[:, sel], freqs))
                    for src, mk in masks.items()]:
                for key, val in _line_metrics(line, truth_ff, float(tc["duration_s"]), grid.hop_s,
                                              complete).items():
                    row[f"{name}_{key}"] = val
            out.append(row)
        log(f"{rec}: {int((pd.DataFrame(out)['recording'] == rec).sum()) if out else 0} calls compared")
    return pd.DataFrame(out)


def _as_native(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A mask on the crop's native grid (512×512 masks are resized back, nearest neighbour)."""
    return mask if mask.shape == tuple(shape) else _resize(mask, shape, 0) > 0.5
