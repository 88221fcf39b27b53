"""Snakemake adapter: Table 1 — every model scored per image on the held-out animals' call crops."""
import numpy as np
import pandas as pd
import torch

from usvflow.report import paper
from usvflow.report.summary import write_stats
from usvflow.segment.dataset import load_dataset, mean_sem_pct, score_masks
from usvflow.segment.models import SqueakOut, count_parameters
from usvflow.segment.training import inference_seconds, load_model, predict_masks
from usvflow.workflow.script import script_main

LABELS = {"null": "null model", "threshold": "threshold baseline", "unet": "U-Net",
          "squeakout_noaug": "SqueakOut without augmentation", "squeakout": "SqueakOut"}
PAPER = paper.SQUEAKOUT_TABLE1


@script_main
def main(smk):
    torch.set_num_threads(smk.threads)
    data = load_dataset(smk.input.dataset)
    meta = data["meta"]
    test = np.flatnonzero((meta["split"] == "test").to_numpy() & (meta["kind"] == "call").to_numpy())
    noise = np.flatnonzero((meta["split"] == "test").to_numpy() & (meta["kind"] == "noise").to_numpy())
    truth = data["truth"][test]
    preds = {"null": np.zeros_like(truth), "threshold": data["threshold"][test]}
    noise_preds = {"null": np.zeros_like(data["threshold"][noise]), "threshold": data["threshold"][noise]}
    models = {}
    for name, path in zip(smk.params.models, smk.input.models):
        models[name] = load_model(path)
        preds[name] = predict_masks(models[name], data["images"][test])
        noise_preds[name] = predict_masks(models[name], data["images"][noise])
    rows, values, per_image = [], {}, {}
    for key, label in LABELS.items():
        sc = score_masks(preds[key], truth)
        acc, acc_sem = mean_sem_pct(sc["accuracy"])
        dice, dice_sem = mean_sem_pct(sc["dice"])
        rows.append(dict(model=label, accuracy_mean=acc, accuracy_sem=acc_sem, dice_mean=dice, dice_sem=dice_sem))
        fp = float(noise_preds[key].reshape(len(noise), -1).any(1).mean() * 100) if len(noise) else float("nan")
        values[key] = dict(accuracy_mean=acc, accuracy_sem=acc_sem, dice_mean=dice, dice_sem=dice_sem,
                           noise_crops_with_segment_pct=fp)
        per_image[f"accuracy_{key}"], per_image[f"dice_{key}"] = sc["accuracy"], sc["dice"]
    table = pd.DataFrame(rows)
    table.to_csv(smk.output.table, index=False, float_format="%.2f")
    print(table.to_string(index=False))

    shape = data["images"].shape[1:]
    trained = models["squeakout"]
    values["parameters_trained"] = count_parameters(trained)
    values["parameters_paper_scale"] = count_parameters(SqueakOut(width=1.0))
    values["cpu_threads"] = torch.get_num_threads()
    values["cpu_s_per_batch64_trained_model"] = inference_seconds(trained, shape, batch=64, repeats=2)
    values["input_shape"] = list(shape)
    values["n_test_call_crops"], values["n_test_noise_crops"] = int(len(test)), int(len(noise))
    values["test_animals"] = sorted(meta.loc[test, "animal"].unique().tolist())
    fmt = "{:.2f} ± {:.2f}"
    out_rows = []
    for key, label in LABELS.items():
        v, p = values[key], PAPER[key]
        out_rows.append(dict(quantity=f"Table 1 {label}: accuracy (%)", paper=fmt.format(p[0], p[1]),
                             ours=fmt.format(v["accuracy_mean"], v["accuracy_sem"])))
        out_rows.append(dict(quantity=f"Table 1 {label}: Dice", paper=fmt.format(p[2], p[3]),
                             ours=fmt.format(v["dice_mean"], v["dice_sem"])))
    out_rows.append(dict(quantity="SqueakOut parameters", paper=paper.SQUEAKOUT_PARAMETERS,
                         ours=f"{values['parameters_paper_scale'] / 1e6:.2f} M at width 1 "
                              f"({values['parameters_trained'] / 1e6:.2f} M trained here)"))
    out_rows.append(dict(quantity="inference, batch of 64", paper=paper.SQUEAKOUT_INFERENCE,
                         ours=f"{values['cpu_s_per_batch64_trained_model']:.2f} s CPU ({shape[0]}×{shape[1]}, "
                              f"{values['cpu_threads']} thread(s), trained model); see benchmarks/segment_speed.py"))
    write_stats(smk.output.stats, "SqueakOut Table 1", smk.params.dataset, values, out_rows)
    np.savez_compressed(smk.output.predictions, rows=test, truth=truth,
                        **{f"pred_{k}": v for k, v in preds.items()}, **per_image)


main(snakemake)  # noqa: F821
