"""Snakemake adapter: results/train/settings.json, the network settings of this run (what Tables 1-7 show).

A file in results/ rather than params alone: figures/table*.csv ship with the repository, and Snakemake
reruns an output on changed params only when it has made that output before. The tables depend on this
file, so a fresh checkout with an edited config redraws them.
"""
from usvflow.classify.folds import write_json
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    write_json(smk.output[0], smk.params.settings)


main(snakemake)  # noqa: F821
