"""Snakemake adapter: one model's leave-one-animal-out predictions of one task → per-call and per-recording
calibration, accuracy against the number of calls, confusion rates (results/aggregation/{task}/{model}.json)."""
import pandas as pd

from usvflow.classify.aggregate import model_report
from usvflow.classify.folds import write_json
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    settings = smk.params.settings
    task, model = smk.wildcards.task, smk.wildcards.model
    preds = pd.concat([pd.read_parquet(path).assign(animal=fold) for fold, path in zip(smk.params.folds, smk.input)],
                      ignore_index=True)
    out = {"task": task, "model": model}
    if not {0, 1} <= set(preds["y_true"].unique()):
        out["skipped"] = "its held-out animals do not cover both classes (folds skipped)"
        print(f"{task}/{model}: skipped ({out['skipped']})")
    else:
        out.update(model_report(preds, model, draws=int(settings["draws"]), seed=int(settings["seed"])))
        curve = pd.DataFrame(out["curve"])
        print(f"{task}/{model}: per-recording accuracy "
              + ", ".join(f"{r.n_calls}: {r.accuracy:.3f}" for r in curve.itertuples())
              + f"; calibration {out['calibration']}")
    write_json(smk.output[0], out)


main(snakemake)  # noqa: F821
