"""Snakemake adapter: figures/robustness.pdf from the sweep's tables (plotting only)."""
import pandas as pd

from usvflow.figures.robustness import plot_robustness
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    long, summary = pd.read_csv(smk.input.seeds), pd.read_csv(smk.input.table)
    plot_robustness(long, summary, smk.params.title).savefig(smk.output.figure)


main(snakemake)  # noqa: F821
