"""Snakemake adapter: crops around every detected call (+ noise crops) with truth and threshold masks."""
from pathlib import Path

from usvflow.segment.crops import grid_from_config
from usvflow.segment.dataset import build_dataset, save_dataset
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    s = smk.params.settings
    samples = smk.params.samples
    grid = grid_from_config(s)
    recs = list(samples.index)
    truth_dir = Path(smk.input.truth[0]).parent if smk.input.truth else None  # None: no truth, no truth masks
    data = build_dataset(samples, dict(zip(recs, smk.input.calls)), grid, truth_dir,
                         noise_per_call=s["noise_per_call"], test_fraction=s["test_fraction"],
                         val_fraction=s["val_fraction"], seed=s["seed"], channel=smk.params.channel,
                         max_calls_per_recording=s["max_calls_per_recording"])
    Path(smk.output[0]).parent.mkdir(parents=True, exist_ok=True)
    save_dataset(smk.output[0], data, grid)
    meta = data["meta"]
    print(meta.groupby(["split", "kind"]).size().to_string())
    print("test animals:", sorted(meta.loc[meta["split"] == "test", "animal"].unique()))


main(snakemake)  # noqa: F821
