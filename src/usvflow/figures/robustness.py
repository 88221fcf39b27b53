"""The seed sweep (``snakemake robustness``): one seed's headline numbers, and the figure over all seeds.

:func:`seed_headline` reads what one run's rules wrote (fold metrics, the call-space numbers of Fig 7) with the
same functions as Figs 3-5 (:mod:`usvflow.figures.models`), so a seed's numbers are computed exactly as the
default run's are. :func:`plot_robustness` draws ``figures/robustness.csv`` and ``robustness_seeds.csv``
(:mod:`usvflow.report.robustness`).
"""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..report.robustness import HEADLINES  # noqa: E402
from . import models as pm  # noqa: E402
from . import style  # noqa: E402


def seed_headline(metrics: pd.DataFrame, callspace: dict[str, Any]) -> dict[str, Any]:
    """One run's headline numbers: per leave-one-animal-out model of :data:`HEADLINES`, the summary of its fold
    accuracies (``mean``, ``sem``, ``n``, ...); the Fig 3 tests under fig3.json's keys (``p_cnn_above_chance``,
    ``cnn_vs_ridge``, ``cnn_vs_svm``), so :func:`usvflow.report.claims.check_sex_claims` reads the file as it reads
    fig3.json; and 1-NN decoding on the t-SNE map from ``callspace`` (results/stats/fig7.json's values)."""
    acc = {h.key: pm.accuracies(metrics, h.task, h.model, "loao") for h in HEADLINES if h.task}
    values: dict[str, Any] = {key: pm.summary_of(a) for key, a in acc.items()}
    cnn = acc["sex_loao_cnn"]
    values["p_cnn_above_chance"] = pm.vs_chance(cnn, 0.5)
    values["cnn_vs_ridge"] = pm.paired(cnn, acc["sex_loao_ridge"])
    values["cnn_vs_svm"] = pm.paired(cnn, acc["sex_loao_svm"])
    for h in HEADLINES:
        if not h.task:
            values[h.key] = {"mean": callspace.get(h.key)}
    return values


@style.styled
def plot_robustness(long: pd.DataFrame, summary: pd.DataFrame, title: str) -> plt.Figure:
    """Top: every headline accuracy per seed (dots), its mean ± SD over seeds (squares), chance (dashed line).
    Bottom: each claim's pass rate over seeds."""
    acc = summary[summary["kind"] == "accuracy"].reset_index(drop=True)
    claims = summary[summary["kind"] == "claim"].reset_index(drop=True)
    fig, (ax, bx) = plt.subplots(2, 1, figsize=(7.5, 0.3 * (len(acc) + len(claims)) + 2.4),
                                 height_ratios=[len(acc) + 1, len(claims) + 1])
    y = np.arange(len(acc))[::-1]
    seeds = sorted(long["seed"].unique())
    cmap = plt.get_cmap("viridis", max(len(seeds), 2))
    for yi, row in zip(y, acc.itertuples()):
        per_seed = long[(long["kind"] == "accuracy") & (long["quantity"] == row.quantity)]
        for s in per_seed.itertuples():
            ax.plot(s.value, yi + 0.15, "o", ms=3.5, color=cmap(seeds.index(s.seed)), alpha=0.9)
        if np.isfinite(row.mean):
            sd = row.sd if np.isfinite(row.sd) else 0.0
            ax.errorbar(row.mean, yi - 0.15, xerr=sd, fmt="s", ms=4, color="black", capsize=2, lw=1)
    ax.axvline(50, color="0.6", lw=0.8, ls="--")
    ax.set_yticks(y, acc["quantity"])
    ax.set_ylim(-0.7, len(acc) - 0.3)
    style.label_axes(ax, x="accuracy, held-out animals (1-NN: calls)", x_unit="%", y="headline number")
    ax.set_title(f"A  {len(seeds)} seeds (dots), mean ± SD (squares)")
    handles = [plt.Line2D([], [], marker="o", ls="", ms=3.5, color=cmap(i), label=str(s)) for i, s in enumerate(seeds)]
    ax.legend(handles=handles, title="simulation seed", loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    yc = np.arange(len(claims))[::-1]
    bx.barh(yc, 100 * claims["pass_rate"].to_numpy(float), color="#b2182b", height=0.6)
    for yi, row in zip(yc, claims.itertuples()):
        bx.text(100 * row.pass_rate + 2, yi, row.holds, va="center", fontsize=7)
    bx.set_yticks(yc, list(claims["quantity"]))
    bx.set_xlim(0, 110)
    style.label_axes(bx, x="seeds on which it holds", x_unit="%", y="claim (Fig 3D/E)")
    bx.set_title("B  claims' pass rate")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
