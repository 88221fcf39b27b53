"""Snakemake adapter: train one segmentation model (U-Net, SqueakOut without / with augmentation)."""
import numpy as np
import pandas as pd
import torch

from usvflow.segment.dataset import load_dataset
from usvflow.segment.models import build_model, count_parameters
from usvflow.segment.training import TrainConfig, train_segmenter
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    torch.set_num_threads(smk.threads)
    s = smk.params.settings
    name = smk.wildcards.model
    data = load_dataset(smk.input.dataset)
    masks = data["truth"]
    if smk.input.refined:  # learn from the refinement's masks instead of the truth (train_masks: refined)
        with np.load(smk.input.refined[0]) as z:
            masks = np.zeros_like(data["threshold"])
            masks[z["call_rows"]] = z["masks"]
    split = data["meta"]["split"].to_numpy()
    tr, va = split == "train", split == "val"
    torch.manual_seed(s["seed"])
    model = build_model(name, width=s["squeakout_width"], last_channels=s["squeakout_last_channels"],
                        unet_base=s["unet_base"], unet_depth=s["unet_depth"])
    print(f"{name}: {count_parameters(model):,} parameters; {tr.sum()} training and {va.sum()} validation crops")
    cfg = TrainConfig(lr=s["lr"], batch_size=s["batch_size"], max_epochs=s["max_epochs"],
                      plateau_patience=s["plateau_patience"], early_stop_patience=s["early_stop_patience"],
                      augment=name == "squeakout", seed=s["seed"], max_batches_per_epoch=s["batches_per_epoch"])
    hist = train_segmenter(model, data["images"][tr], masks[tr], data["images"][va], masks[va], cfg)
    print(f"stopped: {hist.stopped}; best epoch {hist.best_epoch}; {hist.seconds:.0f} s")
    torch.save({"name": name, "state_dict": model.state_dict(), "settings": s, "best_epoch": hist.best_epoch,
                "seconds": hist.seconds}, smk.output.model)
    pd.DataFrame(hist.epochs).to_csv(smk.output.history, index=False)


main(snakemake)  # noqa: F821
