"""Snakemake adapter: S1 Video, Fig 7's 3-D call space with every panel revolving, as a GIF."""
import pandas as pd

from usvflow.figures.movie import movie_s1
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    calls = pd.read_parquet(smk.input.calls)
    movie_s1(calls, smk.output.movie, frames=smk.params.frames, caption=smk.params.data)


main(snakemake)  # noqa: F821
