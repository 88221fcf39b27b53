"""Snakemake adapter: draw Fig 7 from the call-space analysis (never recomputes the embedding)."""
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from usvflow.features.dataset import NOISE_COLUMNS
from usvflow.features.noise import truth_noise
from usvflow.figures.callspace import plot_fig7
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    calls = pd.read_parquet(smk.input.calls)
    with np.load(smk.input.density) as z:
        grid = {k: z[k] for k in ("male", "female", "difference")}
        grid["axes"] = [z[f"axis_{i}"] for i in range(grid["male"].ndim)]
    images = np.load(smk.input.images, mmap_mode="r")
    with open(smk.input.stats) as fh:
        stats = json.load(fh)
    # How noise-like each call is: its image (any data) and, on simulated data, the noise event under it.
    table = pd.read_parquet(smk.input.table)
    noise = table[NOISE_COLUMNS].reset_index(drop=True)  # the dataset stage's image measures, row-aligned
    truth = {Path(p).name.split(".")[0]: pd.read_csv(p) for p in smk.input.truth}
    if truth:
        noise["truth"] = truth_noise(table, truth).to_numpy()
    fig = plot_fig7(calls, grid, images, stats["values"], stats["dataset"], noise)
    fig.savefig(smk.output.figure)
    plt.close(fig)


main(snakemake)  # noqa: F821
