"""Snakemake adapter: write figures/summary.md from the registered stats files, with the run's provenance
(also written to results/provenance.json)."""
from pathlib import Path

from usvflow.report import provenance
from usvflow.report.summary import render_summary
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    record = {**smk.params.provenance, "training_devices": provenance.training_devices(smk.input.metrics)}
    provenance.write_record(smk.output.provenance, record)
    header = f"{smk.params.header}\n\n{provenance.render_markdown(record)}"
    Path(smk.output.summary).write_text(render_summary(list(smk.input.stats), header))


main(snakemake)  # noqa: F821
