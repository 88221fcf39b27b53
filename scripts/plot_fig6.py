"""Snakemake adapter: draw Fig 6 from the pooled network analysis."""
import json

import matplotlib.pyplot as plt
import pandas as pd

from usvflow.figures.network import plot_fig6
from usvflow.interpret.layers import load_example
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    summary = pd.read_csv(smk.input.layers)
    examples = {"F": load_example(smk.input.example_f), "M": load_example(smk.input.example_m)}
    examples = {s: e for s, e in examples.items() if e["sex"] == s}
    with open(smk.input.stats) as fh:
        stats = json.load(fh)
    fig = plot_fig6(summary, examples, stats["values"], stats["dataset"])
    fig.savefig(smk.output.figure)
    plt.close(fig)


main(snakemake)  # noqa: F821
