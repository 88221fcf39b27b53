"""Snakemake adapter: Fig 3 (sex from spectrograms, leave-one-animal-out) and results/stats/fig3.json."""
import json
from pathlib import Path

import pandas as pd
import torch

from usvflow.classify.ceiling import ceiling_text, draw_ceiling, panel, read_ceiling
from usvflow.classify.confound import caption_with_control
from usvflow.classify.models import describe_layers, load_model
from usvflow.figures import models as pm
from usvflow.figures.style import add_note
from usvflow.report.stats import rank_sum
from usvflow.report.summary import write_stats
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    inp = smk.input
    metrics = pm.read_metrics(list(inp.sex) + list(inp.has_break) + list(inp.classical))
    preds = pm.read_predictions(inp.sex)
    table = pd.read_parquet(inp.table)
    pa = pm.per_animal(preds[preds["split"] == "loao"], table, "cnn", 0.5)
    # The paper shows one representative run (female #1): the first female animal's fold.
    curves = [p for p in inp.curves if p.endswith(".curve.csv")]
    females = sorted(pa.loc[pa["sex"] == "F", "animal"])
    pick = next((p for p in curves if females and Path(p).parts[-2] == females[0]), curves[0] if curves else None)
    curve = pd.read_csv(pick) if pick else pd.DataFrame(columns=["iteration", "test_accuracy", "weight_change"])
    state = torch.load(pick.replace(".curve.csv", ".pt"), map_location="cpu", weights_only=True)["state_dict"] if pick else {}
    filters = pm.first_layer_filters(state) if state else []
    # A: the network drawn from the trained fold itself; B: every fold's curve with its held-out animal's sex.
    network, input_label = [], ""
    if pick:
        model, _ = load_model(pick.replace(".curve.csv", ".pt"))
        network, side = describe_layers(model), model.config.input_size
        input_label = f"call image\n100×100 px\npooled to\n1×{side}×{side}"
    sexes = dict(zip(pa["animal"], pa["sex"]))
    curves_all = pd.concat([pd.read_csv(p).assign(animal=Path(p).parts[-2], sex=sexes.get(Path(p).parts[-2]))
                            for p in curves], ignore_index=True) if curves else None
    acc = {m: pm.accuracies(metrics, "sex", m, "loao") for m in
           ["cnn", "cnn_shuffled", "ridge", "svm", "ridge_shuffled", "svm_shuffled"]}
    # The paper's Fig 3E comparisons: CNN vs ridge and CNN vs SVM, paired over the held-out animals.
    comparisons = {"cnn_vs_ridge": pm.paired(acc["cnn"], acc["ridge"]), "cnn_vs_svm": pm.paired(acc["cnn"], acc["svm"])}
    fig = pm.plot_fig3(metrics, curve, f"held-out {Path(pick).parts[-2]}" if pick else "", filters, pa, smk.params.dataset,
                       comparisons, network=network, curves=curves_all, input_label=input_label)
    # Panel D in one plain sentence, from the data: per-sex counts above chance and means, the network's most
    # common answer over all held-out calls, and the male vs female rank-sum (exact at 4 vs 4 animals).
    mf = rank_sum(pa.loc[pa["sex"] == "M", "accuracy"], pa.loc[pa["sex"] == "F", "accuracy"])
    answered = pm.answered_shares(metrics, preds[(preds["split"] == "loao")], "sex", "cnn")
    add_note(fig, pm.group_note(pa, 0.5, answered, mf.p, mf.method))
    # The truth ceiling (simulated data: usvflow.classify.ceiling) across panel E.
    ceiling = read_ceiling(inp.ceiling, "sex")
    draw_ceiling(panel(fig, "E "), ceiling.get("parameters"))
    # The background-only control (usvflow.classify.confound), in one sentence below the panels.
    confound = json.loads(Path(inp.confound[0]).read_text()) if len(inp.confound) else None
    if confound:
        # below everything drawn (clear of panel F's x label), at the style's minimum size
        add_note(fig, confound["sentence"], color="firebrick" if confound.get("flagged") else "0.25")
    fig.savefig(smk.output.figure)
    # The report's caption: the template, and the control's sentence where it ran.
    template = Path(inp.caption_template).read_text()
    notes = [t for t in (confound["sentence"] if confound else "", ceiling_text(ceiling, "sex")) if t]
    Path(smk.output.caption).write_text(caption_with_control(template, "\n\n".join(notes) or None))

    hb = pm.accuracies(metrics, "has_break", "cnn", "loao")
    hb_sh = pm.accuracies(metrics, "has_break", "cnn_shuffled", "loao")
    # Most calls have no break: a test set's raw accuracy depends on its mix; balanced accuracy does not.
    hb_bal = pm.accuracies(metrics, "has_break", "cnn", "loao", "balanced_accuracy")
    hb_sh_bal = pm.accuracies(metrics, "has_break", "cnn_shuffled", "loao", "balanced_accuracy")
    hb_major = pm.majority_baseline(metrics[metrics["split"] == "loao"], "has_break")
    above = int((pa["p_binomial"] < 0.05).sum())
    values = {
        **{f"sex_loao_{m}": pm.summary_of(a) for m, a in acc.items()},
        "has_break_loao_cnn": pm.summary_of(hb), "has_break_loao_cnn_shuffled": pm.summary_of(hb_sh),
        "has_break_loao_cnn_balanced": pm.summary_of(hb_bal), "has_break_majority_baseline": pm.summary_of(hb_major),
        "has_break_loao_cnn_shuffled_balanced": pm.summary_of(hb_sh_bal),
        "p_cnn_above_chance": pm.vs_chance(acc["cnn"], 0.5),
        "p_cnn_shuffled_above_chance": pm.vs_chance(acc["cnn_shuffled"], 0.5),
        **comparisons,
        "has_break_vs_sex": pm.paired(hb, acc["cnn"]),
        "male_vs_female_rank_sum_p": mf.p, "cnn_answer_shares": answered, "animals_above_chance": above, "n_animals": int(len(pa)),
        "per_animal": pa.to_dict(orient="records"),
    }
    rows = [
        {"quantity": "Fig 3D: sex CNN, leave-one-animal-out", "paper": pm.PAPER["sex_loao"], "ours": pm.med(acc["cnn"])},
        {"quantity": "Fig 3D: p (one-sided signed-rank, exact) CNN > chance", "paper": "(sig.)",
         "ours": f"{values['p_cnn_above_chance']:.3g}"},
        {"quantity": f"Fig 3D: male vs female accuracy (rank-sum, {mf.method})", "paper": "n.s. (p > 0.05)",
         "ours": f"p = {mf.p:.3g}"},
        {"quantity": "Fig 3E: ridge on spectrograms", "paper": pm.PAPER["ridge"], "ours": pm.med(acc["ridge"])},
        {"quantity": "Fig 3E: SVM on spectrograms", "paper": pm.PAPER["svm"], "ours": pm.med(acc["svm"])},
        {"quantity": "Fig 3E: CNN vs ridge, paired over held-out animals", "paper": pm.PAPER["cnn_vs_classical"],
         "ours": pm.paired_text(comparisons["cnn_vs_ridge"])},
        {"quantity": "Fig 3E: CNN vs SVM, paired over held-out animals", "paper": pm.PAPER["cnn_vs_classical"],
         "ours": pm.paired_text(comparisons["cnn_vs_svm"])},
        {"quantity": "Fig 3E: CNN shuffled labels", "paper": "chance (50 %)", "ours": pm.med(acc["cnn_shuffled"])},
        {"quantity": "Fig 3E: ridge / SVM shuffled labels", "paper": "chance (50 %)",
         "ours": f"{pm.med(acc['ridge_shuffled'])} / {pm.med(acc['svm_shuffled'])}"},
        {"quantity": "Fig 3F: has-break CNN: balanced accuracy (chance 50 %); accuracy vs the majority baseline",
         "paper": f"accuracy {pm.PAPER['has_break']}",
         "ours": f"balanced {pm.pct(hb_bal)}; accuracy {pm.pct(hb)} vs majority baseline {pm.pct(hb_major)}"},
        {"quantity": "Fig 3F: has-break CNN shuffled (balanced accuracy: chance 50 %)", "paper": "chance",
         "ours": f"{pm.pct(hb_sh)}; balanced {pm.pct(hb_sh_bal)}"},
        {"quantity": "S1A: animals classified above chance (binomial p < 0.05)", "paper": pm.PAPER["sex_above_chance"],
         "ours": f"{above}/{len(pa)} animals"},
    ]
    if ceiling:
        values["truth_ceiling"] = ceiling
        rows.append({"quantity": "Truth ceiling: ridge / SVM on the true call parameters, leave-one-animal-out",
                     "paper": "not available (real data)", "ours": ceiling_text(ceiling, "sex")})
    if confound:
        keys = ("verdict", "flagged", "p", "best_mean_accuracy")
        values["background_only_control"] = {k: confound.get(k) for k in keys}
        rows.append({"quantity": "Background-only control (confound check)", "paper": "not done",
                     "ours": confound["sentence"]})
    write_stats(smk.output.stats, "fig3", smk.params.dataset, values, rows)


main(snakemake)  # noqa: F821
