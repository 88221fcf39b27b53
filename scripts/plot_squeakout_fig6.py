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
    # The trained networks' masks are those of the first seed (its per-image scores beside them); both
    # architectures as trained for the table's headline row, with augmentation.
    shown = {"threshold": "threshold", "unet_aug": "U-Net (aug.)", "squeakout": "SqueakOut"}
    columns = {"truth": p["truth"][pick]} | {label: p[f"pred_{key}"][pick] for key, label in shown.items()}
    scores = {label: (p[f"accuracy_{key}"][pick], p[f"dice_{key}"][pick]) for key, label in shown.items()}
    note = f"{smk.params.note}; networks: seed {int(p['seed'])}"
    plot_examples(data["images"][p["rows"][pick]], columns, scores, smk.output[0], note)


main(snakemake)  # noqa: F821
