"""Snakemake adapter: the seed sweep's tables, figures/robustness.csv (over seeds) and robustness_seeds.csv."""
from usvflow.report.robustness import seed_table, summarise
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    long = seed_table(dict(zip(smk.params.seeds, smk.input.headlines)))
    summary = summarise(long)
    long.to_csv(smk.output.seeds, index=False, float_format="%.4f")
    summary.to_csv(smk.output.table, index=False, float_format="%.4f")
    print(summary.to_string())


main(snakemake)  # noqa: F821
