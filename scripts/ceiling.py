"""Snakemake adapter: the truth ceiling of every task into results/stats/ceiling.json (usvflow.classify.ceiling)."""
import pandas as pd
from threadpoolctl import threadpool_limits

from usvflow.classify.ceiling import INPUT_NAMES, call_parameters, task_ceiling
from usvflow.report.summary import mean_sem, write_stats
from usvflow.workflow.script import script_main

LABELS = {"ridge": "ridge", "svm": "SVM (linear)"}


@script_main
def main(smk):
    calls = pd.concat([pd.read_csv(p) for p in smk.input.calls], ignore_index=True)
    recordings = pd.read_csv(smk.input.recordings, sep="\t")
    table = call_parameters(calls, recordings, float(smk.params.reference_m))
    values, rows = {}, []
    with threadpool_limits(limits=max(1, int(smk.threads))):
        for task, spec in smk.params.specs.items():
            sub = table[table["cohort"] == spec["cohort"]].reset_index(drop=True)
            res = task_ceiling(sub, task, spec, smk.params.classical)
            values[task] = res
            for kind, what in INPUT_NAMES.items():
                r = res[kind]
                per_model = "; ".join(f"{LABELS[m]} {mean_sem(v['fold_accuracy'].values())}"
                                      for m, v in r["models"].items())
                best = "n/a" if r["ceiling"] is None else f"{100 * r['ceiling']:.1f} %"
                rows.append({"quantity": f"{task}: ceiling from the true call parameters ({what}), "
                                         f"leave-one-animal-out, better of ridge / SVM",
                             "paper": "not available (real data)",
                             "ours": f"{best} ({per_model}; {res['n_calls']} generated calls, "
                                     f"{res['n_animals']} animals)"})
            print(task, {k: res[k]["ceiling"] for k in INPUT_NAMES})
    write_stats(smk.output.stats, "ceiling", smk.params.dataset, values, rows)


main(snakemake)  # noqa: F821
