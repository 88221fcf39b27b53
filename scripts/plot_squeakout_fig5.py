"""Snakemake adapter: Fig 5 — the augmentation gallery on one training crop."""
import numpy as np
import torch

from usvflow.figures.segment import plot_augmentations
from usvflow.segment.augment import NOISE_KINDS, Augmenter
from usvflow.segment.dataset import load_dataset
from usvflow.segment.training import to_tensor
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    data = load_dataset(smk.input[0])
    meta = data["meta"]
    masks = data["truth"] if data["truth"] is not None else data["threshold"]
    calls = np.flatnonzero((meta["kind"] == "call").to_numpy() & (meta["split"] == "train").to_numpy())
    # A crop with a clearly visible, mid-sized call: the median call-pixel count among the training crops.
    area = masks[calls].reshape(len(calls), -1).sum(1)
    i = calls[np.argsort(area)[len(area) // 2]]
    x, y = to_tensor(data["images"][i:i + 1]), torch.from_numpy(masks[i:i + 1].astype(np.float32)).unsqueeze(1)
    aug = Augmenter(seed=smk.params.seed)
    single = {}
    im, mk = aug.affine(x, y)
    single["affine"] = (im, mk)
    single["contrast"] = (aug.contrast(x), y)
    single["blur"] = (aug.blur(x), y)
    for kind in NOISE_KINDS:
        single[kind] = aug.elastic(x, y) if kind == "elastic" else (aug.noise(x, kind), y)
    single = {k: (v[0][0, 0].numpy(), v[1][0, 0].numpy() > 0.5) for k, v in single.items()}
    combined = []
    for _ in range(len(single)):
        im, mk, applied = aug(x, y)
        combined.append((im[0, 0].numpy(), mk[0, 0].numpy() > 0.5, applied))
    plot_augmentations(data["images"][i], masks[i], single, combined, smk.output[0], smk.params.note)


main(snakemake)  # noqa: F821
