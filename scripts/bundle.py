"""Snakemake adapter: one task's final CNN and classical model, their LOAO calibration and the input settings →
results/bundles/{task}.pt (loads without Snakemake: usvflow.classify.bundle.load_bundle)."""
import json

import numpy as np
import pandas as pd
import torch

from usvflow.classify.bundle import choose_default_member, load_pt, make_bundle, save_bundle
from usvflow.detect.params import resolve_params as detector_params
from usvflow.errors import InputError
from usvflow.features.columns import resolve_params as feature_params
from usvflow.workflow.script import script_main

FROM_AGGREGATION = ("loao", "calibration", "curve", "calls_needed_90", "rates", "rate_model", "n_animals", "n_calls")


@script_main
def main(smk):
    task = smk.wildcards.task
    agg = {}
    for path in smk.input.aggregation:
        with open(path) as fh:
            rep = json.load(fh)
        if not rep.get("skipped"):
            agg[rep["model"]] = rep
    with open(smk.input.cnn_metrics) as fh:
        cnn_info = json.load(fh)
    net = torch.load(smk.input.cnn, map_location="cpu", weights_only=True)
    classical = load_pt(smk.input.classical)
    classes = list(cnn_info["classes"])
    if list(classical["classes"]) != classes:
        raise InputError(smk.input.classical, f"classes {classical['classes']} differ from the CNN's {classes}")
    for name in ("cnn", classical["model"]):
        if name not in agg:
            raise InputError(f"results/aggregation/{task}/{name}.json", f"no leave-one-animal-out calibration for {name}")
    members = {
        "cnn": {"name": "cnn", "kind": "network", "score": "probability",
                "model": {k: net[k] for k in ("family", "n_classes", "config", "state_dict")},
                **{k: agg["cnn"][k] for k in FROM_AGGREGATION}},
        "classical": {"name": classical["model"], "kind": "classical", "score": "decision", "model": classical,
                      **{k: agg[classical["model"]][k] for k in FROM_AGGREGATION}},
    }
    default = choose_default_member(members)
    table = pd.read_parquet(smk.input.dataset)
    rates = [int(np.load(path)["sample_rate"]) for path in smk.input.images]
    column = smk.params.spec["column"]
    animals = table.drop_duplicates("animal")
    training = {"data": smk.params.data, "cohort": str(table["cohort"].iloc[0]), "label_column": column,
                "recordings": len(rates),
                "n_calls": int(cnn_info["n_train"]), "animals": cnn_info["animals"],
                "animals_by_label": {str(k): sorted(map(str, g["animal"])) for k, g in animals.groupby(column)},
                "sample_rates_hz": rates}
    method = smk.params.detector["method"]
    bundle = make_bundle(task, classes, training, {"method": method,
                                                   "params": detector_params(method, smk.params.detector["params"])},
                         feature_params(smk.params.features), smk.params.channel, members, default)
    save_bundle(smk.output[0], bundle)
    for name, m in members.items():
        print(f"{task} bundle, {name} ({m['name']}): LOAO accuracy {m['loao']['accuracy_mean']:.3f}; "
              f"recording calibration {m['calibration']['recording']}")
    print(f"default member: {default}; needs >= {bundle['input']['min_sample_rate_hz']} Hz "
          f"({bundle['input']['min_sample_rate_reason']})")


main(snakemake)  # noqa: F821
