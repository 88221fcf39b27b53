"""Snakemake adapter: Fig 5 (strain from spectrograms, leave-one-animal-out) and results/stats/fig5.json."""
import pandas as pd

from usvflow.classify.ceiling import ceiling_text, draw_ceiling, panel, read_ceiling
from usvflow.figures import models as pm
from usvflow.figures.style import add_note
from usvflow.report.stats import rank_sum
from usvflow.report.summary import write_stats
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    metrics = pm.read_metrics(list(smk.input.strain) + list(smk.input.classical))
    preds = pm.read_predictions(smk.input.strain)
    pa = pm.per_animal(preds, pd.read_parquet(smk.input.table), "cnn", 0.5)
    acc = {m: pm.accuracies(metrics, "strain", m, "loao") for m in
           ["cnn", "cnn_shuffled", "ridge", "svm", "ridge_shuffled", "svm_shuffled"]}
    # Fig 3E's comparisons for strain: CNN vs ridge and CNN vs SVM, paired over the held-out animals.
    comparisons = {"cnn_vs_ridge": pm.paired(acc["cnn"], acc["ridge"]), "cnn_vs_svm": pm.paired(acc["cnn"], acc["svm"])}
    fig = pm.plot_fig5(metrics, pa, smk.params.dataset, comparisons)
    ceiling = read_ceiling(smk.input.ceiling, "strain")  # simulated data: the truth ceiling across panel B
    draw_ceiling(panel(fig, "B "), ceiling.get("parameters"))
    # Held-out animals a classical model gave (nearly) one answer for: a nested choice of a strong
    # regularisation leaves a near-constant classifier (from the fold metrics: a test set is one animal).
    one_class = {m: pm.near_one_class(metrics, "strain", m) for m in ("ridge", "svm")}
    notes = [pm.one_class_note(one_class[m], int(acc[m].notna().sum()), name, "strain")
             for m, name in (("ridge", "ridge model"), ("svm", "SVM"))]
    # Panel A in Fig 3D's sentence: per strain, held-out animals above chance (and significantly: the stars),
    # the most common answer, and the strains' rank-sum test over the held-out animals (the paper: no difference).
    levels = pm.group_levels(pa, "strain")
    by = rank_sum(*(pa.loc[pa["strain"].astype(str) == lvl, "accuracy"] for lvl in levels)) if len(levels) == 2 else None
    answered = pm.answered_shares(metrics, preds, "strain", "cnn")
    a_note = pm.group_note(pa, 0.5, answered, by.p if by else None, by.method if by else "", panel="A",
                           paper=pm.PAPER["strain_wt_vs_cortexless"], group="strain")
    add_note(fig, "\n".join([a_note, " ".join(n for n in notes if n)]).strip())
    fig.savefig(smk.output.figure)
    values = {**{f"strain_loao_{m}": pm.summary_of(a) for m, a in acc.items()},
              "p_cnn_above_chance": pm.vs_chance(acc["cnn"], 0.5), **comparisons,
              **{f"{m}_near_one_class_folds": f.to_dict(orient="records") for m, f in one_class.items()},
              "per_animal": pa.to_dict(orient="records"),
              "strain_rank_sum_p": by.p if by else None, "cnn_answer_shares": answered}
    rows = [
        {"quantity": "Fig 5A: strain CNN, leave-one-animal-out", "paper": pm.PAPER["strain_loao"], "ours": pm.pct(acc["cnn"])},
        {"quantity": f"Fig 5A: {' vs '.join(levels)} accuracy (rank-sum{f', {by.method}' if by else ''})",
         "paper": pm.PAPER["strain_wt_vs_cortexless"], "ours": f"p = {by.p:.3g}" if by else "not testable"},
        {"quantity": "Fig 5B: ridge on spectrograms (strain)", "paper": pm.PAPER["strain_ridge"], "ours": pm.pct(acc["ridge"])},
        {"quantity": "Fig 5B: SVM on spectrograms (strain)", "paper": pm.PAPER["strain_svm"], "ours": pm.pct(acc["svm"])},
        {"quantity": "Fig 5B: CNN vs ridge, paired over held-out animals", "paper": pm.PAPER["strain_cnn_vs_ridge"],
         "ours": pm.paired_text(comparisons["cnn_vs_ridge"])},
        {"quantity": "Fig 5B: CNN vs SVM, paired over held-out animals", "paper": pm.PAPER["strain_cnn_vs_svm"],
         "ours": pm.paired_text(comparisons["cnn_vs_svm"])},
        {"quantity": "Fig 5B: SVM, held-out animals given one answer for ≥ 95 % of their calls", "paper": "—",
         "ours": f"{len(one_class['svm'])}/{int(acc['svm'].notna().sum())} animals"},
        {"quantity": "Fig 5B: CNN / ridge / SVM shuffled labels", "paper": "chance (50 %)",
         "ours": f"{pm.pct(acc['cnn_shuffled'])} / {pm.pct(acc['ridge_shuffled'])} / {pm.pct(acc['svm_shuffled'])}"},
    ]
    if ceiling:
        values["truth_ceiling"] = ceiling
        rows.append({"quantity": "Truth ceiling: ridge / SVM on the true call parameters, leave-one-animal-out",
                     "paper": "not available (real data)", "ours": ceiling_text(ceiling, "strain")})
    write_stats(smk.output.stats, "fig5", smk.params.dataset, values, rows)


main(snakemake)  # noqa: F821
