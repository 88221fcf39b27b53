"""Snakemake adapter: ridge / SVM models (and shuffled controls) for one held-out animal."""
import json
import sys

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from usvflow.classify.classical import check_alignment, input_matrix, run_fold
from usvflow.classify.classical_tasks import MODELS, encode_labels
from usvflow.features.cohort import load_features
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    # BLAS on the job's threads only: two jobs with two BLAS threads each on two cores spin-wait for most of
    # their time (the Cholesky solves of the nested choice ran ~10x slower in CPU time that way).
    with threadpool_limits(limits=max(1, int(smk.threads))):
        run(smk)


def run(smk):
    task, fold, spec = smk.wildcards.task, smk.wildcards.fold, smk.params.spec
    table = pd.read_parquet(smk.input.dataset)
    y = encode_labels(table[spec["column"]], spec)
    inputs = {}
    if hasattr(smk.input, "images"):
        images = np.load(smk.input.images)
        if len(images) != len(table):
            raise ValueError(f"{len(images)} images for {len(table)} calls")
        inputs["spectrogram"] = input_matrix("spectrogram", table, images=images)
    else:
        feats, vectors = load_features(smk.input.features, smk.input.vectors)
        check_alignment(table, feats["call_uid"], smk.input.features)
        inputs["feat9"] = input_matrix("feat9", feats)
        inputs["semiconv"] = input_matrix("semiconv", feats, vectors=vectors)
    for model, mpath, ppath in zip(smk.params.models, smk.output.metrics, smk.output.predictions):
        kind = MODELS[model.removesuffix("_shuffled")][1]
        res = run_fold(inputs[kind], y, table["animal"], table["call_uid"], fold, model, task, spec,
                       smk.params.classical, standardise=kind != "spectrogram")
        with open(mpath, "w") as fh:
            json.dump(res.metrics, fh, indent=2)
        res.predictions.to_parquet(ppath, index=False)
        if res.metrics["skipped"]:
            line = f"usvflow: {task}/{fold}/{model} skipped: {res.metrics['skipped']}"
            print(line)
            print(line, file=sys.__stderr__)  # the console too: a skipped fold must be visible
        else:
            h = res.metrics["hyperparameter"]
            print(f"{task}/{fold}/{model}: accuracy {res.metrics['accuracy']:.3f} "
                  f"(n_train {res.metrics['n_train']}, n_test {res.metrics['n_test']}; {h['name']} = {h['value']:g} "
                  f"chosen by {h['inner_folds']} inner folds; {h['unconverged_fits']} fits at the iteration bound)")


main(snakemake)  # noqa: F821
