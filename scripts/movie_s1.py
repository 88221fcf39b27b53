"""Snakemake adapter: S1 Video, the revolving 3-D t-SNE map of the sex cohort's calls, as a GIF."""
import pandas as pd

from usvflow.figures.network import movie_s1
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    calls = pd.read_parquet(smk.input.calls, columns=["x", "y", "z", "sex"])
    movie_s1(calls, smk.output.movie, frames=smk.params.frames, subtitle=smk.params.subtitle)


main(snakemake)  # noqa: F821
