"""Fig 6 and Fig 7 numbers beside the paper's, for ``results/stats/fig6.json`` / ``fig7.json``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..interpret.layers import MEASURES, plateau
from ..interpret.settings import confident_rule
from . import paper


def _fmt(v: float, digits: int = 2) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def _p(v: float | None) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{v:.1e}"


def fig6_numbers(summary: pd.DataFrame, tests: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The values of Fig 6 and the summary rows (paper's statement or number beside ours)."""
    def point(measure: str, layer: str, sex: str) -> float:
        s = summary[(summary["measure"] == measure) & (summary["layer"] == layer) & (summary["sex"] == sex)]
        return float(s["mean"].iloc[0]) if len(s) else float("nan")

    layers = list(summary.sort_values("layer_index")["layer"].unique())
    first, last = (layers[0], layers[-1]) if layers else ("", "")
    values: dict[str, Any] = {"layers": layers, "tests": tests,
                              "per_layer": summary.to_dict(orient="records")}
    for s in ("F", "M"):
        values[f"deconv_plateau_{s}"] = plateau(summary, "deconv_stim_corr", s)
        for measure in MEASURES:
            values[f"{measure}_{first}_{s}"] = point(measure, first, s)
            values[f"{measure}_{last}_{s}"] = point(measure, last, s)
    anova = tests.get("sparsity_anova", {}).get("layer", {})
    both = lambda m, layer: f"F {_fmt(point(m, layer, 'F'))} / M {_fmt(point(m, layer, 'M'))}"  # noqa: E731
    rows = [
        {"quantity": f"sparsity, {first} → {last}", "paper": paper.FIG6_SPARSITY,
         "ours": f"{both('sparsity', first)} → {both('sparsity', last)}; ANOVA layer p = {_p(anova.get('p'))}"},
        *[_direction_row(measure, tests.get("sparsity_direction", {}).get(measure)) for measure in
          ("sparsity", "sparsity_seen") if tests.get("sparsity_direction", {}).get(measure)],
        {"quantity": f"sparsity of the units that see sound, {first} → {last}", "paper": "not reported",
         "ours": f"{both('sparsity_seen', first)} → {both('sparsity_seen', last)}"},
        {"quantity": f"within-sex activation correlation, {first} → {last}",
         "paper": paper.FIG6_WITHIN,
         "ours": f"{both('within_corr', first)} → {both('within_corr', last)}"},
        {"quantity": f"across-sex activation correlation, {last}", "paper": paper.FIG6_ACROSS,
         "ours": both("across_corr", last)},
        {"quantity": "deconvolution–stimulus correlation plateau (conv5–6), M", "paper": f"{paper.FIG6_DECONV_PLATEAU['M']:.2f}",
         "ours": _fmt(values["deconv_plateau_M"])},
        {"quantity": "deconvolution–stimulus correlation plateau (conv5–6), F", "paper": f"{paper.FIG6_DECONV_PLATEAU['F']:.2f}",
         "ours": _fmt(values["deconv_plateau_F"])},
        {"quantity": f"within-layer similarity of reconstructions, {first} → {last}",
         "paper": paper.FIG6_SIMILARITY,
         "ours": f"{both('deconv_similarity', first)} → {both('deconv_similarity', last)}"},
    ]
    return values, rows


def _direction_row(measure: str, d: dict[str, Any]) -> dict[str, str]:
    """The direction of a sparsity measure across layers, said plainly when it is not the paper's."""
    verdict = {"increases": "increases, as the paper", "decreases": "DECREASES: the opposite of the paper",
               "no consistent direction": "no consistent direction (the paper: increases)"}[d["direction"]]
    return {"quantity": f"{MEASURES[measure]} across layers: direction (Spearman rho per animal, "
                        f"signed-rank across animals)",
            "paper": "increases",
            "ours": f"{verdict}; median rho {_fmt(d['median_rho'])}, rising in {d['n_rising']}/{d['n_animals']} "
                    f"animals, p = {_p(d['p'])}"}


def _pct(v: float | None) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{100 * v:.1f} %"


def fig7_rows(values: dict[str, Any]) -> list[dict[str, str]]:
    """Summary rows of Fig 7: the paper's numbers beside ours."""
    k = values.get("knn_k", 1)
    rows = [
        {"quantity": f"{k}-NN decoding of sex on the t-SNE map, leave-one-out, all calls", "paper": _pct(paper.FIG7_KNN_ALL),
         "ours": f"{_pct(values['knn_accuracy_all'])} (shuffled {_pct(values['knn_shuffled_mean'])}; "
                 f"n = {values['n_calls']})"},
        {"quantity": f"{k}-NN decoding, confident calls only (CNN {confident_rule(values)})", "paper": _pct(paper.FIG7_KNN_CONFIDENT),
         "ours": f"{_pct(values['knn_accuracy_confident'])} (shuffled {_pct(values['knn_shuffled_confident_mean'])}; "
                 f"n = {values['n_confident']})"},
        {"quantity": f"{k}-NN decoding, neighbours from other animals only", "paper": "not reported",
         "ours": _pct(values["knn_accuracy_other_animals"])},
    ]
    if values.get("dominant_cluster") is not None:
        rows.append({"quantity": "most sex-dominated cluster (k-means + binomial, Bonferroni)",
                     "paper": paper.FIG7_CLUSTER,
                     "ours": (f"{values['dominant_cluster_sex']}-dominated, {values['dominant_cluster_size']} calls, "
                              f"{_pct(values['dominant_cluster_male_share'])} male, p = "
                              f"{values['dominant_cluster_p_bonferroni']:.1e}; from "
                              f"{values['dominant_cluster_male_animals']}/{values['n_male_animals']} males and "
                              f"{values['dominant_cluster_female_animals']}/{values['n_female_animals']} females")})
    return rows
