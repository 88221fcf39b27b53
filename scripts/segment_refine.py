"""Snakemake adapter: the paper's automated dataset refinement, every step scored against the truth."""
import numpy as np
import pandas as pd
import torch

from usvflow.classify.training import pick_device, seed_everything
from usvflow.report.summary import write_stats
from usvflow.segment.dataset import load_dataset, score_masks
from usvflow.segment.refine import RefineConfig, refine_masks, refinement_verdict
from usvflow.workflow.script import script_main


def stats_rows(steps: pd.DataFrame, verdict: dict) -> list[dict]:
    """Summary rows: Dice after every step of every round, and whether the loop beat its threshold masks."""
    rows = []
    for _, r in steps.iterrows():
        label = "threshold masks (start)" if r["step"] == "threshold" else f"round {r['round']}: after {r['step']}"
        extra = f"; {int(r['segments_eroded'])} segments eroded" if pd.notna(r.get("segments_eroded")) else ""
        rows.append(dict(quantity=f"refinement Dice vs truth, {label}", paper="n/a (no truth in the paper)",
                         ours=f"{r['dice_mean']:.2f} ± {r['dice_sem']:.2f}{extra}"))
    rows.append(dict(quantity="refined masks beat the threshold masks (paired Wilcoxon over call crops)",
                     paper="autoencoder masks better than VocalMat's (Fig 3A)",
                     ours=f"{'yes' if verdict['beats_threshold'] else 'NO'}: Dice {verdict['final_dice']:.2f} vs "
                          f"{verdict['threshold_dice']:.2f} (p = {verdict['p']:.2g}); best step "
                          f"{verdict['best_step']} ({verdict['best_dice']:.2f})"))
    return rows


@script_main
def main(smk):
    torch.set_num_threads(smk.threads)
    s = smk.params.settings
    r = s["refine"]
    data = load_dataset(smk.input[0])
    is_noise = (data["meta"]["kind"] == "noise").to_numpy()
    cfg = RefineConfig(unet_base=r["unet_base"], unet_depth=r["unet_depth"], pretrain_epochs=r["pretrain_epochs"],
                       call_epochs=r["call_epochs"], noise_epochs=r["noise_epochs"], max_rounds=r["max_rounds"],
                       lr=r["lr"], batch_size=s["batch_size"], seed=s["seed"], min_thickness=r["min_thickness"],
                       restart_rounds=r["restart_rounds"], batches_per_epoch=r["batches_per_epoch"],
                       noise_rehearsal=r["noise_rehearsal"])
    # Examples for the figure: the call crops whose threshold masks disagree most with the truth.
    calls = np.flatnonzero(~is_noise)
    if data["truth"] is not None:
        dice = score_masks(data["threshold"][calls], data["truth"][calls])["dice"]
        example = np.argsort(dice)[len(dice) // 10: len(dice) // 10 + 4]
    else:
        example = np.arange(min(4, calls.size))
    seed_everything(cfg.seed)
    device = pick_device()
    print(f"device {device}")
    res = refine_masks(data["images"], data["threshold"], is_noise, data["truth"], cfg, example_idx=example,
                       device=device)
    steps = pd.DataFrame(res.steps)
    steps.to_csv(smk.output.steps, index=False)
    np.savez_compressed(smk.output.masks, masks=res.masks, call_rows=calls, example_rows=calls[example],
                        example_names=np.array(list(res.examples)),
                        **{f"example_{i}": m for i, m in enumerate(res.examples.values())})
    print(steps.to_string(index=False))
    if data["truth"] is not None:
        verdict = refinement_verdict(res, data["truth"][calls])
        print(verdict)
        write_stats(smk.output.stats, "SqueakOut dataset refinement (Fig 3)", smk.params.dataset,
                    dict(steps=res.steps, verdict=verdict, device=str(device)), stats_rows(steps, verdict))
    else:
        write_stats(smk.output.stats, "SqueakOut dataset refinement (Fig 3)", smk.params.dataset,
                    dict(steps=res.steps, device=str(device)), [])


main(snakemake)  # noqa: F821
