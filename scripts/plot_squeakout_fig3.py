"""Snakemake adapter: Fig 3 — the refinement steps scored against the truth."""
import numpy as np
import pandas as pd

from usvflow.figures.segment import plot_refinement
from usvflow.segment.dataset import load_dataset
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    steps = pd.read_csv(smk.input.steps)
    data = load_dataset(smk.input.dataset)
    with np.load(smk.input.masks) as z:
        rows = z["example_rows"]
        names = [str(n) for n in z["example_names"]]
        examples = {n: z[f"example_{i}"] for i, n in enumerate(names)}
    truth = data["truth"][rows] if data["truth"] is not None else None
    n_noise = int((data["meta"]["kind"] == "noise").sum())  # the crops noise_empty_pct is over
    plot_refinement(steps, data["images"][rows], truth, examples, smk.output[0], smk.params.note, n_noise=n_noise)


main(snakemake)  # noqa: F821
