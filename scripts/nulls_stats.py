"""Snakemake adapter: each headline model's animal-level permutation p beside its accuracy, its call-level
shuffled control and the truth ceiling, into results/stats/nulls.json."""
import json

from usvflow.report.summary import write_stats
from usvflow.workflow.script import script_main

LABELS = {"ridge": "ridge, spectrograms", "svm": "SVM (quadratic), spectrograms",
          "ridge_feat9": "ridge, 9 features", "svm_feat9": "SVM (linear), 9 features"}


def pct(v):
    return "n/a" if v is None else f"{100 * v:.1f} %"


@script_main
def main(smk):
    ceiling = json.load(open(smk.input.ceiling[0]))["values"] if smk.input.ceiling else {}
    values, rows = {}, []
    for path in smk.input.nulls:
        with open(path) as fh:
            r = json.load(fh)
        task = r["task"]
        values[task] = {k: v for k, v in r.items() if k != "task"}
        over = (f"{'all ' if r['exhaustive'] else ''}{r['n_assignments']}{'' if r['exhaustive'] else ' random'} "
                f"assignments of the labels to the {r['n_animals']} animals")
        cap = ceiling.get(task, {}).get("parameters", {}).get("ceiling")
        for model, m in r["models"].items():
            p = "n/a" if m["p"] is None else f"{m['p']:.3g}"
            text = (f"{pct(m['nested_mean'])} (nested choice); call-level shuffled labels {pct(m['shuffled_mean'])}; "
                    f"animal-level permutation p = {p} over {over} (resolution {r['p_min']:.2g}; "
                    f"{m['fixed']['name']} fixed at {m['fixed']['value']:g}: {pct(m['mean_accuracy'])}, "
                    f"relabelled {pct(m['null_mean'])} ± {pct(m['null_sd'])})")
            if cap is not None:
                text += f"; ceiling from the true call parameters {pct(cap)}"
            rows.append({"quantity": f"{task}, LOAO {LABELS.get(model, model)}: accuracy, shuffled control, "
                                     f"animal-level null", "paper": "no animal-level null reported", "ours": text})
    write_stats(smk.output.stats, "nulls", smk.params.dataset, values, rows)


main(snakemake)  # noqa: F821
