"""Spectrogram crops around calls and the VocalMat-style threshold masks (the baseline)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.ndimage as ndi

from ..audio.stft import hop_samples, spectrogram, window_samples

PAPER_SIZE = 512


@dataclass(frozen=True)
class CropGrid:
    """Where crops come from. Native crops are ``n_freq`` bins from ``f_lo_hz`` × ``n_frames`` frames.

    ``size`` = 0 keeps native pixels; ``size`` = 512 resizes each crop (the call's own time span plus
    ``pad_s`` either side, over the same band) to size × size as the paper's images are.

    ``floor`` = "recording" divides every frequency bin by its median power over the whole recording before the
    grey scale (:func:`recording_floor`), so stationary noise (a constant tonal band) is background in every crop;
    "crop" keeps the raw power. A 96-ms crop alone cannot tell a tonal band crossing it from a long flat call.
    """

    window_s: float = 0.001
    hop_s: float = 0.001
    f_lo_hz: float = 25_000.0
    n_freq: int = 96
    n_frames: int = 96
    size: int = 0
    pad_s: float = 0.01
    dynamic_range_db: float = 50.0
    floor: str = "recording"


def grid_from_config(cfg: dict) -> CropGrid:
    """A :class:`CropGrid` from the ``segment`` config block (unknown keys ignored)."""
    names = set(CropGrid.__dataclass_fields__)
    return CropGrid(**{k: v for k, v in cfg.items() if k in names})


def to_gray(power: np.ndarray, dynamic_range_db: float) -> np.ndarray:
    """dB power → uint8 grayscale: the crop's median level maps to a dark grey, ``dynamic_range_db`` above to white.

    The median is the crop's background (calls cover a few % of pixels), so crops from loud and quiet
    recordings look alike. Per-row whitening *within* a crop would erase long flat calls; the recording-wide
    per-row floor (:func:`crop_image`) does not, since a call covers a small share of a recording's frames.
    """
    db = 10 * np.log10(np.maximum(power, 1e-20))
    lo = np.median(db) - 5.0
    return np.clip(np.round((db - lo) / dynamic_range_db * 255), 0, 255).astype(np.uint8)


def recording_floor(x: np.ndarray, fs: int, grid: CropGrid, max_s: float | None = None,
                    chunk_s: float = 10.0) -> np.ndarray:
    """Median power of each of the grid's ``n_freq`` bins over a whole recording (or its first ``max_s`` s).

    The recording's stationary background per frequency: calls, clicks and bursts cover a small share of any bin's
    frames, so the median sits on the noise floor, a constant tonal band included. Computed in ``chunk_s`` pieces
    on the crops' own STFT grid; bins past Nyquist repeat the last bin (their crops are padded, see :func:`crop_at`).
    """
    x = x[:int(max_s * fs)] if max_s else x
    nper = window_samples(grid.window_s, fs)
    step = max(1, int(chunk_s / grid.hop_s)) * hop_samples(grid.hop_s, fs)
    parts, keep = [], None
    for s0 in range(0, max(1, len(x) - nper + 1), step):
        spec = spectrogram(x[s0:s0 + step + nper], fs, window_s=grid.window_s, hop_s=grid.hop_s)
        if keep is None:
            keep = np.flatnonzero(spec.freqs >= grid.f_lo_hz)[:grid.n_freq]
        parts.append(spec.power[keep].astype(np.float32))
    power = np.concatenate(parts, axis=1)
    floor = np.median(power, axis=1) if power.shape[1] else np.ones(power.shape[0])
    floor = np.maximum(floor.astype(np.float64), 1e-20)
    return np.concatenate([floor, np.full(grid.n_freq - floor.size, floor[-1])]) if floor.size < grid.n_freq else floor


def crop_image(power: np.ndarray, grid: CropGrid, floor: np.ndarray | None = None) -> np.ndarray:
    """The grayscale image of one native crop: power over the recording's floor (``grid.floor`` = "recording")."""
    if grid.floor == "recording":
        if floor is None:
            raise ValueError("grid.floor is 'recording': pass the recording's floor (recording_floor)")
        power = power / floor[:power.shape[0], None]
    return to_gray(power, grid.dynamic_range_db)


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
    nper = window_samples(grid.window_s, fs)
    hop = hop_samples(grid.hop_s, fs)
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
