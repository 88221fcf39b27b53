"""Snakemake adapter: simulated pair recordings (one female, one male; usvflow.simulate.pairs) for the mixed-pair
evaluation of the sex bundle."""
from pathlib import Path

from usvflow.simulate.pairs import simulate_pairs
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    p = smk.params.pairs
    sim = {**smk.params.simulation, "seed": int(p["pair_seed"])}
    table = simulate_pairs(sim, int(p["pairs"]), float(p["pair_minutes"]), Path(smk.output.table).parent,
                           jobs=max(1, int(smk.threads)))
    print(table.to_string())


main(snakemake)  # noqa: F821
