"""Snakemake adapter (opt-in: results/stats/cnn_permutation.json): the leave-one-animal-out CNN of one fold,
trained on one animal-level relabelling of the groups (usvflow.classify.nulls.sampled_assignments)."""
import torch

from usvflow.classify.classical_tasks import encode_labels
from usvflow.classify.folds import FoldData, FoldSkipped, run_fold, skipped_metrics, write_json
from usvflow.classify.nulls import animal_labels, relabelled_table, sampled_assignments
from usvflow.features.dataset import load_cohort
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    torch.set_num_threads(max(1, int(smk.threads)))
    w, spec, s = smk.wildcards, smk.params.spec, smk.params.null
    table, images = load_cohort(smk.input.table, smk.input.images)
    animals = table["animal"].astype(str).to_numpy()
    labels = animal_labels(encode_labels(table[spec["column"]], spec), animals)
    assign = sampled_assignments(labels, int(w.perm), int(s["max_permutations"]), int(s["seed"]))[int(w.perm) - 1]
    data = FoldData(table=relabelled_table(table, spec["column"], assign, [spec["negative"], spec["positive"]]),
                    images=images)
    try:
        metrics, _, _, _ = run_fold(w.task, "loao", w.fold, "cnn", data, smk.params.settings)
    except FoldSkipped as skip:
        metrics = skipped_metrics(w.task, "loao", w.fold, "cnn", skip.reason, skip.classes)
    metrics.update(relabelling=int(w.perm), assignment=assign)
    write_json(smk.output.metrics, metrics)
    print(f"{w.task}/relabelling {w.perm}/{w.fold}: accuracy {metrics.get('accuracy')}")


main(snakemake)  # noqa: F821
