"""The 100 x 100 call images (see :mod:`usvflow.detect`, "Outputs"), in two formats (``image_format``):

``default``
    1 ms per column from the call's onset (calls cut at 100 ms), 1 kHz per row from 25 kHz: each pixel the
    same patch of time and frequency whatever the call's length.
``paper``
    the Methods of Ivanenko et al. 2020, "Input data preparation and augmentation": the call's spectrogram as
    an N x 233 image (N = its duration in ms, 1 ms per time bin; 233 frequency bins, here 25-125 kHz in bins
    of 100/233 kHz, the band every other analysis uses), values 0-255, cut at 100 ms, rescaled to M x 100
    keeping the aspect ratio (M = round(N x 100/233), anti-aliased, scikit-image as the paper used) and
    aligned to the left of the 100 x 100 image. A pixel is then 2.33 ms x 1 kHz, and a 100 ms call fills
    43 of the 100 columns. The Methods do not say which 233 bins; the band is our reading.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..audio.stft import (
    full_scale_magnitude,
    hann,
    power_of,
    rfft_freqs,
    window_samples,
    windowed_rfft,
)
from .params import IMAGE_F_LO_HZ, IMAGE_F_STEP_HZ, IMAGE_SIZE, IMAGE_T_STEP_S

#: The paper format's source image: 233 frequency bins spanning the 100 rows of the default format.
PAPER_BINS = 233
IMAGE_FORMATS = ("default", "paper")


def _image_axes(image_format: str = "default") -> tuple[np.ndarray, np.ndarray]:
    """Time of each column (s from the onset) and frequency of each row (Hz) of the 100 x 100 image."""
    t_step = IMAGE_T_STEP_S * (PAPER_BINS / IMAGE_SIZE if image_format == "paper" else 1.0)
    times = np.arange(IMAGE_SIZE) * t_step
    freqs = IMAGE_F_LO_HZ + np.arange(IMAGE_SIZE) * IMAGE_F_STEP_HZ
    return times, freqs


def _source_rows(image_format: str) -> np.ndarray:
    """Frequency (Hz) of the rows computed from the FFT: the image's own rows, or the paper's 233 bins."""
    if image_format == "paper":
        return IMAGE_F_LO_HZ + np.arange(PAPER_BINS) * (IMAGE_SIZE * IMAGE_F_STEP_HZ / PAPER_BINS)
    if image_format != "default":
        raise ValueError(f"image_format must be one of {IMAGE_FORMATS}, got {image_format!r}")
    return _image_axes()[1]


def paper_layout(source: np.ndarray) -> np.ndarray:
    """The Methods' last steps for one call: an (F, N) image (frequency rows x 1 ms columns, already cut at
    100 ms, values 0-255) rescaled by IMAGE_SIZE / F on both axes (aspect ratio kept: (F, N) → (100, M),
    M = round(N x 100 / F), anti-aliased bilinear, :func:`skimage.transform.resize`) and aligned left in a
    100 x 100 uint8 image."""
    from skimage.transform import resize  # only the paper format needs it

    rows, n = source.shape
    m = int(min(IMAGE_SIZE, max(1, round(n * IMAGE_SIZE / rows))))
    out = np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    scaled = resize(source.astype(np.float64), (IMAGE_SIZE, m), order=1, mode="edge", anti_aliasing=True,
                    preserve_range=True)
    out[:, :m] = np.clip(np.round(scaled), 0, 255).astype(np.uint8)
    return out


def _call_images(x: np.ndarray, sr: int, chunk_start: int, onsets: np.ndarray, offsets: np.ndarray,
                 p: dict, floor: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """The paper's 100 x 100 uint8 image of each call (see module docstring).

    ``floor``: the chunk's noise floor (frequencies in Hz, log10 power) from the default detector. Where it
    stands above its median over the image rows (a constant tonal band, low-frequency leakage), the excess
    is taken off each row before scaling. Such stationary noise belongs to the recording, not the call: left
    in, a network trained on a few recordings learns "tonal band at X kHz" as a trait of the animal.

    All calls of a chunk are done at once (one gather, one FFT) and the bins are interpolated to the
    1 kHz rows with two taps per row: no BLAS call, whose spinning worker threads would compete with the
    chunk threads for the cores, and no per-call Python work but one median (the background level)."""
    out = np.zeros((len(onsets), IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    if len(onsets) == 0:
        return out
    image_format = p.get("image_format", "default")
    n = window_samples(p["image_window_s"], sr)
    win = hann(n, np.float32)
    freqs = rfft_freqs(n, sr)
    rows = _source_rows(image_format)
    # Linear interpolation from FFT bins to 1 kHz rows; rows beyond Nyquist stay 0.
    inside = rows <= freqs[-1]
    j = np.clip(np.searchsorted(freqs, rows, side="right") - 1, 0, len(freqs) - 2)
    w = ((rows - freqs[j]) / (freqs[j + 1] - freqs[j])).astype(np.float32)
    ncol = np.clip(np.ceil((offsets - onsets) / IMAGE_T_STEP_S - 1e-9), 1, IMAGE_SIZE).astype(int)
    call = np.repeat(np.arange(len(onsets)), ncol)
    col = np.arange(len(call)) - np.repeat(np.cumsum(ncol) - ncol, ncol)
    # Column c is the window centred on onset + (c + 0.5) ms.
    centres = (onsets * sr - chunk_start)[call] + (col + 0.5) * (IMAGE_T_STEP_S * sr)
    starts = np.round(centres - n / 2).astype(np.int64)
    ok = (starts >= 0) & (starts + n <= len(x))
    if not ok.any():
        return out
    call, col, starts = call[ok], col[ok], starts[ok]
    spec = power_of(windowed_rfft(sliding_window_view(x, n)[starts], win, workers=1))
    img = spec[:, j] * (1 - w) + spec[:, j + 1] * w  # (columns, rows)
    img[:, ~inside] = 0
    db = 10 * np.log10(np.maximum(img, 1e-30))
    if floor is not None and inside.any():
        row_floor = 10 * np.interp(rows, floor[0], floor[1])
        excess = np.maximum(row_floor - np.median(row_floor[inside]), 0.0).astype(np.float32)
        db -= excess[None, :]
    dr = p["image_dynamic_range_db"]
    first = np.flatnonzero(np.r_[True, call[1:] != call[:-1]])
    bounds = np.r_[first, len(call)]
    if p.get("image_level", "call") == "full_scale":
        # A sine of amplitude 1 peaks at (sum(win) / 2)^2 in this power spectrum.
        top = np.full(len(call), 20 * np.log10(float(full_scale_magnitude(win))), np.float32)
    else:
        top = np.repeat(np.maximum.reduceat(db.max(axis=1), first), np.diff(bounds))  # each call's maximum
    scaled = np.clip((db - (top - dr)[:, None]) / dr, 0, 1) * 255
    margin = p.get("image_floor_margin_db")
    if margin is not None and inside.any():
        # The paper's sparse images: background bins are set to 0. A call covers a few of the 100 rows,
        # so the median bin of its image is background; without this, the floor's grey level tells the
        # network each recording's noise level (and, relative to the call, its SNR).
        med = np.array([np.median(db[a:b][:, inside]) for a, b in zip(bounds[:-1], bounds[1:])], np.float32)
        scaled[db < np.repeat(med, np.diff(bounds))[:, None] + margin] = 0
    if image_format == "paper":
        for a, b in zip(bounds[:-1], bounds[1:]):
            src = np.zeros((len(rows), ncol[call[a]]))
            src[:, col[a:b]] = scaled[a:b].T  # columns lost at a chunk's edge stay 0, as in the default
            out[call[a]] = paper_layout(np.round(src))
        return out
    out[call, :, col] = np.round(scaled).astype(np.uint8)
    return out
