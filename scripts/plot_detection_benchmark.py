"""Snakemake adapter: draw figures/detection_benchmark.pdf from the benchmark table."""
import pandas as pd

from usvflow.figures.detection import plot_benchmark
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    plot_benchmark(pd.read_csv(smk.input.table), smk.output.figure)


main(snakemake)  # noqa: F821
