"""Snakemake adapter: figures/table1.csv … table7.csv (architectures and training protocols actually used)."""
from usvflow.report.tables import network_tables
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    tables = network_tables(dict(smk.params.settings))
    for number, path in enumerate(smk.output, start=1):
        tables[number].to_csv(path, index=False)
        print(f"table {number}: {len(tables[number])} rows → {path}")


main(snakemake)  # noqa: F821
