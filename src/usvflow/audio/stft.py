"""The one short-time Fourier transform module: every spectrogram in usvflow is made here.

Settings are given in seconds and Hz (:func:`window_samples`, :func:`hop_samples`), so spectrograms look
alike at 250 and 300 kHz. Every window is a periodic Hann window (:func:`hann`); a full-scale sine
(amplitude 1.0) peaks at :func:`full_scale_magnitude` of the window in ``|rfft|``.

Three ways to compute one, from the same frames and window; the fast ones are tested against the
reference (``tests/test_stft.py``):

:func:`spectrogram` (reference)
    scipy's ``ShortTimeFFT`` in float64, frames fully inside the signal only. Plots, realism measures,
    SqueakOut crops.
:func:`chunk_spectrogram`
    float32 frames, power scaled so a full-scale sine peaks at 1, restricted to a band, with the band's
    per-frequency noise floor (median over time). Per-call features.
:func:`band_power`
    the detector's path: the window applied in the frequency domain to the band's bins only (exact for
    the periodic Hann window), 4 x the power, float32.

The detectors' other uses (the paper's |FFT| frames, the call images) call :func:`frame_view`,
:func:`frame_grid` and :func:`windowed_rfft` directly. Each keeps the arithmetic (dtype, order of
operations) it always had: results are byte-identical to the implementations these replaced.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft
import scipy.signal as sps
from numpy.lib.stride_tricks import sliding_window_view

# --------------------------------------------------------------------------------------------- sizes


def window_samples(window_s: float, fs: int) -> int:
    """Window length in samples for ``window_s`` seconds at ``fs`` Hz (at least 16)."""
    return max(16, int(round(window_s * fs)))


def hop_samples(hop_s: float, fs: int) -> int:
    """Hop in samples for ``hop_s`` seconds at ``fs`` Hz (at least 1)."""
    return max(1, int(round(hop_s * fs)))


def hann(n: int, dtype: type = np.float64) -> np.ndarray:
    """The periodic Hann window of ``n`` samples (``scipy.signal.windows.hann(n, sym=False)``)."""
    win = sps.windows.hann(n, sym=False)
    return win if np.dtype(dtype) == np.float64 else win.astype(dtype)


def rfft_freqs(n: int, fs: int) -> np.ndarray:
    """Centre frequency (Hz) of every ``rfft`` bin of an ``n``-sample frame."""
    return sfft.rfftfreq(n, 1 / fs)


def full_scale_magnitude(win: np.ndarray) -> np.floating:
    """``|rfft|`` of a full-scale sine (amplitude 1.0) at its bin, through window ``win``: sum(win) / 2.

    Returned in the window's dtype, so callers keep the precision they always had."""
    return win.sum() / 2


# --------------------------------------------------------------------------------------------- frames


def frame_view(x: np.ndarray, n: int, hop: int, first: int, count: int) -> np.ndarray:
    """``count`` frames of ``n`` samples every ``hop`` from sample ``first``: a strided view, no copy."""
    return sliding_window_view(x, n)[first : first + count * hop : hop]


def frame_grid(chunk_start: int, n_samples: int, n: int, hop: int) -> tuple[int, int, int]:
    """Frames on the recording-wide grid (frame k starts at sample k*hop) that fit in the chunk:
    (index of the first frame, its offset in the chunk, number of frames)."""
    k0 = -(-chunk_start // hop)
    first = k0 * hop - chunk_start
    count = 0 if n_samples - first < n else (n_samples - first - n) // hop + 1
    return k0, first, count


def windowed_rfft(frames: np.ndarray, win: np.ndarray, workers: int | None = None) -> np.ndarray:
    """``rfft`` of every frame (rows) times ``win``: (frames, n // 2 + 1), complex."""
    return sfft.rfft(frames * win, axis=1, workers=workers)


def power_of(spec: np.ndarray) -> np.ndarray:
    """``re² + im²`` of a complex spectrum (no square root, unlike ``abs(spec) ** 2``)."""
    return np.square(spec.real) + np.square(spec.imag)


# --------------------------------------------------------------------------------------------- reference


@dataclass(frozen=True)
class Spectrogram:
    power: np.ndarray  # (freq, time), |STFT|^2
    freqs: np.ndarray  # bin centres, Hz
    times: np.ndarray  # frame centres, s (offset by ``t0`` of the input)

    def band(self, f_lo: float, f_hi: float) -> "Spectrogram":
        keep = (self.freqs >= f_lo) & (self.freqs <= f_hi)
        return Spectrogram(self.power[keep], self.freqs[keep], self.times)


def spectrogram(x: np.ndarray, fs: int, window_s: float = 0.001, hop_s: float = 0.0005, t0: float = 0.0,
                nfft: int | None = None) -> Spectrogram:
    """Hann-window power spectrogram of ``x``; ``t0`` is the time of ``x[0]`` in the recording.

    Scaled so that a sine of amplitude A peaks at (A/2)² (scipy's ``scale_to="magnitude"``)."""
    nper = window_samples(window_s, fs)
    hop = hop_samples(hop_s, fs)
    sft = sps.ShortTimeFFT(hann(nper), hop=hop, fs=fs, mfft=nfft or nper, scale_to="magnitude")
    # Frames whose window lies fully inside the signal only: no zero-padded edge artefacts.
    lo, hi = sft.lower_border_end[1], sft.upper_border_begin(len(x))[1]
    if hi <= lo:
        return Spectrogram(np.zeros((sft.f.size, 0)), sft.f, np.zeros(0))
    s = sft.stft(np.asarray(x, dtype=np.float64), p0=lo, p1=hi)
    return Spectrogram(np.abs(s) ** 2, sft.f, t0 + sft.t(len(x), p0=lo, p1=hi))


# --------------------------------------------------------------------------------------------- features


@dataclass
class ChunkSpectrogram:
    """Power spectrogram of one stretch of audio, with its per-frequency noise floor."""

    power: np.ndarray  # (freq, time), full-scale sine = 1
    freqs: np.ndarray  # Hz
    times: np.ndarray  # frame centres, s from the file start
    floor: np.ndarray  # (freq,), median power over time
    hop_s: float


def chunk_spectrogram(x: np.ndarray, fs: int, t0: float, p: dict) -> ChunkSpectrogram:
    """|STFT|^2 of ``x`` (starting at ``t0`` s) in the feature band, scaled so a full-scale sine peaks at 1.

    ``p`` holds ``window_s``, ``hop_s``, ``f_lo_hz`` and ``f_hi_hz`` (capped at Nyquist)."""
    n = window_samples(p["window_s"], fs)
    hop = hop_samples(p["hop_s"], fs)
    freqs = rfft_freqs(n, fs)
    band = (freqs >= p["f_lo_hz"]) & (freqs <= min(p["f_hi_hz"], fs / 2))
    if len(x) < n:
        return ChunkSpectrogram(np.zeros((band.sum(), 0)), freqs[band], np.zeros(0), np.zeros(band.sum()), hop / fs)
    win = hann(n)
    frames = np.lib.stride_tricks.sliding_window_view(np.asarray(x, np.float32), n)[::hop]
    spec = windowed_rfft(frames, win.astype(np.float32))[:, band]  # float32 in, complex64 out: fast
    power = (np.abs(spec) ** 2).T / full_scale_magnitude(win) ** 2
    times = t0 + (np.arange(power.shape[1]) * hop + n / 2) / fs
    floor = np.median(power, axis=1) if power.shape[1] else np.zeros(power.shape[0])
    return ChunkSpectrogram(power.astype(np.float64), freqs[band], times, np.maximum(floor, 1e-14), hop / fs)


# --------------------------------------------------------------------------------------------- detector


def band_power(frames: np.ndarray, n: int, b0: int, b1: int, workers: int, out: np.ndarray) -> None:
    """4 x the power of a periodic-Hann STFT of ``frames`` in bins ``b0..b1-1`` into ``out``
    (bins, frames), float32.

    The window is applied in the frequency domain (periodic Hann: X_w[k] = X[k]/2 - (X[k-1] + X[k+1])/4,
    exact), so the FFT reads the strided frames directly instead of a windowed copy, and only the band
    is combined. The factor 4 is left in: it cancels wherever the power is compared with the floor."""
    X = sfft.rfft(frames, axis=1, workers=workers)  # (frames, n//2 + 1)
    if b0 >= 1 and b1 + 1 <= n // 2 + 1:
        E = np.ascontiguousarray(X[:, b0 - 1 : b1 + 1].T)  # (bins, frames): rows contiguous
    else:  # bins outside 0..n/2 are conjugates of their mirror images
        m = np.arange(b0 - 1, b1 + 1) % n
        mirror = m > n // 2
        m[mirror] = n - m[mirror]
        E = np.ascontiguousarray(X[:, m].T)
        E[mirror] = E[mirror].conj()
    H = E[:-2] + E[2:]
    H *= -0.5
    H += E[1:-1]
    np.square(H.real, out=out)
    out += np.square(H.imag)
