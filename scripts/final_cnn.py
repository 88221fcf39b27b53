"""Snakemake adapter: the task's CNN trained on every animal of its cohort (the bundle's network)."""
import torch

from usvflow.classify.final import train_final_network
from usvflow.classify.folds import FoldData, write_json
from usvflow.classify.models import save_model
from usvflow.features.dataset import load_cohort
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    torch.set_num_threads(max(1, int(smk.threads)))
    task = smk.wildcards.task
    table, images = load_cohort(smk.input.table, smk.input.images)
    model, metrics = train_final_network(task, "cnn", FoldData(table=table, images=images), smk.params.settings)
    animals = sorted(map(str, table["animal"].unique()))
    info = {"task": task, "model": "cnn", "classes": metrics["classes"], "n_train": metrics["n_train"],
            "animals": animals, "seconds": metrics["seconds"], "device": metrics["device"],
            "iterations": metrics["iterations"], "architecture": metrics["architecture"],
            "stages": metrics["stages"], "seed": metrics["seed"], "preset": metrics["preset"]}
    save_model(smk.output.model, model, "cnn", extra={k: info[k] for k in ("task", "classes", "n_train", "animals")})
    write_json(smk.output.metrics, info)
    print(f"{task}/final/cnn: trained on {info['n_train']} calls of {len(animals)} animals in {info['seconds']:.1f} s "
          f"on {info['device']}")


main(snakemake)  # noqa: F821
