"""Figures 6 and 7 and the S1 movie of Ivanenko et al. 2020. Each function reads computed results and draws;
none of them computes a result (the numbers come from :mod:`usvflow.interpret` and :mod:`usvflow.report.interpret`)."""

from __future__ import annotations

from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")  # files only; no display on clusters or CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import TwoSlopeNorm  # noqa: E402

from ..report import paper  # noqa: E402
from .features import FEMALE, MALE  # noqa: E402

ACROSS = "#9467bd"  # purple: across-sex correlation (paper Fig 6D)
SEX_COLOUR = {"F": FEMALE, "M": MALE}
# The call images: rows 25-125 kHz (1 kHz each), columns 0-100 ms (1 ms each).
IMAGE_EXTENT = (0, 100, 25, 125)


def _image(ax: plt.Axes, img: np.ndarray, title: str = "", cmap: str = "gray_r", extent: Sequence[float] | None = None,
           **kw: Any) -> None:
    ax.imshow(img, origin="lower", aspect="auto", cmap=cmap, extent=extent, interpolation="nearest", **kw)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=7)


def _activation_image(act: np.ndarray) -> np.ndarray:
    """A layer's activation as an image: conv maps averaged over channels; vectors as a near-square grid."""
    if act.ndim == 3:
        return act.mean(axis=0)
    side = int(np.ceil(np.sqrt(act.size)))
    grid = np.full(side * side, np.nan)
    grid[:act.size] = act
    return grid.reshape(side, side)


def _curve(ax: plt.Axes, summary: pd.DataFrame, measure: str, ylabel: str, title: str,
           across: bool = False) -> None:
    """Mean ± 2 SEM per layer and sex (the paper's error bars)."""
    s = summary[summary["measure"] == measure]
    layers = s.sort_values("layer_index")["layer"].unique()
    for sex, colour in SEX_COLOUR.items():
        d = s[s["sex"] == sex].sort_values("layer_index")
        if len(d):
            label = {"F": "female", "M": "male"}[sex] + (" → other sex" if across else "")
            ax.errorbar(d["layer_index"], d["mean"], yerr=2 * d["sem"].fillna(0), color=ACROSS if across else colour,
                        marker="o" if sex == "F" else "s", ms=3, lw=1, capsize=2, label=label,
                        ls="--" if across and sex == "M" else "-")
    ax.set_xticks(range(len(layers)))
    ax.set_xticklabels(layers, fontsize=6, rotation=45)
    ax.set_ylabel(ylabel, fontsize=7)
    ax.set_title(title, fontsize=8, loc="left")
    ax.tick_params(labelsize=6)


def plot_fig6(summary: pd.DataFrame, examples: dict[str, dict[str, Any]], values: dict[str, Any],
              subtitle: str) -> plt.Figure:
    """Fig 6: A/B activations of a female and a male example per layer; C sparsity; D within/across-sex
    correlation; E/F deconvolution reconstructions per layer; G reconstruction–stimulus correlation;
    H within-layer similarity of the reconstructions."""
    sexes = [s for s in ("F", "M") if s in examples]
    n_layers = max((len(e["layers"]) for e in examples.values()), default=0)
    fig = plt.figure(figsize=(13, 9.5))
    outer = fig.add_gridspec(2, 2, width_ratios=[3.2, 1], hspace=0.35, wspace=0.25)
    for block, (key, panel) in enumerate([("activations", "A/B"), ("reconstructions", "E/F")]):
        grid = outer[block, 0].subgridspec(max(1, len(sexes)), n_layers + 1, wspace=0.08, hspace=0.3)
        for r, sex in enumerate(sexes):
            ex = examples[sex]
            ax = fig.add_subplot(grid[r, 0])
            _image(ax, ex["stimulus"], f"{panel[0]}: {'female' if sex == 'F' else 'male'} input", extent=None)
            ax.set_ylabel(f"{ex['animal']}", fontsize=6, color=SEX_COLOUR[sex])
            for li, layer in enumerate(ex["layers"]):
                ax = fig.add_subplot(grid[r, li + 1])
                if key == "activations":
                    _image(ax, _activation_image(ex["activations"][li]), layer, cmap="magma")
                else:
                    rec = ex["reconstructions"][li]
                    lim = float(np.abs(rec).max()) or 1.0
                    _image(ax, rec, layer, cmap="RdBu_r", norm=TwoSlopeNorm(0, -lim, lim))
        fig.text(0.01, 0.93 if block == 0 else 0.47,
                 "B: activation per layer (conv: mean over channels; FC: units)" if block == 0 else
                 "F: deconvolution of each layer's activity back to the input", fontsize=8)
    right_top = outer[0, 1].subgridspec(2, 1, hspace=0.6)
    right_bot = outer[1, 1].subgridspec(2, 1, hspace=0.6)
    ax = fig.add_subplot(right_top[0])
    _curve(ax, summary, "sparsity", "1 − active/total", "C  sparsity (dotted: units that see sound)")
    for sex, colour in SEX_COLOUR.items():  # units whose receptive field holds sound only
        d = summary[(summary["measure"] == "sparsity_seen") & (summary["sex"] == sex)].sort_values("layer_index")
        ax.plot(d["layer_index"], d["mean"], ls=":", color=colour, lw=1)
    ax.legend(fontsize=6, frameon=False)
    ax = fig.add_subplot(right_top[1])
    _curve(ax, summary, "within_corr", "correlation", "D  within (red/blue) / across (purple) sex")
    _curve(ax, summary, "across_corr", "correlation", "D  within (red/blue) / across (purple) sex", across=True)
    ax.axhline(0, color="k", lw=0.5)
    ax.legend(fontsize=5, frameon=False)
    ax = fig.add_subplot(right_bot[0])
    _curve(ax, summary, "deconv_stim_corr", "correlation", "G  reconstruction vs stimulus")
    for sex, ref in paper.FIG6_DECONV_PLATEAU.items():
        ax.axhline(ref, color=SEX_COLOUR[sex], lw=0.6, ls=":")
    ax.text(0.02, 0.02, f"dotted: paper's plateau (M {paper.FIG6_DECONV_PLATEAU['M']:.2f}, F {paper.FIG6_DECONV_PLATEAU['F']:.2f})", transform=ax.transAxes, fontsize=5)
    ax = fig.add_subplot(right_bot[1])
    _curve(ax, summary, "deconv_similarity", "correlation", "H  similarity between units")
    fig.suptitle(f"Fig 6 — structure of the sex CNN's activity and representation ({subtitle})", fontsize=9)
    return fig


def _point_size(n: int) -> float:
    """Marker area that keeps a few hundred and ten thousand points both readable."""
    return float(np.clip(3000.0 / max(n, 1), 1.0, 12.0))


def _scatter3d(ax: Any, calls: pd.DataFrame, colour: Any, title: str, s: float | None = None, **kw: Any) -> Any:
    size = _point_size(len(calls)) if s is None else s
    sc = ax.scatter(calls["x"], calls["y"], calls["z"], c=colour, s=size, linewidths=0, alpha=0.75,
                    rasterized=True, **kw)  # thousands of points: raster keeps the PDF small
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_zticks([])
    ax.set_title(title, fontsize=8)
    return sc


def _sex_colours(calls: pd.DataFrame) -> np.ndarray:
    return np.where(calls["sex"].to_numpy() == "M", MALE, FEMALE)


def plot_fig7(calls: pd.DataFrame, grid: dict[str, np.ndarray], images: np.ndarray, values: dict[str, Any],
              subtitle: str) -> plt.Figure:
    """Fig 7: A map by sex (dominant cluster circled); B examples inside/outside the cluster; C male and
    female densities and their difference; D confident calls only; E–G overlays; H kNN decoding."""
    fig = plt.figure(figsize=(14, 10))
    gs = fig.add_gridspec(3, 4, hspace=0.3, wspace=0.15)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(calls))  # neither sex painted over the other systematically
    shuffled = calls.iloc[order]

    ax = fig.add_subplot(gs[0, 0], projection="3d")
    _scatter3d(ax, shuffled, _sex_colours(shuffled), "A  t-SNE of spectrograms (red F, blue M)")
    best = values.get("dominant_cluster")
    if best is not None:
        inside = calls[calls["cluster"] == best]
        ax.scatter(inside["x"], inside["y"], inside["z"], facecolors="none", edgecolors="k", s=6, linewidths=0.3,
                   rasterized=True)

    sub = gs[0, 1].subgridspec(5, 1, hspace=0.15)
    rows_in = values.get("example_rows_inside", [])
    rows_out = values.get("example_rows_outside", [])
    for i, (row, where) in enumerate([(r, "outside") for r in rows_out] + [(r, "cluster") for r in rows_in]):
        if i >= 5:
            break
        ax = fig.add_subplot(sub[i])
        sex = calls.loc[calls["row"] == row, "sex"]
        _image(ax, images[row], extent=IMAGE_EXTENT)
        ax.set_ylabel(where, fontsize=5, color=SEX_COLOUR.get(sex.iloc[0] if len(sex) else "", "k"))
        if i == 0:
            ax.set_title(f"B  examples (bottom {len(rows_in)}: cluster {best})", fontsize=8)

    c = gs[0, 2:].subgridspec(1, 3, wspace=0.05)
    proj = {k: np.asarray(grid[k]).sum(axis=2) for k in ("male", "female", "difference")}  # onto t-SNE axes 1-2
    ax_ = grid["axes"]
    ext = (ax_[0][0], ax_[0][-1], ax_[1][0], ax_[1][-1])
    for j, (key, title, cmap) in enumerate([("male", "C  male density", "Blues"), ("female", "female density", "Reds"),
                                            ("difference", "male − female", "RdBu")]):
        ax = fig.add_subplot(c[j])
        img = proj[key].T
        if key == "difference":
            lim = float(np.abs(img).max()) or 1.0
            ax.imshow(-img, origin="lower", extent=ext, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.text(0.02, 0.02, "blue: male-dominated", transform=ax.transAxes, fontsize=5)
        else:
            ax.imshow(img, origin="lower", extent=ext, aspect="auto", cmap=cmap)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(title, fontsize=8)

    conf = shuffled[shuffled["confident"]]
    ax = fig.add_subplot(gs[1, 0], projection="3d")
    _scatter3d(ax, conf, _sex_colours(conf), f"D  confident only (p<0.1 / >0.9, n={len(conf)})")
    for axis, col in zip("xyz", "xyz"):  # same frame as A, however few confident calls there are
        getattr(ax, f"set_{axis}lim")(calls[col].min(), calls[col].max())
    overlay_cols = [c for c in calls.columns if c.endswith(("(kHz)", "(ms)"))]
    for j, col in enumerate(overlay_cols[:3]):
        ax = fig.add_subplot(gs[1, j + 1], projection="3d")
        v = shuffled[col].to_numpy(float)
        lo, hi = np.nanpercentile(v, [2, 98]) if np.isfinite(v).any() else (0, 1)
        sc = _scatter3d(ax, shuffled, v, f"{'EFG'[j]}  {col}", cmap="viridis", vmin=lo, vmax=hi)
        fig.colorbar(sc, ax=ax, shrink=0.5, pad=0.02).ax.tick_params(labelsize=5)

    ax = fig.add_subplot(gs[2, 0])
    names = ["all calls", "confident", "other animals"]
    ours = [values.get("knn_accuracy_all"), values.get("knn_accuracy_confident"), values.get("knn_accuracy_other_animals")]
    published = [paper.FIG7_KNN_ALL, paper.FIG7_KNN_CONFIDENT, np.nan]
    chance = [values.get("knn_shuffled_mean"), values.get("knn_shuffled_confident_mean"), values.get("knn_shuffled_mean")]
    xs = np.arange(len(names))
    ax.bar(xs - 0.2, [100 * (o if o is not None else np.nan) for o in ours], 0.4, color="0.4", label="this run")
    ax.bar(xs + 0.2, [100 * p for p in published], 0.4, color="0.8", label="paper")
    ax.scatter(xs - 0.2, [100 * (ch if ch is not None else np.nan) for ch in chance], marker="_", s=200, color="k",
               label="shuffled labels", zorder=3)
    for x, o in zip(xs, ours):
        if o is None or not np.isfinite(o):
            ax.text(x - 0.2, 2, "too few\ncalls", ha="center", fontsize=5, rotation=90)
    ax.set_xticks(xs)
    ax.set_xticklabels(names, fontsize=7)
    ax.set_ylabel(f"{values.get('knn_k', 1)}-NN accuracy, leave-one-out (%)", fontsize=7)
    ax.set_ylim(0, 100)
    ax.legend(fontsize=6, frameon=False)
    ax.set_title("H  nearest-neighbour decoding of sex on the map", fontsize=8, loc="left")
    ax.tick_params(labelsize=6)

    ax = fig.add_subplot(gs[2, 1:])
    ax.axis("off")
    cnn_conf = values.get("cnn_accuracy_confident")
    lines = [f"calls: {values.get('n_calls')} ({values.get('n_female')} F, {values.get('n_male')} M); "
             f"with a held-out CNN score: {values.get('n_with_score')}; confident: {values.get('n_confident')}"
             + (f" (CNN accuracy on them {100 * cnn_conf:.1f} %)" if cnn_conf is not None and np.isfinite(cnn_conf)
                else "")]
    if best is None:
        lines.append("no cluster of the map was large enough to test for sex dominance")
    else:
        lines.append(f"most sex-dominated cluster (k-means, binomial test, Bonferroni): {values['dominant_cluster_sex']}, "
                     f"{values['dominant_cluster_size']} calls, {100 * values['dominant_cluster_male_share']:.0f} % male, "
                     f"p = {values['dominant_cluster_p_bonferroni']:.1e}; calls from {values['dominant_cluster_male_animals']}"
                     f"/{values['n_male_animals']} males, {values['dominant_cluster_female_animals']}/"
                     f"{values['n_female_animals']} females; {values['significant_clusters']} clusters significant")
    ax.text(0, 0.9, "\n".join(lines), fontsize=7, va="top", wrap=True)
    fig.suptitle(f"Fig 7 — the space of calls and the emitter's sex ({subtitle})", fontsize=9)
    return fig


def movie_s1(calls: pd.DataFrame, path: str, frames: int = 48, fps: int = 12, dpi: int = 60,
             subtitle: str = "") -> None:
    """S1 Video: the 3-D t-SNE map by sex, revolving once around the vertical axis, as a GIF."""
    from matplotlib.animation import FuncAnimation, PillowWriter

    fig = plt.figure(figsize=(4.5, 4.5))
    ax = fig.add_subplot(projection="3d")
    order = np.random.default_rng(0).permutation(len(calls))
    shuffled = calls.iloc[order]
    _scatter3d(ax, shuffled, _sex_colours(shuffled), f"t-SNE of spectrograms: red F, blue M\n{subtitle}")
    fig.tight_layout()

    def turn(i: int) -> list:
        ax.view_init(elev=20, azim=360.0 * i / frames)
        return []

    FuncAnimation(fig, turn, frames=frames).save(path, writer=PillowWriter(fps=fps), dpi=dpi)
    plt.close(fig)
