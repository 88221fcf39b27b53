"""Snakemake adapter: Fig 4 (properties from spectrograms; sex from features) and results/stats/fig4.json."""
from pathlib import Path

import pandas as pd

from usvflow.classify.ceiling import ceiling_text, draw_ceiling, panel, read_ceiling
from usvflow.classify.models import describe_layers, load_model
from usvflow.classify.tasks import task_labels
from usvflow.figures import models as pm
from usvflow.report.summary import write_stats
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    from usvflow.features.columns import FEATURES_9, NAMES_9

    inp = smk.input
    metrics = pm.read_metrics(list(inp.properties) + list(inp.feature_nets) + list(inp.classical))
    table = pd.read_parquet(inp.table)
    labels = {}
    for task in ["direction", "breaks", "peaks", "broadband"]:
        y, _ = task_labels(table, task)
        labels[task] = pd.Series(y[y >= 0])
    y_sex, _ = task_labels(table, "sex")
    # Fig 4I: the ridge of Fig 4H fitted on every call, with the alpha its folds chose most often.
    alpha = pm.chosen_regularisation(metrics, "sex", "ridge_feat9") or 1.0
    coefs = pm.ridge_coefficients(pd.read_parquet(inp.features), FEATURES_9, NAMES_9, y_sex, alpha)
    # A, F, J: the networks drawn from one trained fold of each (their layer tables), not typed in.
    networks = {}
    for path in inp.networks:
        model, _ = load_model(path)
        family = Path(path).name.removesuffix(".pt")
        networks[family] = describe_layers(model)
        if family == "cnn":
            side = model.config.input_size
            networks["cnn_input"] = f"call image\n100×100 px\npooled to\n1×{side}×{side}"
        elif family == "dnn9":
            networks["dnn9_features"] = model.config.n_features
        elif family == "semiconv":
            names = ("FF line", "time marginal", "spectral marginal")  # the order of folds.vector_inputs
            networks["semiconv_vectors"] = list(zip(names, model.config.vector_lengths))
            networks["semiconv_features"] = model.config.n_features
    networks["cnn_outputs"] = {}
    for t in ["direction", "breaks", "peaks", "broadband"]:
        classes = metrics.loc[(metrics["task"] == t) & (metrics["model"] == "cnn"), "classes"]
        if len(classes) and isinstance(classes.iloc[0], list):
            networks["cnn_outputs"][t] = len(classes.iloc[0])
    sexes = dict(zip(table["animal"], table["sex"]))
    fig = pm.plot_fig4(metrics, labels, coefs, smk.params.dataset, networks, sexes)
    # The truth ceiling (simulated data): the true 9 features on G-H, every true call parameter on K-L.
    ceiling = read_ceiling(inp.ceiling, "sex")
    for prefix, kind in (("G ", "feat9"), ("H ", "feat9"), ("K ", "parameters"), ("L ", "parameters")):
        draw_ceiling(panel(fig, prefix), ceiling.get(kind),
                     "ceiling" if prefix in ("G ", "K ") else "truth ceiling")  # G, K: narrow panels
    fig.savefig(smk.output.figure)

    acc = lambda task, model: pm.accuracies(metrics, task, model)  # noqa: E731
    # Property values are unbalanced (most calls: no break, narrow band): balanced accuracy beside accuracy.
    bal = lambda task, model: pm.accuracies(metrics, task, model, column="balanced_accuracy")  # noqa: E731
    values = {f"{t}_{m}": pm.summary_of(acc(t, m)) for t in ["direction", "breaks", "peaks", "broadband"]
              for m in ["cnn", "cnn_shuffled"]}
    values.update({f"{t}_{m}_balanced": pm.summary_of(bal(t, m)) for t in ["direction", "breaks", "peaks", "broadband"]
                   for m in ["cnn", "cnn_shuffled"]})
    for m in ["dnn9", "dnn9_shuffled", "semiconv", "semiconv_shuffled", "ridge_feat9", "svm_feat9",
              "ridge_semiconv", "svm_semiconv", "ridge_feat9_shuffled", "svm_feat9_shuffled",
              "ridge_semiconv_shuffled", "svm_semiconv_shuffled"]:
        values[f"sex_loao_{m}"] = pm.summary_of(acc("sex", m))
    values["ridge_coefficients_feat9"] = coefs.to_dict()
    values["ridge_coefficients_alpha"] = alpha
    values["p_dnn9_above_chance"] = pm.vs_chance(acc("sex", "dnn9"), 0.5)
    values["p_semiconv_above_chance"] = pm.vs_chance(acc("sex", "semiconv"), 0.5)
    values["semiconv_vs_dnn9"] = pm.paired(acc("sex", "semiconv"), acc("sex", "dnn9"))
    rows = []
    for t in ["direction", "breaks", "peaks", "broadband"]:
        # Balanced accuracy first (its chance: 1 / the values present in the test calls, which it averages
        # over), then accuracy beside the majority-value baseline.
        chance = pm.balanced_chance(metrics, t).dropna()
        major = pm.majority_baseline(metrics, t)
        values[f"{t}_majority_baseline"] = pm.summary_of(major)
        values[f"{t}_balanced_chance"] = pm.summary_of(chance)
        rows.append({"quantity": f"Fig 4B-E: {t} CNN, random test sets: balanced accuracy"
                                 + (f" (chance {chance.mean() * 100:.0f} %)" if len(chance) else "")
                                 + "; accuracy vs the majority-value baseline",
                     "paper": f"accuracy {pm.PAPER[t]} (chance 1/K; no baseline reported)",
                     "ours": f"balanced {pm.pct(bal(t, 'cnn'))}, shuffled {pm.pct(bal(t, 'cnn_shuffled'))}; "
                             f"accuracy {pm.pct(acc(t, 'cnn'))} vs majority baseline {pm.pct(major)}"
                             f"{' (below it)' if len(major) and acc(t, 'cnn').mean() < major.mean() else ''}; "
                             f"shuffled {pm.pct(acc(t, 'cnn_shuffled'))}"})
    rows += [
        {"quantity": "Fig 4G: 9 features → sex DNN, leave-one-animal-out", "paper": pm.PAPER["dnn9"],
         "ours": f"{pm.pct(acc('sex', 'dnn9'))}; shuffled {pm.pct(acc('sex', 'dnn9_shuffled'))}"},
        {"quantity": "Fig 4H: ridge on 9 features", "paper": pm.PAPER["ridge_feat9"], "ours": pm.pct(acc("sex", "ridge_feat9"))},
        {"quantity": "Fig 4H: SVM on 9 features", "paper": pm.PAPER["svm_feat9"], "ours": pm.pct(acc("sex", "svm_feat9"))},
        {"quantity": "Fig 4I: strongest linear predictors of sex", "paper": "duration, volume, broadband",
         "ours": ", ".join(coefs.abs().sort_values(ascending=False).index[:3])},
        {"quantity": "Fig 4K: semi-convolutional DNN, leave-one-animal-out", "paper": pm.PAPER["semiconv"],
         "ours": f"{pm.pct(acc('sex', 'semiconv'))}; shuffled {pm.pct(acc('sex', 'semiconv_shuffled'))}"},
        {"quantity": "Fig 4L: ridge / SVM on 24 features + 3 vectors", "paper": f"{pm.PAPER['ridge_semiconv']} / {pm.PAPER['svm_semiconv']}",
         "ours": f"{pm.pct(acc('sex', 'ridge_semiconv'))} / {pm.pct(acc('sex', 'svm_semiconv'))}"},
    ]
    if ceiling:
        values["truth_ceiling"] = ceiling
        rows.append({"quantity": "Truth ceiling: ridge / SVM on the true call parameters, leave-one-animal-out",
                     "paper": "not available (real data)", "ours": ceiling_text(ceiling, "sex")})
    write_stats(smk.output.stats, "fig4", smk.params.dataset, values, rows)


main(snakemake)  # noqa: F821
