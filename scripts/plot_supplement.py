"""Snakemake adapter: S1 Fig (sex cohort) or S2 Fig (strain cohort): per-animal accuracy leave-one-animal-out, on random test sets, and individual identity."""
import pandas as pd

from usvflow.figures.models import supplementary_figure
from usvflow.report.summary import write_stats
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    fig, values, rows = supplementary_figure(pd.read_parquet(smk.input.table), smk.input.loao, smk.input.random,
                                             smk.input.individual, smk.params.task, smk.params.figure,
                                             smk.params.dataset)
    fig.savefig(smk.output.figure)
    write_stats(smk.output.stats, smk.params.figure, smk.params.dataset, values, rows)


main(snakemake)  # noqa: F821
