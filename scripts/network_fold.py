"""Snakemake adapter: Fig 6 measurements of one leave-one-animal-out fold of the sex CNN."""
import time

import numpy as np

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
    long, example = analyse_fold(model, x, table, smk.wildcards.animal, settings, layer_names(model))
    long.to_parquet(smk.output.calls, index=False)
    save_example(smk.output.example, example)
    print(f"fold {smk.wildcards.animal}: {long['call_uid'].nunique()} held-out calls, "
          f"{int(np.isfinite(long['deconv_stim_corr']).sum())} deconvolved (call, layer) pairs, {time.time() - t0:.1f} s")


main(snakemake)  # noqa: F821
