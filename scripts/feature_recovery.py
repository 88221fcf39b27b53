"""Snakemake adapter: features and auto-scored properties against the simulator's truth."""
import numpy as np
import pandas as pd

from usvflow.features.recovery import recovery_summary, truth_errors
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    truth = []
    for rec, path in zip(smk.params.recordings, smk.input.truth):
        t = pd.read_csv(path)
        t["recording"] = rec
        t["reference_index"] = np.arange(len(t))  # the dataset's reference_index is the truth row
        truth.append(t)
    truth = pd.concat(truth, ignore_index=True)
    tables, all_err, all_ds, all_f = [], [], [], []
    for ds_path, f_path in zip(smk.input.datasets, smk.input.features):
        ds, feats = pd.read_parquet(ds_path), pd.read_parquet(f_path)
        if ds.empty:
            continue
        err = truth_errors(feats, ds, truth)
        cohort = str(ds["cohort"].iloc[0])
        tables.append(recovery_summary(err, ds, feats, cohort))
        all_err.append(err.assign(cohort=cohort))
        all_ds.append(ds)
        all_f.append(feats)
    if all_err:
        err = pd.concat(all_err, ignore_index=True)
        tables.insert(0, recovery_summary(err, pd.concat(all_ds, ignore_index=True),
                                          pd.concat(all_f, ignore_index=True), "all"))
        err.to_csv(smk.output.calls, index=False)
    else:
        pd.DataFrame(columns=["call_uid"]).to_csv(smk.output.calls, index=False)
    out = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    out.to_csv(smk.output.table, index=False)
    print(out.to_string())


main(snakemake)  # noqa: F821
