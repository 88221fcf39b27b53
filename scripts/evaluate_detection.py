"""Snakemake adapter: score the detectors on the real clips and the simulated cohort."""
from pathlib import Path

import pandas as pd

from usvflow.detect.evaluate import real_clip_table, simulated_table
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    real = real_clip_table(Path(smk.input.real), smk.params.methods, smk.params.detection, jobs=smk.threads)
    tables = [real]
    if smk.params.recordings:
        truth_dir = Path(smk.input.sim_truth[0]).parent
        extract_dir = Path(smk.input.sim_calls[0]).parent.parent  # results/extract/{method}/...
        tables.append(simulated_table(smk.params.recordings, truth_dir, extract_dir, smk.params.methods))
    table = pd.concat(tables, ignore_index=True)
    Path(smk.output.table).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(smk.output.table, index=False, float_format="%.4f")
    pooled = table[(table.subset == "pooled") & (table.criterion == "iou0.3")]
    print(pooled[["dataset", "tool", "precision", "recall", "f1"]].to_string(index=False))


main(snakemake)  # noqa: F821
