"""Figures. Each function reads computed results and draws; none of them computes a result."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on clusters or CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..audio.io import read_wav  # noqa: E402
from ..audio.stft import spectrogram  # noqa: E402
from ..simulate.realism import MEASURES  # noqa: E402

FEMALE, MALE = "#d62728", "#1f77b4"  # the paper's colours: female red, male blue
SIM_COLOUR, REAL_COLOUR = "#7f7f7f", "#2ca02c"


def _snippet(ax, wav: str | Path, start_s: float, length_s: float, title: str) -> None:
    """A spectrogram stretch in dB above each bin's median (the noise floor), 20-125 kHz."""
    x, fs = read_wav(wav)
    spec = spectrogram(x, fs, window_s=0.001, hop_s=0.0005)
    floor = np.median(spec.power, axis=1, keepdims=True) + 1e-20
    cols = (spec.times >= start_s) & (spec.times <= start_s + length_s)
    rows = (spec.freqs >= 20e3) & (spec.freqs <= min(125e3, fs / 2))
    db = 10 * np.log10(spec.power[np.ix_(rows, cols)] / floor[rows])
    ax.imshow(np.clip(db, 0, 40), origin="lower", aspect="auto", cmap="gray_r", vmin=0, vmax=40,
              extent=[0, length_s * 1e3, spec.freqs[rows][0] / 1e3, spec.freqs[rows][-1] / 1e3])
    ax.set_title(title, fontsize=8)
    ax.set_xlabel("time (ms)", fontsize=7)
    ax.set_ylabel("kHz", fontsize=7)
    ax.tick_params(labelsize=6)


def _busiest_window(onsets: np.ndarray, length_s: float) -> float:
    """Start of the window holding the most call onsets (first such window)."""
    if len(onsets) == 0:
        return 0.0
    onsets = np.sort(onsets)
    counts = np.searchsorted(onsets, onsets + length_s * 0.9) - np.arange(len(onsets))
    return max(0.0, float(onsets[int(np.argmax(counts))]) - 0.02)


def plot_simulator_vs_real(sim: pd.DataFrame, real: pd.DataFrame, table: pd.DataFrame, sim_wavs: list,
                           sim_truth: list[pd.DataFrame], realdata_dir: str | Path, out: str | Path,
                           note: str, length_s: float = 0.6) -> None:
    """Spectrogram snippets (real top, simulated below) and five distributions with their distances."""
    fig = plt.figure(figsize=(11, 8.5))
    grid = fig.add_gridspec(3, 5, height_ratios=[1, 1, 1.1], hspace=0.55, wspace=0.35)
    clips = sorted(Path(realdata_dir).glob("clip*/"))
    for k, clip in enumerate(clips[:5]):
        truth = pd.read_csv(clip / "truth.csv", header=None).to_numpy()
        start = _busiest_window(truth[:, 0], length_s)
        _snippet(fig.add_subplot(grid[0, k]), clip / "recording.wav", start, length_s, f"real: AMVOC {clip.name}")
    for k, (wav, truth) in enumerate(list(zip(sim_wavs, sim_truth))[:5]):
        start = _busiest_window(truth["onset_s"].to_numpy(), length_s)
        _snippet(fig.add_subplot(grid[1, k]), wav, start, length_s, f"simulated: {Path(wav).stem}")
    for k, (key, label) in enumerate(MEASURES.items()):
        ax = fig.add_subplot(grid[2, k])
        a, b = sim[key].dropna(), real[key].dropna()
        lo, hi = np.nanpercentile(np.r_[a, b], [0.5, 99.5])
        bins = np.linspace(lo, hi, 30)
        ax.hist(a, bins=bins, density=True, color=SIM_COLOUR, alpha=0.6, label=f"simulated (n={len(a)})")
        ax.hist(b, bins=bins, density=True, histtype="step", color=REAL_COLOUR, lw=1.5, label=f"real (n={len(b)})")
        row = table.set_index("measure").loc[key]
        ax.set_title(f"KS D = {row.ks_distance:.2f}\nW = {row.wasserstein:.1f}", fontsize=8)
        ax.set_xlabel(label, fontsize=7)
        ax.tick_params(labelsize=6)
        if k == 0:
            ax.legend(fontsize=6, frameon=False)
    fig.suptitle("Simulated vs real calls, measured alike inside annotated intervals\n" + note, fontsize=10)
    fig.savefig(out)
    plt.close(fig)
