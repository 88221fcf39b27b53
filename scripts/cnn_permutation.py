"""Snakemake adapter (opt-in): the CNN's animal-level permutation p from K relabellings
(results/stats/cnn_permutation.json)."""
import json
from collections import defaultdict

import numpy as np

from usvflow.classify.nulls import monte_carlo_p
from usvflow.report.summary import write_stats
from usvflow.workflow.script import script_main


def mean_accuracy(paths):
    acc = [json.load(open(p)).get("accuracy") for p in paths]
    acc = [a for a in acc if a is not None]
    return float(np.mean(acc)) if acc else None


@script_main
def main(smk):
    values, rows = {}, []
    for task in smk.params.tasks:
        real = mean_accuracy([p for p in smk.input.real if f"/{task}/" in p])
        by_perm = defaultdict(list)
        for p in smk.input.perms:
            if f"/cnn/{task}/" in p:
                by_perm[p.split("/")[-2]].append(p)
        null = [mean_accuracy(v) for _, v in sorted(by_perm.items())]
        p = monte_carlo_p(real, null) if real is not None else None
        values[task] = {"mean_accuracy": real, "null": null, "p": p, "n_relabellings": len(null)}
        rows.append({"quantity": f"{task}, LOAO CNN: animal-level permutation p ({len(null)} random relabellings)",
                     "paper": "no animal-level null reported",
                     "ours": "n/a" if p is None else
                     f"p = {p:.2g} (smallest possible {1 / (1 + len(null)):.2g}); CNN {100 * real:.1f} %, "
                     f"relabelled {100 * np.nanmean([v for v in null if v is not None]):.1f} %"})
    write_stats(smk.output.stats, "cnn_permutation", smk.params.dataset, values, rows)


main(snakemake)  # noqa: F821
