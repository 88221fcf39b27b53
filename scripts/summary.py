"""Snakemake adapter: write figures/summary.md from the registered stats files."""
from pathlib import Path

from usvflow.report.summary import render_summary
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    Path(smk.output[0]).write_text(render_summary(list(smk.input), smk.params.header))


main(snakemake)  # noqa: F821
