"""Snakemake adapter: one feature table + vectors per cohort, row-aligned with the dataset table."""
import pandas as pd

from usvflow.features.cohort import load_vectors, merge_cohort, save_vectors
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    dataset = pd.read_parquet(smk.input.dataset)
    per_recording = {}
    for rec, tpath, vpath in zip(smk.params.recordings, smk.input.tables, smk.input.vectors):
        table = pd.read_parquet(tpath).drop(columns=["call_uid"])
        per_recording[rec] = (table, load_vectors(vpath))
    table, vectors = merge_cohort(dataset, per_recording)
    table.to_parquet(smk.output.table, index=False)
    save_vectors(smk.output.vectors, vectors)
    src = table["properties_source"].value_counts().to_dict() if len(table) else {}
    print(f"{len(table)} calls; properties from: {src}")


main(snakemake)  # noqa: F821
