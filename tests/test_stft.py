"""The one STFT module: every fast path (features, the two detectors, the call images) against the reference
spectrogram, and the full-scale reference against a sine of known amplitude."""
from __future__ import annotations

import numpy as np
import pytest

from usvflow.audio import stft
from usvflow.detect.images import _call_images
from usvflow.detect.paper import _PaperSpectrogram
from usvflow.detect.params import DEFAULT_PARAMS, IMAGE_F_LO_HZ

FS = 300_000


@pytest.fixture(scope="module")
def signal() -> np.ndarray:
    """A chirp and a tone in white noise, float32 like a decoded WAV."""
    rng = np.random.default_rng(7)
    t = np.arange(int(0.2 * FS)) / FS
    x = 0.3 * np.sin(2 * np.pi * (50e3 * t + 0.5 * 1e5 * t**2)) + 0.05 * np.sin(2 * np.pi * 80e3 * t)
    return (x + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def _reference(x, n, hop):
    """|STFT|² of every full frame from sample 0, unscaled (scipy's reference times sum(win)²)."""
    ref = stft.spectrogram(x, FS, window_s=n / FS, hop_s=hop / FS)
    win = stft.hann(n)
    count = (len(x) - n) // hop + 1
    # scipy keeps the frames fully inside the signal; they start at multiples of the hop from sample 0
    first = int(round((ref.times[0] - n / (2 * FS)) * FS / hop))
    return ref.power * win.sum() ** 2, ref.freqs, first, min(count - first, ref.power.shape[1])


def test_sizes_in_seconds():
    assert stft.window_samples(0.001, 300_000) == 300 and stft.window_samples(0.001, 250_000) == 250
    assert stft.window_samples(1e-6, 250_000) == 16  # never shorter than 16 samples
    assert stft.hop_samples(0.0005, 250_000) == 125 and stft.hop_samples(0.0, 250_000) == 1
    n = 500
    assert stft.hann(n).dtype == np.float64 and stft.hann(n, np.float32).dtype == np.float32
    assert stft.hann(n)[0] == 0 and stft.hann(n)[n // 2] == 1  # periodic: zero at 0, peak at n/2


def test_full_scale_reference_is_a_unit_sine():
    """A sine of amplitude 1 on a bin centre peaks at full_scale_magnitude(win) in |rfft|."""
    n = 500
    k = 100
    x = np.sin(2 * np.pi * k * np.arange(n) / n)
    win = stft.hann(n)
    peak = np.abs(stft.windowed_rfft(x[None, :], win))[0].max()
    assert peak == pytest.approx(float(stft.full_scale_magnitude(win)), rel=1e-9)
    spec = stft.chunk_spectrogram(np.tile(x, 20).astype(np.float32), FS, 0.0,
                                  {"window_s": n / FS, "hop_s": 250 / FS, "f_lo_hz": 0.0, "f_hi_hz": 150e3})
    assert spec.power.max() == pytest.approx(1.0, rel=1e-5)  # features: full-scale sine = 1


def test_feature_spectrogram_matches_reference(signal):
    n, hop = 500, 250
    ref, freqs, first, count = _reference(signal, n, hop)
    spec = stft.chunk_spectrogram(signal, FS, 0.0, {"window_s": n / FS, "hop_s": hop / FS, "f_lo_hz": 25e3,
                                                     "f_hi_hz": 125e3})
    band = (freqs >= 25e3) & (freqs <= 125e3)
    scale = float(stft.full_scale_magnitude(stft.hann(n))) ** 2
    got = spec.power[:, first:first + count] * scale
    np.testing.assert_allclose(got, ref[band][:, :count], rtol=2e-3, atol=1e-6 * ref.max())


def test_detector_band_power_matches_reference(signal):
    """The default detector's frequency-domain window gives 4 x the reference power in its band."""
    n, hop = 300, 150
    ref, freqs, first, count = _reference(signal, n, hop)
    b0, b1 = 30, 121  # 30-120 kHz at 1 kHz per bin
    out = np.empty((b1 - b0, count), np.float32)
    stft.band_power(stft.frame_view(signal, n, hop, first, count), n, b0, b1, 1, out)
    np.testing.assert_allclose(out / 4, ref[b0:b1, :count], rtol=2e-3, atol=1e-6 * ref.max())


def test_detector_band_power_at_the_band_edges(signal):
    """Bins next to 0 Hz and Nyquist use the mirrored neighbours: still the reference."""
    n, hop = 300, 150
    ref, _, first, count = _reference(signal, n, hop)
    out = np.empty((n // 2 + 1, count), np.float32)
    stft.band_power(stft.frame_view(signal, n, hop, first, count), n, 0, n // 2 + 1, 1, out)
    np.testing.assert_allclose(out / 4, ref[:, :count], rtol=2e-3, atol=1e-5 * ref.max())


def test_paper_detector_frames_match_reference(signal):
    p = {**DEFAULT_PARAMS["paper"]}
    sp = _PaperSpectrogram(FS, p)
    ref, _, first, count = _reference(signal, sp.n, sp.hop)
    mag = sp.magnitude(signal, first * sp.hop, count, workers=1)
    np.testing.assert_allclose(mag.T ** 2, ref[:, :count], rtol=2e-3, atol=1e-6 * ref.max())


def test_call_images_are_the_reference_spectrogram_of_the_call(signal):
    """A call image's brightest row is where the reference spectrogram puts the call's energy."""
    p = {**DEFAULT_PARAMS["default"], "image_floor_margin_db": None}
    img = _call_images(signal, FS, 0, np.array([0.05]), np.array([0.1]), p)[0]
    ref = stft.spectrogram(signal, FS, window_s=p["image_window_s"], hop_s=0.001)
    cols = (ref.times > 0.05) & (ref.times < 0.1)
    ref_peak = ref.freqs[ref.power[:, cols].argmax(axis=0)]
    img_peak = IMAGE_F_LO_HZ + img[:, : cols.sum()].argmax(axis=0) * 1_000.0
    assert np.median(np.abs(img_peak - ref_peak[: len(img_peak)])) <= 1_500
