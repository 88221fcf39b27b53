"""Snakemake adapter: every simulated recording's nuisance row (distance, floor, gain, noise events) in one TSV."""
import pandas as pd

from usvflow.simulate.recording import write_recordings_table
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    table = write_recordings_table([pd.read_csv(p) for p in smk.input], smk.output[0])
    print(f"{len(table)} recordings")


main(snakemake)  # noqa: F821
