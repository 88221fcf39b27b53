"""The seed sweep's numbers: each headline accuracy over simulation seeds, and each paper claim's pass rate.

Every seed's run (``snakemake robustness``; rules/robustness.smk) writes ``results/robustness/headline.json`` in
the stats format of :func:`usvflow.report.summary.write_stats`, with the Fig 3 quantities under the same keys as
``results/stats/fig3.json``. Here they are gathered:

* :func:`seed_table` — one row per seed and quantity: the accuracy (% , mean over held-out animals for the
  leave-one-animal-out models, over calls for 1-NN decoding), and for every claim of
  :func:`usvflow.report.claims.check_sex_claims` (the project's one definition of the paper's claims) whether it
  holds on that seed (1 / 0) with its detail;
* :func:`summarise` — per quantity, over seeds: mean, SD (n − 1), minimum and maximum; per claim, how many
  seeds it holds on and the pass rate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from . import paper
from .claims import check_sex_claims


@dataclass(frozen=True)
class Headline:
    key: str          # key in the headline file's values (fig3.json's for the Fig 3 quantities)
    label: str
    paper: str        # the paper's value, as printed (usvflow.report.paper)
    task: str = ""    # leave-one-animal-out fold metrics of (task, model); empty: read from elsewhere
    model: str = ""


_P = paper.IVANENKO_2020
#: The headline numbers, in the order of the table and figure.
HEADLINES: tuple[Headline, ...] = (
    Headline("sex_loao_cnn", "sex: CNN on spectrograms", _P["sex_loao"], "sex", "cnn"),
    Headline("sex_loao_ridge", "sex: ridge on spectrograms", _P["ridge"], "sex", "ridge"),
    Headline("sex_loao_svm", "sex: SVM on spectrograms", _P["svm"], "sex", "svm"),
    Headline("sex_loao_dnn9", "sex: DNN on the 9 features", _P["dnn9"], "sex", "dnn9"),
    Headline("sex_loao_ridge_feat9", "sex: ridge on the 9 features", _P["ridge_feat9"], "sex", "ridge_feat9"),
    Headline("sex_loao_svm_feat9", "sex: SVM on the 9 features", _P["svm_feat9"], "sex", "svm_feat9"),
    Headline("strain_loao_cnn", "strain: CNN on spectrograms", _P["strain_loao"], "strain", "cnn"),
    Headline("strain_loao_ridge", "strain: ridge on spectrograms", _P["strain_ridge"], "strain", "ridge"),
    Headline("strain_loao_svm", "strain: SVM on spectrograms", _P["strain_svm"], "strain", "svm"),
    Headline("knn_accuracy_all", "sex: 1-NN decoding on the t-SNE map (all calls)", f"{paper.FIG7_KNN_ALL:.1%}"),
    Headline("sex_loao_cnn_shuffled", "sex: CNN, shuffled labels", "chance (50 %)", "sex", "cnn_shuffled"),
    Headline("sex_loao_ridge_shuffled", "sex: ridge, shuffled labels", "chance (50 %)", "sex", "ridge_shuffled"),
    Headline("sex_loao_svm_shuffled", "sex: SVM, shuffled labels", "chance (50 %)", "sex", "svm_shuffled"),
)

SUMMARY_COLUMNS = ["kind", "quantity", "paper", "seeds", "mean", "sd", "min", "max", "holds", "pass_rate"]


def _accuracy(values: dict, key: str) -> float:
    entry = values.get(key)
    mean = entry.get("mean") if isinstance(entry, dict) else entry
    return float("nan") if mean is None else 100.0 * float(mean)


def seed_table(headlines: Mapping[int, str | Path]) -> pd.DataFrame:
    """Long table of the sweep: per seed (sorted), every headline accuracy (%) and every claim (1 holds, 0 not)."""
    rows = []
    for seed, path in sorted(headlines.items()):
        values = json.loads(Path(path).read_text())["values"]
        for h in HEADLINES:
            rows.append({"seed": int(seed), "kind": "accuracy", "quantity": h.label, "paper": h.paper,
                         "value": _accuracy(values, h.key), "detail": ""})
        for claim in check_sex_claims(path):
            rows.append({"seed": int(seed), "kind": "claim", "quantity": claim.name, "paper": "holds (Fig 3D/E)",
                         "value": float(claim.holds), "detail": claim.detail})
    return pd.DataFrame(rows, columns=["seed", "kind", "quantity", "paper", "value", "detail"])


def summarise(long: pd.DataFrame) -> pd.DataFrame:
    """Per quantity, in the long table's order: accuracies' mean, SD (n − 1; NaN for one seed), min, max over
    the seeds where they are defined; claims' seeds passed ("3/5") and pass rate."""
    out = []
    for (kind, quantity), group in long.groupby(["kind", "quantity"], sort=False):
        v = group["value"].to_numpy(float)
        row = {"kind": kind, "quantity": quantity, "paper": group["paper"].iloc[0]}
        if kind == "claim":
            passed = int(np.nansum(v))
            row.update(seeds=int(v.size), holds=f"{passed}/{v.size}", pass_rate=passed / v.size)
        else:
            f = v[np.isfinite(v)]
            row.update(seeds=int(f.size), mean=f.mean() if f.size else np.nan,
                       sd=f.std(ddof=1) if f.size > 1 else np.nan,
                       min=f.min() if f.size else np.nan, max=f.max() if f.size else np.nan)
        out.append(row)
    return pd.DataFrame(out, columns=SUMMARY_COLUMNS)
