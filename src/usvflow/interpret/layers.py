"""One leave-one-animal-out fold of the sex CNN analysed layer by layer, the per-layer summary and tests."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from .activations import layer_activations, pattern_correlation, seen_masks, sparsity, sparsity_seen
from .deconv import deconv_operators, deconv_scores, layer_reconstruction
from .examples import MEASURES as EXAMPLE_MEASURES
from .examples import image_measures, representative_call, typicality
from .settings import DEFAULT_SETTINGS, NetworkSettings

# --------------------------------------------------------------------------------------------- one fold


def analyse_fold(model: nn.Module, x: torch.Tensor, table: pd.DataFrame, held_out: str,
                 settings: NetworkSettings = DEFAULT_SETTINGS, layer_names: Sequence[str] | None = None,
                 correct: np.ndarray | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """All Fig 6 measurements of one leave-one-animal-out fold.

    ``x``: the cohort's network inputs (n, 1, S, S), row-aligned with ``table`` (columns ``call_uid``,
    ``animal``, ``sex`` in F/M). Returns a long table with one row per (held-out call, layer): ``sparsity``,
    ``sparsity_seen`` (over the units whose receptive field sees sound),
    ``within_corr``, ``across_corr`` and, for the deconvolved subsample, ``deconv_stim_corr`` and
    ``deconv_similarity`` (NaN otherwise); and the example for plotting: the held-out call most typical of
    its sex among those the fold's network classifies correctly (``correct``, per row of ``table``; None: all
    held-out calls), by :mod:`usvflow.interpret.examples` — its stimulus, per-layer activations, whole-layer
    reconstructions, typicality ``distance`` and ``measures``.
    """
    sex = table["sex"].astype(str).str.upper().to_numpy()
    animal = table["animal"].astype(str).to_numpy()
    test = np.flatnonzero(animal == str(held_out))
    if test.size == 0:
        raise ValueError(f"no calls of held-out animal {held_out}")
    rng = np.random.default_rng([settings.seed, sum(map(ord, str(held_out)))])
    refs = []
    for s in ("F", "M"):
        pool = np.flatnonzero((animal != str(held_out)) & (sex == s))
        refs.append(np.sort(rng.choice(pool, min(len(pool), settings.reference_calls_per_sex), replace=False)))
    ref = np.concatenate(refs)
    names = list(layer_names or [f"layer{i + 1}" for i in range(len(model.conv) + len(model.fc))])

    acts = layer_activations(model, x[test], settings.batch_size)
    seen = seen_masks(model, x[test])
    ref_acts = layer_activations(model, x[ref], settings.batch_size) if ref.size else None
    deconv_idx = np.sort(rng.choice(test.size, min(test.size, settings.deconv_calls_per_animal), replace=False))
    steps = deconv_operators(model)
    guided = settings.deconv_rule == "guided"
    deconv_acts = [a[deconv_idx] for a in acts]

    frames = []
    for li, name in enumerate(names):
        n = test.size
        row = pd.DataFrame({"call_uid": table["call_uid"].to_numpy()[test], "animal": animal[test],
                            "sex": sex[test], "fold": str(held_out), "layer": name, "layer_index": li,
                            "sparsity": sparsity(acts[li]),
                            "sparsity_seen": sparsity_seen(acts[li], seen[li] if li < len(seen) else None)})
        if ref_acts is not None:
            row["within_corr"], row["across_corr"] = pattern_correlation(acts[li], sex[test], ref_acts[li], sex[ref])
        else:
            row["within_corr"] = row["across_corr"] = np.nan
        scores = np.full((n, 2), np.nan)
        scores[deconv_idx] = deconv_scores(steps, li, deconv_acts, x[test[deconv_idx], 0].numpy(), rng,
                                           settings.units_per_layer, guided)
        stim_corr, similarity = scores[:, 0], scores[:, 1]
        row["deconv_stim_corr"] = stim_corr
        row["deconv_similarity"] = similarity
        frames.append(row)

    # the example: drawn from no random stream, so the measurements above do not depend on it
    measures = image_measures(x[:, 0].numpy())
    distance = typicality(measures, sex)
    ok = np.ones(test.size, bool) if correct is None else np.asarray(correct, bool)[test]
    j = int(np.flatnonzero(test == representative_call(distance, test[ok], test))[0])
    example = {"call_uid": str(table["call_uid"].iloc[test[j]]), "animal": str(held_out), "sex": sex[test[j]],
               "stimulus": x[test[j], 0].numpy(), "distance": float(distance[test[j]]),
               "correct": None if correct is None else bool(ok[j]),  # False: the fold got none right
               "measures": {m: float(measures[m].iloc[test[j]]) for m in EXAMPLE_MEASURES},
               "activations": [a[j] for a in acts],
               "reconstructions": [layer_reconstruction(steps, li, [a[j] for a in acts], guided).numpy()
                                   for li in range(len(names))],
               "layers": names}
    return pd.concat(frames, ignore_index=True), example


# --------------------------------------------------------------------------------------------- statistics


MEASURES = {"sparsity": "sparsity", "sparsity_seen": "sparsity of units that see sound", "within_corr": "within-sex correlation", "across_corr": "across-sex correlation",
            "deconv_stim_corr": "reconstruction–stimulus correlation", "deconv_similarity": "within-layer similarity"}


def summarise_layers(long: pd.DataFrame) -> pd.DataFrame:
    """Mean, SEM and n per (measure, layer, sex) over calls; the plotted points of Fig 6C/D/G/H."""
    rows = []
    for measure in MEASURES:
        for (li, layer, s), grp in long.groupby(["layer_index", "layer", "sex"], sort=True):
            v = grp[measure].to_numpy(float)
            v = v[np.isfinite(v)]
            rows.append({"measure": measure, "layer_index": li, "layer": layer, "sex": s, "n": v.size,
                         "mean": float(v.mean()) if v.size else np.nan,
                         "sem": float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else np.nan})
    return pd.DataFrame(rows)


def layer_statistics(long: pd.DataFrame) -> dict[str, Any]:
    """The tests behind Fig 6C/D/G/H.

    * sparsity: two-way ANOVA (layer × sex, type II sums of squares, statsmodels) as the paper, and a
      Kruskal–Wallis test across layers per sex (the per-call values are bounded and skewed); its direction
      across layers (:func:`direction_test`, per animal then across animals), also of ``sparsity_seen``
      (an ANOVA on thousands of calls is significant whichever way the curve goes);
    * within- and across-sex correlation: Kruskal–Wallis across layers; per layer, the Wilcoxon signed-rank
      test of within vs across on the same calls;
    * reconstruction–stimulus correlation and within-layer similarity: Kruskal–Wallis across layers per sex,
      and Wilcoxon rank-sum M vs F per layer.
    """
    import statsmodels.formula.api as smf
    from scipy import stats
    from statsmodels.stats.anova import anova_lm

    out: dict[str, Any] = {}
    d = long[np.isfinite(long["sparsity"])]
    if d["layer"].nunique() > 1 and d["sex"].nunique() > 1 and len(d) > d["layer"].nunique() * 2 + 2:
        table = anova_lm(smf.ols("sparsity ~ C(layer) * C(sex)", data=d).fit(), typ=2)
        out["sparsity_anova"] = {term.replace("C(", "").replace(")", ""): {"F": float(r["F"]), "p": float(r["PR(>F)"])}
                                 for term, r in table.iterrows() if term != "Residual"}

    def kruskal(frame: pd.DataFrame, col: str) -> dict[str, float]:
        groups = [g[col].dropna().to_numpy() for _, g in frame.groupby("layer_index")]
        groups = [g for g in groups if g.size]
        if len(groups) < 2 or np.ptp(np.concatenate(groups)) == 0:  # scipy refuses identical values
            return {"H": float("nan"), "p": float("nan")}
        h, p = stats.kruskal(*groups)
        return {"H": float(h), "p": float(p)}

    for measure in MEASURES:
        out[f"{measure}_kruskal"] = {s: kruskal(g, measure) for s, g in long.groupby("sex")}
    per_layer = {}
    for layer, g in long.groupby("layer", sort=False):
        entry: dict[str, Any] = {}
        pair = g[["within_corr", "across_corr"]].dropna()
        if len(pair) > 1 and np.any(pair["within_corr"] != pair["across_corr"]):
            entry["within_vs_across_wilcoxon_p"] = float(stats.wilcoxon(pair["within_corr"], pair["across_corr"]).pvalue)
        for measure in ("sparsity", "deconv_stim_corr", "deconv_similarity"):
            f = g.loc[g["sex"] == "F", measure].dropna()
            m = g.loc[g["sex"] == "M", measure].dropna()
            if len(f) > 1 and len(m) > 1:
                entry[f"{measure}_MvsF_ranksum_p"] = float(stats.ranksums(m, f).pvalue)
        per_layer[str(layer)] = entry
    out["per_layer"] = per_layer
    out["sparsity_direction"] = {m: direction_test(long, m) for m in ("sparsity", "sparsity_seen") if m in long}
    return out


def direction_test(long: pd.DataFrame, measure: str) -> dict[str, Any]:
    """Does ``measure`` rise or fall across layers? Per animal (fold): Spearman's rho between layer index and
    the animal's mean over calls per layer; across animals: the exact two-sided Wilcoxon signed-rank test of
    the rhos against 0 (each animal one observation, not each call). ``direction``: ``increases`` /
    ``decreases`` (p < 0.05, sign of the median rho) or ``no consistent direction``."""
    from scipy import stats

    rho = {}
    for fold, g in long.groupby("fold"):
        per_layer = g.groupby("layer_index")[measure].mean().dropna()
        if len(per_layer) > 2 and np.ptp(per_layer.to_numpy()) > 0:
            rho[str(fold)] = float(stats.spearmanr(per_layer.index, per_layer.to_numpy())[0])
    r = np.asarray(list(rho.values()), float)
    p = float(stats.wilcoxon(r, method="exact").pvalue) if r.size > 1 and np.any(r != 0) else float("nan")
    med = float(np.median(r)) if r.size else float("nan")
    direction = ("increases" if med > 0 else "decreases") if p < 0.05 else "no consistent direction"
    return {"per_animal_rho": rho, "median_rho": med, "n_animals": int(r.size), "n_rising": int((r > 0).sum()),
            "p": p, "direction": direction}


def plateau(summary: pd.DataFrame, measure: str, sex: str, n_layers: int = 2) -> float:
    """The asymptote of a per-layer curve: mean over the last ``n_layers`` convolutional layers (the paper
    reads the reconstruction–stimulus plateau at conv layers 4/5 onwards)."""
    s = summary[(summary["measure"] == measure) & (summary["sex"] == sex)
                & summary["layer"].str.startswith("conv")].sort_values("layer_index")
    return float(s["mean"].iloc[-n_layers:].mean()) if len(s) else float("nan")


# --------------------------------------------------------------------------------------------- outputs


def save_example(path: str, example: dict[str, Any]) -> None:
    """One fold's example call (stimulus, per-layer activations and reconstructions) as an .npz."""
    arrays = {"stimulus": example["stimulus"]}
    if "distance" in example:
        arrays.update(distance=np.float64(example["distance"]), measure_names=np.asarray(list(example["measures"])),
                      measure_values=np.asarray(list(example["measures"].values()), float))
    if example.get("correct") is not None:
        arrays["correct"] = np.bool_(example["correct"])
    arrays.update({f"activation_{i}": a for i, a in enumerate(example["activations"])})
    arrays.update({f"reconstruction_{i}": r for i, r in enumerate(example["reconstructions"])})
    np.savez_compressed(path, **arrays, call_uid=example["call_uid"], animal=example["animal"], sex=example["sex"],
                        layers=np.asarray(example["layers"]))


def load_example(path: str) -> dict[str, Any]:
    """Inverse of :func:`save_example` (a file without a typicality distance, as written before it existed,
    loads without ``distance``, ``correct`` and ``measures``)."""
    with np.load(path) as z:
        layers = [str(v) for v in z["layers"]]
        out = {"call_uid": str(z["call_uid"]), "animal": str(z["animal"]), "sex": str(z["sex"]),
               "stimulus": z["stimulus"], "layers": layers,
               "activations": [z[f"activation_{i}"] for i in range(len(layers))],
               "reconstructions": [z[f"reconstruction_{i}"] for i in range(len(layers))]}
        if "distance" in z.files:
            out.update(distance=float(z["distance"]), correct=bool(z["correct"]) if "correct" in z.files else None,
                       measures={str(k): float(v) for k, v in zip(z["measure_names"], z["measure_values"])})
        return out


def pick_examples(examples: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """One female and one male example: per sex, the fold example with the smallest typicality ``distance``
    (:mod:`usvflow.interpret.examples`; ties and examples without one: the first in the given order)."""
    out: dict[str, dict[str, Any]] = {}
    for ex in examples:
        best = out.get(ex["sex"])
        if best is None or ex.get("distance", np.inf) < best.get("distance", np.inf):
            out[ex["sex"]] = ex
    return {s: out[s] for s in ("F", "M") if s in out}
