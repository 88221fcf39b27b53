"""Figures 1 and 2 of Ivanenko et al. 2020. Each function draws computed results; none computes a result."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on clusters or CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from ..features.columns import FEATURES_9, NAMES_9, PROPERTIES, PROPERTY_NAMES  # noqa: E402

FEMALE, MALE = "#d62728", "#1f77b4"  # the paper's colours: female red, male blue
# Displayed units of the nine features (column → (scale, unit)).
UNITS_9 = {"duration_s": (1e3, "ms"), "mean_frequency_hz": (1e-3, "kHz"), "volume_db": (1.0, "dB re full scale")}


def level_colours(levels: list[str]) -> dict[str, str]:
    """F red, M blue as in the paper; other labels (e.g. strains) red for the first level, blue for the second."""
    known = {"F": FEMALE, "M": MALE}
    return {lvl: known.get(lvl, (FEMALE, MALE)[i % 2]) for i, lvl in enumerate(levels)}


def _stars(p: float | None) -> str:
    if p is None or not np.isfinite(p):
        return "n/a"
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else "n.s."


def plot_fig1(table: pd.DataFrame, images: np.ndarray, features: pd.DataFrame, stats: dict,
              stretch: dict, group: str, levels: list[str], note: str, out: str | Path,
              n_examples: int = 4, seed: int = 0) -> None:
    """Fig 1: example calls per group, a raw stretch with detections, property distributions, counts and rates.

    ``stretch``: ``{"db": (freq, time) dB above floor, "times": s, "freqs": Hz, "calls": DataFrame,
    "title": str}`` — a spectrogram already computed by the caller (display only).
    """
    colours = level_colours(levels)
    fig = plt.figure(figsize=(11, 9))
    grid = fig.add_gridspec(4, 2 * n_examples, height_ratios=[1, 1, 1.2, 1.1], hspace=0.7, wspace=0.45)
    rng = np.random.default_rng(seed)
    # B: random example spectrograms per group (the paper's 100 x 100 images).
    for r, lvl in enumerate(levels):
        idx = np.flatnonzero(table[group].astype(str).to_numpy() == lvl)
        pick = np.sort(rng.choice(idx, size=min(n_examples * 2, idx.size), replace=False)) if idx.size else []
        for k, i in enumerate(pick):
            ax = fig.add_subplot(grid[r, k])
            ax.imshow(images[i], origin="lower", cmap="gray_r", aspect="auto", extent=[0, 100, 25, 125])
            ax.set_title(f"{lvl} {table['animal'].iloc[i]}", fontsize=7, color=colours[lvl])
            ax.tick_params(labelsize=5)
            if k == 0:
                ax.set_ylabel("kHz", fontsize=6)
            if r == len(levels) - 1:
                ax.set_xlabel("ms", fontsize=6)
    # C: a stretch of one recording with its detected calls.
    ax = fig.add_subplot(grid[2, :])
    t, f = stretch["times"], stretch["freqs"]
    if stretch["db"].size:
        ax.imshow(np.clip(stretch["db"], 0, 40), origin="lower", aspect="auto", cmap="gray_r", vmin=0, vmax=40,
                  extent=[t[0], t[-1], f[0] / 1e3, f[-1] / 1e3])
    for c in stretch["calls"].itertuples():
        ax.add_patch(Rectangle((c.onset_s, c.f_min_hz / 1e3 - 2), c.offset_s - c.onset_s,
                               (c.f_max_hz - c.f_min_hz) / 1e3 + 4, fill=False, ec="#ff7f0e", lw=0.8))
    ax.set_title(stretch["title"], fontsize=8)
    ax.set_xlabel("time (s)", fontsize=7)
    ax.set_ylabel("kHz", fontsize=7)
    ax.tick_params(labelsize=6)
    # E: distributions of the six scored properties per group.
    sub = grid[3, :].subgridspec(1, len(PROPERTIES) + 1, wspace=0.5)
    for k, prop in enumerate(PROPERTIES):
        ax = fig.add_subplot(sub[0, k])
        vals = np.sort(features[prop].dropna().unique())
        width = 0.8 / len(levels)
        for j, lvl in enumerate(levels):
            v = features.loc[table[group].astype(str).to_numpy() == lvl, prop].dropna()
            share = [100 * np.mean(v == x) if len(v) else 0 for x in vals]
            ax.bar(np.arange(len(vals)) + (j - (len(levels) - 1) / 2) * width, share, width, color=colours[lvl],
                   label=lvl)
        ax.set_xticks(np.arange(len(vals)), [f"{x:g}" for x in vals], fontsize=6)
        ax.set_title(PROPERTY_NAMES[prop], fontsize=7)
        ax.tick_params(labelsize=6)
        if k == 0:
            ax.set_ylabel("% of calls", fontsize=7)
            ax.legend(fontsize=6, frameon=False)
    # Counts and rates (numbers from fig1.json).
    ax = fig.add_subplot(sub[0, -1])
    rates = stats["values"]["rates_per_animal"]
    for j, lvl in enumerate(levels):
        r = np.array([v for a, v in rates.items() if stats["values"]["animal_group"][a] == lvl], float)
        ax.scatter(np.full(r.size, j) + np.linspace(-0.15, 0.15, max(r.size, 1))[: r.size], r, s=8,
                   color=colours[lvl])
        if r.size:
            sem = r.std(ddof=1) / np.sqrt(r.size) if r.size > 1 else 0
            ax.errorbar(j + 0.3, r.mean(), yerr=sem, fmt="o", color="k", ms=3, capsize=2)
    counts = stats["values"]["calls_per_group"]
    ax.set_xticks(range(len(levels)), [f"{lvl}\nn={counts.get(lvl, 0)}" for lvl in levels], fontsize=6)
    ax.set_ylabel("calls / min", fontsize=7)
    ax.set_title("rate per animal", fontsize=7)
    ax.tick_params(labelsize=6)
    fig.suptitle(f"Fig 1 — vocalizations and their properties. {note}", fontsize=9)
    fig.savefig(out, bbox_inches="tight")
    plt.close(fig)


def _scatter3d(fig, spec, Y: np.ndarray, labels: np.ndarray, levels: list[str], title: str, seed: int = 0) -> None:
    ax = fig.add_subplot(spec, projection="3d")
    colours = level_colours(levels)
    order = np.random.default_rng(seed).permutation(len(Y))  # no group drawn on top of the other
    c = np.array([colours.get(lvl, "#7f7f7f") for lvl in labels])[order]
    if len(Y):
        ax.scatter(Y[order, 0], Y[order, 1], Y[order, 2], c=c, s=1.5, alpha=0.6, depthshade=False, linewidths=0)
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_zticks([])


def plot_fig2(features: pd.DataFrame, group: str, levels: list[str], embeddings: dict[str, np.ndarray],
              stats: dict, note: str, out: str | Path) -> None:
    """Fig 2: A-I the nine features by group (box plot + mean ± SEM, rank-sum p); J-M PCA / t-SNE in 3-D."""
    colours = level_colours(levels)
    tests = {t["feature"]: t for t in stats["values"]["tests"]}
    fig = plt.figure(figsize=(12, 9))
    grid = fig.add_gridspec(3, 6, height_ratios=[1, 1, 1.5], hspace=0.55, wspace=0.6)
    labels = features[group].astype(str).to_numpy()
    for k, col in enumerate(FEATURES_9):
        ax = fig.add_subplot(grid[k // 5, k % 5] if k < 5 else grid[1, k - 5])
        scale, unit = UNITS_9.get(col, (1.0, ""))
        data = [features.loc[labels == lvl, col].dropna().to_numpy(float) * scale for lvl in levels]
        bp = ax.boxplot(data, positions=[0, 2], widths=0.6, showfliers=False, patch_artist=True)
        for patch, lvl in zip(bp["boxes"], levels):
            patch.set(facecolor="white", edgecolor=colours[lvl])
        for j, (d, lvl) in enumerate(zip(data, levels)):
            if d.size:
                sem = d.std(ddof=1) / np.sqrt(d.size) if d.size > 1 else 0
                ax.errorbar(2 * j + 0.7, d.mean(), yerr=sem, fmt="o", color=colours[lvl], ms=3, capsize=2)
        t = tests.get(col, {})
        ax.set_title(f"{chr(65 + k)}  {NAMES_9[col]}\np={t.get('p', np.nan):.2g} {_stars(t.get('p'))}", fontsize=7)
        ax.set_xticks([0, 2], levels, fontsize=6)
        ax.set_ylabel(unit, fontsize=6)
        ax.tick_params(labelsize=6)
    ax = fig.add_subplot(grid[1, 4:])
    ax.axis("off")
    n_sig, n = stats["values"]["n_significant"], len(FEATURES_9)
    ax.text(0, 0.5, f"Wilcoxon rank-sum, {levels[0]} vs {levels[1]}:\n{n_sig}/{n} significant (p<0.05)\n"
            f"paper: 7/9 (not mean frequency, direction)\nbox: median/IQR; dot: mean ± SEM", fontsize=7, va="center")
    panels = [("features.pca", "J  PCA, 9 features"), ("spectrograms.pca", "K  PCA, spectrograms"),
              ("features.tsne", "L  t-SNE, 9 features"), ("spectrograms.tsne", "M  t-SNE, spectrograms")]
    sub = grid[2, :].subgridspec(1, 4, wspace=0.05)
    for k, (key, title) in enumerate(panels):
        _scatter3d(fig, sub[0, k], embeddings[key], labels, levels, title)
    fig.suptitle(f"Fig 2 — single features and dimensionality reduction by {group}. {note}", fontsize=9)
    fig.savefig(out, bbox_inches="tight")
    plt.close(fig)
