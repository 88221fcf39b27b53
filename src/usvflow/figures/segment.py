"""Figures of the SqueakOut stage: refinement steps (Fig 3), augmentation gallery (Fig 5), examples (Fig 6)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def _show(ax: plt.Axes, img: np.ndarray, cmap: str = "gray", title: str = "") -> None:
    ax.imshow(img, origin="lower", cmap=cmap, aspect="auto", interpolation="nearest", vmin=0,
              vmax=255 if img.dtype == np.uint8 else 1)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=7)


def plot_refinement(steps: pd.DataFrame, images: np.ndarray, truth: np.ndarray | None,
                    examples: dict[str, np.ndarray], out: str, note: str) -> None:
    """Fig 3: Dice and accuracy of each refinement step against the truth, and example masks per step."""
    names = list(examples)
    n_ex = len(images)
    fig = plt.figure(figsize=(max(8, 1.3 * (len(names) + 2)), 3 + 1.3 * n_ex))
    gs = fig.add_gridspec(1 + n_ex, len(names) + 2, height_ratios=[2.2] + [1] * n_ex)
    ax = fig.add_subplot(gs[0, :])
    labels = [f"{r.step} {r['round']}" if r.step != "threshold" else "threshold" for _, r in steps.iterrows()]
    x = np.arange(len(steps))
    if "dice_mean" in steps:
        ax.errorbar(x, steps["dice_mean"], yerr=steps["dice_sem"], marker="o", color="tab:blue",
                    label="Dice vs truth (call crops)")
        ax2 = ax.twinx()
        ax2.errorbar(x, steps["accuracy_mean"], yerr=steps["accuracy_sem"], marker="s", color="tab:red",
                     label="pixel accuracy (%)")
        ax2.set_ylabel("pixel accuracy (%)", color="tab:red")
        if "noise_empty_pct" in steps:
            ok = steps["noise_empty_pct"].notna()
            ax.plot(x[ok], steps.loc[ok, "noise_empty_pct"], "^--", color="tab:green",
                    label="noise crops left empty (%)")
    ax.set_xticks(x, labels, rotation=20, fontsize=7)
    ax.set_ylabel("Dice ×100 / % empty")
    ax.legend(loc="lower left", fontsize=7)
    ax.set_title(f"Automated dataset refinement scored against the truth\n{note}", fontsize=8)
    for i in range(n_ex):
        _show(fig.add_subplot(gs[1 + i, 0]), images[i], title="spectrogram" if i == 0 else "")
        if truth is not None:
            _show(fig.add_subplot(gs[1 + i, 1]), truth[i], "viridis", "truth" if i == 0 else "")
        for j, name in enumerate(names):
            _show(fig.add_subplot(gs[1 + i, j + 2]), examples[name][i], "viridis", name if i == 0 else "")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def plot_augmentations(image: np.ndarray, mask: np.ndarray, single: dict[str, tuple[np.ndarray, np.ndarray]],
                       combined: list[tuple[np.ndarray, np.ndarray, list[str]]], out: str, note: str) -> None:
    """Fig 5: (A) an example crop, (B) each augmentation alone, (C) random draws of the paper's policy."""
    ncol = max(len(single), len(combined)) + 1
    fig, axes = plt.subplots(4, ncol, figsize=(1.5 * ncol, 6.2))
    for ax in axes.flat:
        ax.axis("off")
    _show(axes[0, 0], image, title="(A) example")
    _show(axes[1, 0], mask.astype(float), "viridis", "mask")
    for j, (name, (im, mk)) in enumerate(single.items(), start=1):
        _show(axes[0, j], im, title=f"(B) {name}")
        _show(axes[1, j], mk.astype(float), "viridis")
    for j, (im, mk, applied) in enumerate(combined, start=1):
        _show(axes[2, j], im, title="(C) " + (" + ".join(applied) or "none"))
        _show(axes[3, j], mk.astype(float), "viridis")
    fig.suptitle(f"Augmentations (image above its mask)\n{note}", fontsize=8)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def plot_examples(images: np.ndarray, columns: dict[str, np.ndarray], scores: dict[str, tuple[np.ndarray, np.ndarray]],
                  out: str, note: str) -> None:
    """Fig 6: spectrogram, truth and each method's mask, with per-image accuracy (red) and Dice (blue)."""
    n = len(images)
    names = list(columns)
    fig, axes = plt.subplots(n, len(names) + 1, figsize=(1.7 * (len(names) + 1), 1.6 * n + 0.6))
    axes = np.atleast_2d(axes)
    for i in range(n):
        _show(axes[i, 0], images[i], title="spectrogram" if i == 0 else "")
        for j, name in enumerate(names, start=1):
            _show(axes[i, j], columns[name][i].astype(float), "viridis", name if i == 0 else "")
            if name in scores:
                acc, dice = scores[name]
                axes[i, j].text(0.02, 0.97, f"{acc[i] * 100:.1f}", color="red", fontsize=7, va="top",
                                transform=axes[i, j].transAxes)
                axes[i, j].text(0.98, 0.97, f"{dice[i] * 100:.1f}", color="deepskyblue", fontsize=7, va="top",
                                ha="right", transform=axes[i, j].transAxes)
    fig.suptitle(f"Held-out test crops: accuracy (red, %) and Dice (blue) per image\n{note}", fontsize=8)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
