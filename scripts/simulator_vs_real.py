"""Snakemake adapter: measure simulated and real calls alike and draw figures/simulator_vs_real.pdf."""
import pandas as pd

from usvflow.figures.simulator import plot_simulator_vs_real
from usvflow.simulate.realism import compare, measure_real_clips, measure_simulated
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    truth = [pd.read_csv(p) for p in smk.input.truth]
    sim = measure_simulated(list(smk.input.wavs), truth)
    real = measure_real_clips(smk.params.realdata_dir)
    table = compare(sim, real)
    table.to_csv(smk.output.table, index=False)
    pd.concat([sim.assign(data="simulated"), real.assign(data="real")]).to_csv(smk.output.measurements, index=False)
    plot_simulator_vs_real(sim, real, table, list(smk.input.wavs), truth, smk.params.realdata_dir, smk.output.figure,
                           note=smk.params.data)
    print(table.to_string(index=False))


main(snakemake)  # noqa: F821
