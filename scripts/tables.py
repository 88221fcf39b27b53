"""Snakemake adapter: figures/table1.csv … table7.csv (architectures and training protocols actually used)."""
import json

from usvflow.report.tables import network_tables
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    with open(smk.input.settings) as f:
        tables = network_tables(json.load(f))
    for number, path in enumerate(smk.output, start=1):
        tables[number].to_csv(path, index=False)
        print(f"table {number}: {len(tables[number])} rows → {path}")


main(snakemake)  # noqa: F821
