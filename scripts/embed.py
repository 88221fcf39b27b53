"""Snakemake adapter: one cached 3-D embedding (PCA or t-SNE) of a cohort's features or spectrograms."""
import time

import numpy as np
import pandas as pd

from usvflow.features.columns import FEATURES_9
from usvflow.features.dataset import load_cohort
from usvflow.features.embed import embed, feature_matrix, spectrogram_matrix
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    kind, method, cfg = smk.wildcards.kind, smk.wildcards.method, smk.params.embed
    table, images = load_cohort(smk.input.dataset, smk.input.images)
    if kind == "features":
        X = feature_matrix(pd.read_parquet(smk.input.features[0]), FEATURES_9)
    else:
        X = spectrogram_matrix(images)
    t0 = time.time()
    if method == "pca":  # PCA straight to 3-D: no pre-reduction, no perplexity
        Y = embed(X, method, 3, seed=cfg["seed"])
    else:
        # one job whatever the cores: byte-identical coordinates (usvflow.features.embed)
        Y = embed(X, method, cfg["pca_dims"], cfg["perplexity"], cfg["seed"], n_jobs=1)
    np.save(smk.output[0], Y.astype(np.float32))
    print(f"{kind} {method}: {len(Y)} points in {time.time() - t0:.1f} s")


main(snakemake)  # noqa: F821
