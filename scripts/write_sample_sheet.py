"""Snakemake adapter: write the simulated cohort's sample sheet (the format labs use for their own data)."""
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    smk.params.samples.to_csv(smk.output[0], sep="\t", index=False)


main(snakemake)  # noqa: F821
