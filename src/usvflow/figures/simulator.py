"""Figures. Each function reads computed results and draws; none of them computes a result."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on clusters or CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

from ..audio.io import read_wav  # noqa: E402
from ..audio.stft import spectrogram  # noqa: E402
from ..simulate.realism import MEASURES  # noqa: E402
from . import style  # noqa: E402

FEMALE, MALE = "#d62728", "#1f77b4"  # the paper's colours: female red, male blue
SIM_COLOUR, REAL_COLOUR = "#7f7f7f", "#2ca02c"
# A and B: the snippets' time ticks stop short of the right end (the last tick's label would run into the next
# panel's "0"): ticks past this fraction of the stretch are dropped.
TIME_TICK_END = 0.85
# C-G: room between the histograms for each one's density values and label (a fraction of a panel's width).
DENSITY_WSPACE = 0.8


def db_above_floor(power: np.ndarray, freqs: np.ndarray, smooth_hz: float = 20e3) -> np.ndarray:
    """Power (freq, time) in dB above the recording's noise floor, for display.

    The floor of each frequency bin is its median over time, smoothed across ``smooth_hz`` of neighbouring bins
    by a running median: the floor keeps the broad spectral tilt of microphone and room, but a stationary
    narrowband sound (an electrical tone) stays visible as a dark line instead of setting its own bin's floor
    and showing as a white stripe."""
    from scipy.ndimage import median_filter

    profile = np.median(power, axis=1)
    step = float(np.median(np.diff(freqs))) if len(freqs) > 1 else smooth_hz
    width = max(1, int(round(smooth_hz / step)) | 1)
    floor = median_filter(profile, size=width, mode="nearest") + 1e-20
    return 10 * np.log10(power / floor[:, None] + 1e-20)


def _snippet(ax, wav: str | Path, start_s: float, length_s: float, title: str):
    """A spectrogram stretch in dB above each bin's median (the noise floor), 20-125 kHz; returns the image."""
    x, fs = read_wav(wav)
    spec = spectrogram(x, fs, window_s=0.001, hop_s=0.0005)
    cols = (spec.times >= start_s) & (spec.times <= start_s + length_s)
    rows = (spec.freqs >= 20e3) & (spec.freqs <= min(125e3, fs / 2))
    db = db_above_floor(spec.power, spec.freqs)[np.ix_(rows, cols)]
    ax.set_title(title)
    return ax.imshow(np.clip(db, 0, 40), origin="lower", aspect="auto", cmap="gray_r", vmin=0, vmax=40,
                     extent=[0, length_s * 1e3, spec.freqs[rows][0] / 1e3, spec.freqs[rows][-1] / 1e3])


def time_ticks(length_ms: float, n: int = 3) -> np.ndarray:
    """A and B's time ticks (ms): round steps from 0 (matplotlib's choice of about ``n`` intervals) up to
    :data:`TIME_TICK_END` of the stretch, so that no label reaches the panel's right edge."""
    ticks = MaxNLocator(n).tick_values(0.0, length_ms)
    return ticks[(ticks >= 0) & (ticks <= TIME_TICK_END * length_ms)]


def _busiest_window(onsets: np.ndarray, length_s: float) -> float:
    """Start of the window holding the most call onsets (first such window)."""
    if len(onsets) == 0:
        return 0.0
    onsets = np.sort(onsets)
    counts = np.searchsorted(onsets, onsets + length_s * 0.9) - np.arange(len(onsets))
    return max(0.0, float(onsets[int(np.argmax(counts))]) - 0.02)


@style.styled
def plot_simulator_vs_real(sim: pd.DataFrame, real: pd.DataFrame, table: pd.DataFrame, sim_wavs: list,
                           sim_truth: list[pd.DataFrame], realdata_dir: str | Path, out: str | Path,
                           note: str, length_s: float = 0.6) -> None:
    """A: real snippets; B: as many simulated ones; C-G: five distributions with their distances.

    ``note`` is the data notice (the tag above the title)."""
    clips = sorted(Path(realdata_dir).glob("clip*/"))
    n = max(1, min(5, len(clips), len(sim_wavs)))  # the same number of real and simulated examples
    fig = plt.figure(figsize=(style.PRINT_WIDTH_IN, 6.6))
    grid = fig.add_gridspec(3, n + 1, height_ratios=[1, 1, 1.15], hspace=0.6, wspace=0.15,
                            width_ratios=[1] * n + [0.08])
    first = image = None
    rows = [[("real: AMVOC " + c.name, c / "recording.wav", pd.read_csv(c / "truth.csv", header=None)[0])
             for c in clips[:n]],
            [(f"simulated: {Path(w).stem}", w, t["onset_s"]) for w, t in list(zip(sim_wavs, sim_truth))[:n]]]
    for r, row in enumerate(rows):
        for k, (title, wav, onsets) in enumerate(row):
            ax = fig.add_subplot(grid[r, k], sharex=first, sharey=first)
            first = first or ax
            image = _snippet(ax, wav, _busiest_window(np.asarray(onsets, float), length_s), length_s,
                             ("AB"[r] + "  " if k == 0 else "") + title)
            ax.set_xticks(time_ticks(length_s * 1e3))
            ax.tick_params(labelleft=k == 0, labelbottom=r == 1)
            if k == 0:
                ax.set_ylabel("frequency (kHz)")
            if r == 1:
                ax.set_xlabel("time (ms)")
    if image is not None:
        style.colorbar(fig, image, None, "dB above floor", cax=fig.add_subplot(grid[:2, -1]))
    sub = grid[2, :].subgridspec(1, len(MEASURES), wspace=DENSITY_WSPACE)
    for k, (key, label) in enumerate(MEASURES.items()):
        ax = fig.add_subplot(sub[0, k])
        a, b = sim[key].dropna(), real[key].dropna()
        lo, hi = np.nanpercentile(np.r_[a, b], [0.5, 99.5])
        bins = np.linspace(lo, hi, 30)
        ax.hist(a, bins=bins, density=True, color=SIM_COLOUR, alpha=0.6, label=f"simulated (n={len(a)})")
        ax.hist(b, bins=bins, density=True, histtype="step", color=REAL_COLOUR, lw=1.5, label=f"real (n={len(b)})")
        row = table.set_index("measure").loc[key]
        unit = label.split("(")[1].split(",")[0].rstrip(")") if "(" in label else ""
        ax.set_title(f"{'CDEFG'[k]}  D={row.ks_distance:.2f}\nW₁={row.wasserstein:.3g} {unit}", loc="center")
        name, _, rest = label.partition(" (")  # the unit on its own lines, narrow enough for the panel
        xlabel = name + ("\n" + textwrap.fill("(" + rest, 18) if rest else "")
        # The density's values, in 1 per the measure's unit (area 1 under each histogram): three ticks,
        # plain numbers ("0.02", not an offset text above the panel).
        style.label_axes(ax, xlabel, "density", y_unit=f"1/{unit}" if unit else None)
        ax.yaxis.set_major_locator(MaxNLocator(3))
        ax.xaxis.set_major_locator(MaxNLocator(3))  # a few values: "250500750" ran together in a narrow panel
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.2g}"))
        if k == 0:
            fig.legend(*ax.get_legend_handles_labels(), loc="upper right", ncol=2, frameon=False)
    style.add_note(fig, "D: Kolmogorov-Smirnov distance; W₁: Wasserstein-1 (earth mover's) distance, in the "
                   "measure's unit. Densities: area 1 (values in 1 per the measure's unit).", color="black")
    fig.suptitle("Simulated vs real calls, measured alike inside annotated intervals", x=0.01, ha="left",
                 fontweight="bold")
    style.save(fig, out, note)
