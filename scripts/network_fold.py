"""Snakemake adapter: Fig 6 measurements of one leave-one-animal-out fold of the sex CNN."""
import time

import numpy as np
import pandas as pd

from usvflow.classify.inputs import prepare_images
from usvflow.classify.models import layer_names, load_model
from usvflow.features.dataset import load_cohort
from usvflow.interpret.layers import analyse_fold, save_example
from usvflow.interpret.settings import NetworkSettings
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    t0 = time.time()
    settings = NetworkSettings.from_config(smk.params.network)
    table, images = load_cohort(smk.input.dataset, smk.input.images)
    keep = table["sex"].astype(str).str.upper().isin(["F", "M"]).to_numpy()
    table, images = table[keep].reset_index(drop=True), images[keep]
    model, _ = load_model(smk.input.model)
    x, _ = prepare_images(images, model.config.input_size)
    # Fig 6's example is chosen among the calls this fold's network classifies correctly (its predictions)
    pred = pd.read_parquet(smk.input.predictions)
    right = dict(zip(pred["call_uid"].astype(str), pred["y_true"] == pred["y_pred"]))
    correct = np.array([bool(right.get(str(u), False)) for u in table["call_uid"]])
    long, example = analyse_fold(model, x, table, smk.wildcards.animal, settings, layer_names(model), correct)
    long.to_parquet(smk.output.calls, index=False)
    save_example(smk.output.example, example)
    print(f"fold {smk.wildcards.animal}: {long['call_uid'].nunique()} held-out calls, "
          f"{int(np.isfinite(long['deconv_stim_corr']).sum())} deconvolved (call, layer) pairs, "
          f"example {example['call_uid']} (typicality distance {example['distance']:.2f}, "
          f"classified correctly: {example['correct']}), {time.time() - t0:.1f} s")


main(snakemake)  # noqa: F821
