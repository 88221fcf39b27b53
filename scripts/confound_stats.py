"""Snakemake adapter: the background-only control of every task into results/stats/confound.json."""
import json

from usvflow.report.summary import write_stats
from usvflow.workflow.script import script_main

LABELS = {"ridge_background": "ridge, background images", "svm_background": "SVM (quadratic), background images",
          "ridge_nuisance": "ridge, nuisance measurements", "svm_nuisance": "SVM (linear), nuisance measurements"}


@script_main
def main(smk):
    values, rows = {}, []
    for path in smk.input:
        with open(path) as fh:
            r = json.load(fh)
        task = r["task"]
        values[task] = r
        rows.append({"quantity": f"{task}: background-only control (confound check)",
                     "paper": "not done", "ours": r["sentence"]})
        for model, m in r.get("models", {}).items():
            acc = m["mean_accuracy"]
            rows.append({"quantity": f"{task}, background-only LOAO accuracy: {LABELS.get(model, model)}",
                         "paper": "not done",
                         "ours": "n/a" if acc is None else
                         f"{100 * acc:.1f} % (mean of {len(m['fold_accuracy'])} held-out animals; "
                         f"permutation p = {m['p']:.2g})"})
    write_stats(smk.output.stats, "confound", smk.params.dataset, values, rows)


main(snakemake)  # noqa: F821
