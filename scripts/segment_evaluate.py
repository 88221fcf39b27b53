"""Snakemake adapter: Table 1 — every model and seed scored per image on the held-out animals' call crops."""
import json

import numpy as np
import torch

from usvflow.report import paper
from usvflow.report.summary import write_stats
from usvflow.segment.dataset import load_dataset, score_masks
from usvflow.segment.models import SqueakOut, UNet, count_parameters
from usvflow.segment.settings import BASELINES, MODELS, PAIRS
from usvflow.segment.table import build_table, schedule_summary
from usvflow.workflow.script import script_main

PAPER = paper.SQUEAKOUT_TABLE1
PM = "{:.2f} ± {:.2f}"


def stats_rows(values: dict) -> list[dict]:
    """The summary's rows: Table 1 beside the paper, the like-for-like tests, sizes, budget and speed."""
    rows = []
    for r in values["table"]:
        key = next((k for k, m in MODELS.items() if m.label == r["model"]),
                   next((k for k, lab in BASELINES.items() if lab == r["model"]), None))
        p = PAPER.get(key)
        sem = f" (SEM over {r['seeds']} seeds; over images ± {{:.2f}})" if r["trained"] else " (SEM over images)"
        for metric, j, unit in (("dice", 2, "Dice"), ("accuracy", 0, "accuracy (%)")):
            ours = PM.format(r[f"{metric}_mean"], r[f"{metric}_sem_seeds"] if r["trained"] else r[f"{metric}_sem_images"])
            rows.append(dict(quantity=f"Table 1 {r['model']}: {unit}",
                             paper=PM.format(p[j], p[j + 1]) if p else "n/a (not in the paper)",
                             ours=ours + sem.format(r[f"{metric}_sem_images"])))
    labels = {k: m.label for k, m in MODELS.items()}
    for a, b in PAIRS:
        t = values["tests"][f"{a} vs {b}"]
        pa, pb = PAPER.get(a), PAPER.get(b)
        rows.append(dict(
            quantity=f"{labels[a]} vs {labels[b]}: Dice difference, paired Wilcoxon over test crops",
            paper=f"{pa[2]:.2f} vs {pb[2]:.2f} (SqueakOut better; no test reported)" if pa and pb
            else "n/a (the paper trained U-Net without augmentation only)",
            ours=f"{t['difference']:+.2f} (p = {t['p']:.2g}, {t['n_images']} crops; SqueakOut better in "
                 f"{t['seeds_a_better']} of {t['n_seeds']} seeds)"))
    d = {r["model"]: r["dice_mean"] for r in values["table"]}
    gain = (d["SqueakOut"] - d["SqueakOut without augmentation"]) / d["SqueakOut without augmentation"] * 100
    rows.append(dict(quantity="augmentation: relative Dice gain of SqueakOut", paper="+8.72 %",
                     ours=f"{gain:+.2f} % (U-Net: {(d['U-Net with augmentation'] - d['U-Net']) / d['U-Net'] * 100:+.2f} %)"))
    par, full = values["parameters"], values["parameters_paper_scale"]
    rows.append(dict(quantity="parameters: SqueakOut / U-Net",
                     paper=f"{paper.SQUEAKOUT_PARAMETERS} / standard U-Net (Ronneberger et al.)",
                     ours=f"{par['squeakout'] / 1e6:.2f} M / {par['unet'] / 1e6:.2f} M trained "
                          f"(ratio {par['unet'] / par['squeakout']:.1f}); at the paper's size "
                          f"{full['squeakout'] / 1e6:.2f} M / {full['unet'] / 1e6:.2f} M "
                          f"(ratio {full['unet'] / full['squeakout']:.1f})"))
    sch = values["schedule"]
    rows.append(dict(quantity="training budget and schedule (every model and seed)",
                     paper="Adam 1e-4, batch 8, LR ×0.1 after 5 epochs without improvement, stop after 15",
                     ours=f"{sch['max_updates']} updates at most; used {sch['updates_min']}–{sch['updates_max']}; "
                          f"LR drop in {sch['runs_with_lr_drop']} of {sch['runs']} runs, early stop in "
                          f"{sch['runs_early_stopped']} of {sch['runs']}"))
    rows.append(dict(quantity="inference, batch of 64", paper=paper.SQUEAKOUT_INFERENCE,
                     ours="not timed in the workflow (a time depends on the machine and its load, and would make "
                          "this summary differ between two runs of one config): python benchmarks/segment_speed.py"))
    return rows


@script_main
def main(smk):
    torch.set_num_threads(smk.threads)
    models, seeds = list(smk.params.models), list(smk.params.seeds)
    data = load_dataset(smk.input.dataset)
    meta = data["meta"]
    is_test = (meta["split"] == "test").to_numpy()
    test = np.flatnonzero(is_test & (meta["kind"] == "call").to_numpy())
    noise = np.flatnonzero(is_test & (meta["kind"] == "noise").to_numpy())
    truth = data["truth"][test]
    dice, accuracy, runs, first, noise_hits = {}, {}, {}, {}, {}
    for key in models:  # predictions and metrics come in model-major, seed-minor order (the rule's expand)
        d, a, noise_any = [], [], []
        runs[key] = []
        for seed in seeds:
            i = models.index(key) * len(seeds) + seeds.index(seed)
            with np.load(smk.input.predictions[i]) as z:
                where = {r: j for j, r in enumerate(z["rows"])}
                masks = z["masks"]
            pred = masks[[where[r] for r in test]]
            sc = score_masks(pred, truth)
            d.append(sc["dice"])
            a.append(sc["accuracy"])
            noise_any.append(masks[[where[r] for r in noise]].reshape(len(noise), -1).any(1).mean() if len(noise)
                             else np.nan)
            first.setdefault(key, pred)
            with open(smk.input.metrics[i]) as f:
                runs[key].append(json.load(f))
        dice[key], accuracy[key], noise_hits[key] = np.array(d), np.array(a), float(np.mean(noise_any) * 100)
    baseline_masks = {"threshold": data["threshold"][test], "null": np.zeros_like(truth)}
    for key, pred in baseline_masks.items():
        sc = score_masks(pred, truth)
        dice[key] = np.tile(sc["dice"], (len(seeds), 1))
        accuracy[key] = np.tile(sc["accuracy"], (len(seeds), 1))
        first[key] = pred
    noise_hits["threshold"] = float(data["threshold"][noise].reshape(len(noise), -1).any(1).mean() * 100) \
        if len(noise) else float("nan")
    noise_hits["null"] = 0.0
    parameters = {k: runs[k][0]["parameters"] for k in models}
    table, tests = build_table(dice, accuracy, runs, parameters)
    table.to_csv(smk.output.table, index=False, float_format="%.4g")
    print(table.to_string(index=False))
    for name, t in tests.items():
        print(name, t)

    values = dict(table=table.to_dict(orient="records"), tests=tests, schedule=schedule_summary(runs),
                  runs=runs, noise_crops_with_segment_pct=noise_hits, seeds=seeds,
                  parameters=parameters,
                  parameters_paper_scale={"squeakout": count_parameters(SqueakOut(width=1.0)),
                                          "unet": count_parameters(UNet(base=64, depth=4))},
                  input_shape=list(data["images"].shape[1:]), n_test_call_crops=int(len(test)), n_test_noise_crops=int(len(noise)),
                  test_animals=sorted(meta.loc[test, "animal"].unique().tolist()))
    write_stats(smk.output.stats, "SqueakOut Table 1", smk.params.dataset, values, stats_rows(values))
    per_image = {}
    for key in list(models) + list(BASELINES):
        first_scores = score_masks(first[key], truth)
        per_image[f"pred_{key}"] = first[key]
        per_image[f"dice_{key}"], per_image[f"accuracy_{key}"] = first_scores["dice"], first_scores["accuracy"]
        per_image[f"dice_seedmean_{key}"] = dice[key].mean(0)
    np.savez_compressed(smk.output.predictions, rows=test, truth=truth, seed=seeds[0], **per_image)


main(snakemake)  # noqa: F821
