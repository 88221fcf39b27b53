"""Snakemake adapter: Fig 7 computations on the cached 3-D t-SNE map of the sex cohort's spectrograms."""
import json
import time

import numpy as np
import pandas as pd

from usvflow.errors import InputError
from usvflow.interpret.callspace import analyse_callspace
from usvflow.interpret.settings import CallSpaceSettings
from usvflow.report.interpret import fig7_rows
from usvflow.report.summary import write_stats
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    t0 = time.time()
    settings = CallSpaceSettings.from_config(smk.params.network)
    table = pd.read_parquet(smk.input.dataset)
    Y = np.load(smk.input.tsne)
    if len(Y) != len(table):
        raise InputError(smk.input.tsne, f"{len(Y)} embedded points but {len(table)} calls in {smk.input.dataset}")
    features = pd.read_parquet(smk.input.features)
    if len(features) != len(table):
        raise InputError(smk.input.features, f"{len(features)} rows but {len(table)} calls in {smk.input.dataset}")
    predictions = pd.concat([pd.read_parquet(p, columns=["call_uid", "score"]) for p in smk.input.predictions],
                            ignore_index=True)
    calls, grid, clusters, values = analyse_callspace(table, Y, predictions, features, settings)
    calls.to_parquet(smk.output.calls, index=False)
    clusters.to_csv(smk.output.clusters, index=False)
    np.savez_compressed(smk.output.density, male=grid["male"], female=grid["female"],
                        difference=grid["difference"], **{f"axis_{i}": a for i, a in enumerate(grid["axes"])})
    write_stats(smk.output.stats, "fig7", smk.params.dataset, values, fig7_rows(values))
    print(json.dumps({k: v for k, v in values.items() if not isinstance(v, list)}, default=str, indent=1))
    print(f"{time.time() - t0:.1f} s")


main(snakemake)  # noqa: F821
