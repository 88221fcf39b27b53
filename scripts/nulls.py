"""Snakemake adapter: animal-level permutation nulls of one task's headline ridge / SVM models
(usvflow.classify.nulls) into results/nulls/{task}.json."""
import json

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from usvflow.classify.classical import check_alignment, input_matrix
from usvflow.classify.classical_tasks import encode_labels
from usvflow.classify.nulls import headline_null
from usvflow.features.cohort import load_features
from usvflow.report.summary import _plain
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    spec, task, models = smk.params.spec, smk.wildcards.task, dict(smk.params.models)
    table = pd.read_parquet(smk.input.dataset)
    y = encode_labels(table[spec["column"]], spec)
    images = np.load(smk.input.images)
    if len(images) != len(table):
        raise ValueError(f"{len(images)} images for {len(table)} calls")
    inputs = {"spectrogram": input_matrix("spectrogram", table, images=images)}
    if hasattr(smk.input, "features"):
        feats, _ = load_features(smk.input.features)
        check_alignment(table, feats["call_uid"], smk.input.features)
        inputs["feat9"] = input_matrix("feat9", feats)
    metrics = [json.load(open(p)) for p in smk.input.metrics]
    chosen = {m: [r["hyperparameter"]["value"] for r in metrics if r["model"] == m and r.get("hyperparameter")]
              for m in models}
    with threadpool_limits(limits=max(1, int(smk.threads))):
        res = headline_null(inputs, {m: tuple(v) for m, v in models.items()}, y, table["animal"].astype(str),
                            smk.params.classical, chosen, int(smk.params.settings["max_permutations"]),
                            int(smk.params.settings["seed"]), standardise=("feat9",), key=f"nulls/{task}")
    # The real (nested) leave-one-animal-out accuracies and their call-level shuffled controls, beside the null.
    for m in models:
        for kind, name in ((m, "nested"), (f"{m}_shuffled", "shuffled")):
            acc = {r["fold"]: r["accuracy"] for r in metrics if r["model"] == kind and r["accuracy"] is not None}
            res["models"][m][f"{name}_fold_accuracy"] = acc
            res["models"][m][f"{name}_mean"] = float(np.mean(list(acc.values()))) if acc else None
        res["models"][m]["chosen"] = chosen[m]
    with open(smk.output.result, "w") as fh:
        json.dump(_plain({"task": task, **res}), fh, indent=2)
    for m, r in res["models"].items():
        print(f"{task}/{m}: fixed {r['fixed']['name']} = {r['fixed']['value']:g}, accuracy {r['mean_accuracy']}, "
              f"p = {r['p']} over {res['n_assignments']} assignments")


main(snakemake)  # noqa: F821
