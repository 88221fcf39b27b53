"""Snakemake adapter: draw Fig 2 from the features, the cached embeddings and fig2.json (nothing recomputed)."""
import json

import numpy as np
import pandas as pd

from usvflow.figures.features import plot_fig2
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    feats = pd.read_parquet(smk.input.features)
    table = pd.read_parquet(smk.input.dataset)
    feats[smk.params.group] = table[smk.params.group].to_numpy()
    with open(smk.input.stats) as fh:
        stats = json.load(fh)
    emb = {key: np.load(path) for key, path in zip(smk.params.embedding_keys, smk.input.embeddings)}
    plot_fig2(feats, smk.params.group, list(smk.params.levels), emb, stats, smk.params.data, smk.output[0])


main(snakemake)  # noqa: F821
