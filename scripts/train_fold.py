"""Snakemake adapter: train and test one (task, split, fold, model) network; write its four result files."""
import sys

import pandas as pd
import torch

from usvflow.dataset import load_cohort
from usvflow.errors import InputError
from usvflow.models import build_model, save_model
from usvflow.train import FoldData, FoldSkipped, run_fold, skipped_metrics, write_json
from usvflow.workflow import script_main


@script_main
def main(smk):
    torch.set_num_threads(max(1, int(smk.threads)))
    w = smk.wildcards
    data = FoldData(table=pd.read_parquet(smk.input.table))
    if hasattr(smk.input, "images"):
        data.table, data.images = load_cohort(smk.input.table, smk.input.images)
    else:
        from usvflow.features import load_features  # scikit-image: only the feature networks need it

        data.features, data.vectors = load_features(smk.input.features, smk.input.vectors)
        if list(data.features["call_uid"]) != list(data.table["call_uid"]):
            raise InputError(smk.input.features, f"rows are not aligned with {smk.input.table} (call_uid differs)")
    try:
        metrics, predictions, curve, model = run_fold(w.task, w.split, w.fold, w.model, data, smk.params.settings)
    except FoldSkipped as skip:
        # Not fatal: the other folds and the figures go on; the reason is in the metrics and on the console.
        metrics = skipped_metrics(w.task, w.split, w.fold, w.model, skip.reason, skip.classes)
        predictions = pd.DataFrame({"call_uid": pd.Series(dtype=str), "y_true": pd.Series(dtype=int),
                                    "y_pred": pd.Series(dtype=int), "score": pd.Series(dtype=float)})
        curve = pd.DataFrame(columns=["iteration", "epoch", "stage", "lr", "train_loss", "test_accuracy", "weight_change"])
        family = w.model.removesuffix("_shuffled")
        model = build_model(family, max(2, len(skip.classes)), smk.params.settings.get(family) if family == "cnn" else None)
        line = f"usvflow: {w.task}/{w.split}/{w.fold}/{w.model} skipped: {skip.reason}"
        print(line)
        print(line, file=sys.__stderr__)
    write_json(smk.output.metrics, metrics)
    predictions.to_parquet(smk.output.predictions, index=False)
    curve.to_csv(smk.output.curve, index=False)
    save_model(smk.output.model, model, w.model.removesuffix("_shuffled"),
               extra={k: metrics[k] for k in ("task", "split", "fold", "model", "classes", "test_animals", "skipped")})
    if metrics["skipped"]:
        return
    print(f"{w.task}/{w.split}/{w.fold}/{w.model}: accuracy {metrics['accuracy']:.3f} (chance {metrics['chance']:.3f}) "
          f"on {metrics['n_test']} calls, {metrics['n_train']} training calls, {metrics['seconds']:.1f} s on "
          f"{metrics['device']}")


main(snakemake)  # noqa: F821
