"""Snakemake adapter: train and test one (task, split, fold) network and its shuffled-label control; write the
four result files of each."""
import sys

import pandas as pd
import torch

from usvflow.classify.folds import FoldData, FoldSkipped, run_fold, skipped_metrics, write_json
from usvflow.classify.models import build_model, save_model
from usvflow.errors import InputError
from usvflow.features.dataset import load_cohort
from usvflow.workflow.script import script_main


def train_and_write(w, model_name: str, data: FoldData, settings: dict, out: dict[str, str]) -> None:
    """Train ``model_name`` on this fold and write its metrics, predictions, learning curve and weights."""
    try:
        metrics, predictions, curve, model = run_fold(w.task, w.split, w.fold, model_name, data, settings)
    except FoldSkipped as skip:
        # Not fatal: the other folds and the figures go on; the reason is in the metrics and on the console.
        metrics = skipped_metrics(w.task, w.split, w.fold, model_name, skip.reason, skip.classes)
        predictions = pd.DataFrame({"call_uid": pd.Series(dtype=str), "y_true": pd.Series(dtype=int),
                                    "y_pred": pd.Series(dtype=int), "score": pd.Series(dtype=float)})
        curve = pd.DataFrame(columns=["iteration", "epoch", "stage", "lr", "train_loss", "test_accuracy", "weight_change"])
        family = model_name.removesuffix("_shuffled")
        model = build_model(family, max(2, len(skip.classes)), settings.get(family) if family == "cnn" else None)
        line = f"usvflow: {w.task}/{w.split}/{w.fold}/{model_name} skipped: {skip.reason}"
        print(line)
        print(line, file=sys.__stderr__)
    write_json(out["metrics"], metrics)
    predictions.to_parquet(out["predictions"], index=False)
    curve.to_csv(out["curve"], index=False)
    save_model(out["model"], model, model_name.removesuffix("_shuffled"),
               extra={k: metrics[k] for k in ("task", "split", "fold", "model", "classes", "test_animals", "skipped")})
    if not metrics["skipped"]:
        print(f"{w.task}/{w.split}/{w.fold}/{model_name}: accuracy {metrics['accuracy']:.3f} "
              f"(chance {metrics['chance']:.3f}) on {metrics['n_test']} calls, {metrics['n_train']} training calls, "
              f"{metrics['seconds']:.1f} s on {metrics['device']}")


@script_main
def main(smk):
    torch.set_num_threads(max(1, int(smk.threads)))
    w = smk.wildcards
    data = FoldData(table=pd.read_parquet(smk.input.table))
    if hasattr(smk.input, "images"):
        data.table, data.images = load_cohort(smk.input.table, smk.input.images)
    else:
        from usvflow.features.cohort import load_features  # scikit-image: only the feature networks need it

        data.features, data.vectors = load_features(smk.input.features, smk.input.vectors)
        if list(data.features["call_uid"]) != list(data.table["call_uid"]):
            raise InputError(smk.input.features, f"rows are not aligned with {smk.input.table} (call_uid differs)")
    kinds = ("metrics", "predictions", "model", "curve")
    # The model, then its control: labels permuted across the training calls, everything else the same.
    train_and_write(w, w.model, data, smk.params.settings, {k: smk.output[k] for k in kinds})
    train_and_write(w, f"{w.model}_shuffled", data, smk.params.settings, {k: smk.output[f"shuffled_{k}"] for k in kinds})


main(snakemake)  # noqa: F821
