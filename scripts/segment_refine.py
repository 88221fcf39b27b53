"""Snakemake adapter: the paper's automated dataset refinement, every step scored against the truth."""
import numpy as np
import pandas as pd
import torch

from usvflow.segment.dataset import load_dataset
from usvflow.segment.refine import RefineConfig, refine_masks
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    torch.set_num_threads(smk.threads)
    s = smk.params.settings
    r = s["refine"]
    data = load_dataset(smk.input[0])
    is_noise = (data["meta"]["kind"] == "noise").to_numpy()
    cfg = RefineConfig(unet_base=r["unet_base"], unet_depth=r["unet_depth"], pretrain_epochs=r["pretrain_epochs"],
                       call_epochs=r["call_epochs"], noise_epochs=r["noise_epochs"], max_rounds=r["max_rounds"],
                       lr=r["lr"], batch_size=s["batch_size"], seed=s["seed"],
                       max_batches_per_epoch=r["batches_per_epoch"], noise_rehearsal=r["noise_rehearsal"])
    # Examples for the figure: the call crops whose threshold masks disagree most with the truth.
    calls = np.flatnonzero(~is_noise)
    if data["truth"] is not None:
        from usvflow.segment.dataset import score_masks
        dice = score_masks(data["threshold"][calls], data["truth"][calls])["dice"]
        example = np.argsort(dice)[len(dice) // 10: len(dice) // 10 + 4]
    else:
        example = np.arange(min(4, calls.size))
    res = refine_masks(data["images"], data["threshold"], is_noise, data["truth"], cfg, example_idx=example)
    pd.DataFrame(res.steps).to_csv(smk.output.steps, index=False)
    np.savez_compressed(smk.output.masks, masks=res.masks, call_rows=calls, example_rows=calls[example],
                        example_names=np.array(list(res.examples)),
                        **{f"example_{i}": m for i, m in enumerate(res.examples.values())})
    print(pd.DataFrame(res.steps).to_string(index=False))


main(snakemake)  # noqa: F821
