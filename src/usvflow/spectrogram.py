"""Spectrograms with settings given in seconds, so they look alike at 250 and 300 kHz."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.signal as sps


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
    """Hann-window power spectrogram of ``x``; ``t0`` is the time of ``x[0]`` in the recording."""
    nper = max(16, int(round(window_s * fs)))
    hop = max(1, int(round(hop_s * fs)))
    sft = sps.ShortTimeFFT(sps.windows.hann(nper, sym=False), hop=hop, fs=fs, mfft=nfft or nper,
                           scale_to="magnitude")
    # Frames whose window lies fully inside the signal only: no zero-padded edge artefacts.
    lo, hi = sft.lower_border_end[1], sft.upper_border_begin(len(x))[1]
    if hi <= lo:
        return Spectrogram(np.zeros((sft.f.size, 0)), sft.f, np.zeros(0))
    s = sft.stft(np.asarray(x, dtype=np.float64), p0=lo, p1=hi)
    return Spectrogram(np.abs(s) ** 2, sft.f, t0 + sft.t(len(x), p0=lo, p1=hi))
