"""Snakemake adapter: train one segmentation model with one seed, on the device it reserved, and segment the
held-out test crops with it."""
import json

import numpy as np
import pandas as pd
import torch

from usvflow.classify.training import pick_device, seed_everything
from usvflow.segment.dataset import load_dataset
from usvflow.segment.models import build_model, count_parameters, model_augmented
from usvflow.segment.training import TrainConfig, predict_masks, train_segmenter, validation_subset
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    torch.set_num_threads(smk.threads)
    s = smk.params.settings
    name, seed = smk.wildcards.model, int(smk.wildcards.seed)
    device = pick_device()
    data = load_dataset(smk.input.dataset)
    masks = data["truth"]
    if smk.input.refined:  # learn from the refinement's masks instead of the truth (train_masks: refined)
        with np.load(smk.input.refined[0]) as z:
            masks = np.zeros_like(data["threshold"])
            masks[z["call_rows"]] = z["masks"]
    split = data["meta"]["split"].to_numpy()
    tr, va = split == "train", validation_subset(np.flatnonzero(split == "val"), s["val_crops"])
    seed_everything(seed)
    model = build_model(name, width=s["squeakout_width"], last_channels=s["squeakout_last_channels"],
                        unet_base=s["unet_base"], unet_depth=s["unet_depth"])
    n_par = count_parameters(model)
    print(f"{name}, seed {seed}: {n_par:,} parameters; {tr.sum()} training and {va.size} validation crops; "
          f"device {device}")
    cfg = TrainConfig(lr=s["lr"], batch_size=s["batch_size"], max_epochs=s["max_epochs"],
                      batches_per_epoch=s["batches_per_epoch"], plateau_patience=s["plateau_patience"],
                      early_stop_patience=s["early_stop_patience"], augment=model_augmented(name), seed=seed,
                      tile=s["tile"])
    hist = train_segmenter(model, data["images"][tr], masks[tr], data["images"][va], masks[va], cfg,
                           device=device)
    print(f"stopped: {hist.stopped}; {hist.updates} of {hist.max_updates} updates; best check {hist.best_epoch}; "
          f"learning-rate drops after checks {hist.lr_drops}; {hist.seconds:.0f} s")
    test = np.flatnonzero(split == "test")
    pred = predict_masks(model, data["images"][test], device=device)
    torch.save({"name": name, "seed": seed, "state_dict": model.state_dict(), "settings": s}, smk.output.model)
    pd.DataFrame(hist.epochs).to_csv(smk.output.history, index=False)
    np.savez_compressed(smk.output.predictions, rows=test, masks=pred)
    summary = dict(model=name, seed=seed, parameters=n_par, augmented=cfg.augment, updates=hist.updates,
                   max_updates=hist.max_updates, checks=len(hist.epochs), best_check=hist.best_epoch,
                   stopped=hist.stopped, lr_drops=hist.lr_drops, final_lr=hist.epochs[-1]["lr"],
                   seconds=round(hist.seconds, 1), device=hist.device, tile=cfg.tile, batch_size=cfg.batch_size)
    with open(smk.output.metrics, "w") as f:
        json.dump(summary, f, indent=1)


main(snakemake)  # noqa: F821
