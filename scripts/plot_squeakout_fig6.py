"""Snakemake adapter: Fig 6 — test crops with truth, threshold and SqueakOut masks and their scores."""
import numpy as np

from usvflow.figures.segment import plot_examples
from usvflow.segment.dataset import load_dataset
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    data = load_dataset(smk.input.dataset)
    with np.load(smk.input.predictions) as z:
        p = {k: z[k] for k in z.files}
    # Spread the examples over the threshold baseline's Dice: easy, typical and hard crops.
    order = np.argsort(p["dice_threshold"])
    pick = order[np.linspace(0, len(order) - 1, min(6, len(order))).astype(int)]
    columns = {"truth": p["truth"][pick], "threshold": p["pred_threshold"][pick],
               "SqueakOut": p["pred_squeakout"][pick]}
    scores = {"threshold": (p["accuracy_threshold"][pick], p["dice_threshold"][pick]),
              "SqueakOut": (p["accuracy_squeakout"][pick], p["dice_squeakout"][pick])}
    plot_examples(data["images"][p["rows"][pick]], columns, scores, smk.output[0], smk.params.note)


main(snakemake)  # noqa: F821
