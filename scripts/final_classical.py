"""Snakemake adapter: the task's best ridge/SVM by leave-one-animal-out, refitted on every animal of its cohort."""
import json

import numpy as np
import pandas as pd

from usvflow.classify.bundle import save_pt
from usvflow.classify.classical import check_alignment
from usvflow.classify.classical_tasks import MODELS, encode_labels
from usvflow.classify.final import (
    choose_classical,
    classical_inputs,
    eligible_classical,
    fit_classical,
    loao_regularisation,
)
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    task, spec = smk.wildcards.task, smk.params.spec
    table = pd.read_parquet(smk.input.dataset)
    y = encode_labels(table[spec["column"]], spec)
    metrics = []
    for path in smk.input.metrics:
        with open(path) as fh:
            metrics.append(json.load(fh))
    feats = vectors = None
    if hasattr(smk.input, "features"):
        from usvflow.features.cohort import load_features

        feats, vectors = load_features(smk.input.features, smk.input.vectors)
        check_alignment(table, feats["call_uid"], smk.input.features)
    candidates = list(smk.params.candidates)
    eligible = eligible_classical(candidates, None if feats is None else feats["properties_source"])
    left_out = sorted(set(candidates) - set(eligible))
    if left_out:
        print(f"not eligible (their six properties come from a reference a new recording lacks): {left_out}")
    name, acc = choose_classical(metrics, eligible)
    kind = MODELS[name][1]
    if kind == "spectrogram":
        X = classical_inputs(kind, images=np.load(smk.input.images))
    else:
        X = classical_inputs(kind, feats, vectors=vectors)
    params = loao_regularisation(metrics, name, dict(smk.params.classical))
    fitted = fit_classical(name, X, y, params, seed_key=f"{task}/final/{name}")
    means = {m: float(np.mean([r["accuracy"] for r in metrics if r["model"] == m and r["accuracy"] is not None]))
             for m in eligible if any(r["model"] == m and r["accuracy"] is not None for r in metrics)}
    fitted.update(task=task, classes=[spec["negative"], spec["positive"]], loao_accuracy=acc,
                  candidates_loao_accuracy=means, not_eligible=left_out,
                  animals=sorted(map(str, table.loc[y >= 0, "animal"].unique())))
    save_pt(smk.output.model, fitted)
    print(f"{task}/final/classical: {name} (LOAO accuracy {acc:.3f}; candidates {means}) trained on "
          f"{fitted['n_train']} calls")


main(snakemake)  # noqa: F821
