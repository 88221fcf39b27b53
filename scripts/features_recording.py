"""Snakemake adapter: features of every detected call of one recording."""
import pandas as pd

from usvflow.features.cohort import save_vectors
from usvflow.features.extract import compute_features
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    calls = pd.read_csv(smk.input.calls)
    table, vectors = compute_features(calls, smk.input.wav, smk.params.channel, smk.params.features,
                                      smk.params.min_sample_rate_hz)
    rec = smk.wildcards.recording
    vectors["call_uid"] = [f"{rec}#{i}" for i in range(len(table))]
    table.insert(0, "call_uid", vectors["call_uid"])
    table.to_parquet(smk.output.table, index=False)
    save_vectors(smk.output.vectors, vectors)
    print(f"{rec}: features of {len(table)} calls; {int((table['n_ff_bins'] == 0).sum())} without an FF line")


main(snakemake)  # noqa: F821
