"""Snakemake adapter: collect the ridge / SVM folds into results/stats/classical.json (+ a per-fold CSV)."""
import json

import numpy as np
import pandas as pd

from usvflow.classify.classical import summarise
from usvflow.report import paper
from usvflow.report.stats import binomial_vs_chance, signed_rank
from usvflow.report.summary import mean_sem, write_stats
from usvflow.workflow.script import script_main

PAPER = paper.CLASSICAL  # the published numbers (leave-one-animal-out), as printed
LABELS = {"ridge": "ridge, spectrograms", "svm": "SVM (quadratic), spectrograms",
          "ridge_feat9": "ridge, 9 features", "svm_feat9": "SVM (linear), 9 features",
          "ridge_semiconv": "ridge, 24 features + 3 vectors", "svm_semiconv": "SVM (linear), 24 features + 3 vectors"}


def label(model):
    base = model.removesuffix("_shuffled")
    return LABELS.get(base, base) + (", shuffled labels" if model.endswith("_shuffled") else "")


@script_main
def main(smk):
    metrics = []
    for path in smk.input:
        with open(path) as fh:
            metrics.append(json.load(fh))
    folds = pd.DataFrame(metrics)
    if len(folds):
        folds["binomial_p"] = [binomial_vs_chance(round(m["accuracy"] * m["n_test"]), m["n_test"], m["chance"])
                               if m["accuracy"] is not None else np.nan for m in metrics]
        folds.drop(columns=["classes", "test_animals"]).to_csv(smk.output.table, index=False)
    else:
        pd.DataFrame(columns=["task", "model", "fold", "accuracy"]).to_csv(smk.output.table, index=False)
    summary = summarise(metrics)
    values, rows = {"skipped_tasks": dict(smk.params.skipped)}, []
    for r in summary.itertuples():
        acc = dict(zip(r.folds, r.accuracies))
        entry = {"mean": r.mean, "sem": r.sem, "n_folds": r.n_folds, "fold_accuracy": acc,
                 "skipped_folds": r.skipped}
        sub = folds[(folds.task == r.task) & (folds.model == r.model) & folds.accuracy.notna()]
        entry["folds_above_chance_p05"] = int((sub["binomial_p"] < 0.05).sum())
        if not r.model.endswith("_shuffled"):
            ctrl = summary[(summary.task == r.task) & (summary.model == r.model + "_shuffled")]
            if len(ctrl):
                c = dict(zip(ctrl.iloc[0].folds, ctrl.iloc[0].accuracies))
                common = sorted(set(acc) & set(c))
                entry["vs_shuffled_signed_rank_p"] = signed_rank([acc[f] for f in common],
                                                                 [c[f] for f in common]).p
        values.setdefault(r.task, {})[r.model] = entry
        rows.append({"quantity": f"{r.task}, LOAO accuracy: {label(r.model)}",
                     "paper": PAPER.get((r.task, r.model), "not reported"),
                     "ours": mean_sem(r.accuracies)})
    for task, why in smk.params.skipped.items():
        rows.append({"quantity": f"{task}: ridge / SVM", "paper": "run", "ours": f"skipped: {why}"})
    write_stats(smk.output.stats, "classical", smk.params.dataset, values, rows)
    print(summary[["task", "model", "n_folds", "mean", "sem"]].to_string())


main(snakemake)  # noqa: F821
