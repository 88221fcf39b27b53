"""PCA and t-SNE (openTSNE) in 3-D of the features and of the spectrograms (paper Fig 2J-M).

The paper (Methods, "Dimensionality reduction") reduced first with PCA to 9 dimensions for the features
and 100 for the spectrograms, then ran t-SNE with perplexity 30. Features are z-scored first (missing
values take the column median); spectrograms are the 100 x 100 uint8 images scaled to [0, 1].

Reproducible to the byte on one machine: every step is seeded, the BLAS under PCA runs on one thread
(threadpoolctl) and openTSNE on one job by default. Both matter: t-SNE amplifies last-bit differences, and a
multi-threaded matrix product or Barnes-Hut sum can round differently from run to run and with the number of
cores (two runs of one config once gave 1-NN decoding 62.0 % and 61.4 %). Another CPU (other BLAS kernels) may
still give other coordinates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from threadpoolctl import threadpool_limits

KINDS = ("features", "spectrograms")
METHODS = ("pca", "tsne")


def feature_matrix(table: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """z-scored feature columns (NaN → column median; constant columns → 0)."""
    X = table[columns].to_numpy(float)
    if X.size == 0:
        return X.reshape(len(table), len(columns))
    med = np.nanmedian(np.where(np.isfinite(X), X, np.nan), axis=0)
    X = np.where(np.isfinite(X), X, np.nan_to_num(med)[None, :])
    sd = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def spectrogram_matrix(images: np.ndarray) -> np.ndarray:
    """(n, 100, 100) uint8 images as (n, 10000) floats in [0, 1]."""
    return images.reshape(len(images), -1).astype(np.float32) / 255.0


def pca(X: np.ndarray, dims: int = 3, seed: int = 0) -> np.ndarray:
    """The first ``dims`` principal components (fewer rows/columns than ``dims``: zero-padded)."""
    n = X.shape[0]
    out = np.zeros((n, dims))
    k = min(dims, n, X.shape[1])
    if k >= 1 and n >= 2:
        with threadpool_limits(limits=1, user_api="blas"):
            solver = "full" if X.shape[1] <= 500 else "randomized"
            out[:, :k] = PCA(n_components=k, random_state=seed, svd_solver=solver).fit_transform(X)
    return out


def tsne(X: np.ndarray, pca_dims: int, perplexity: float = 30.0, dims: int = 3, seed: int = 0,
         n_jobs: int = 1) -> np.ndarray:
    """openTSNE embedding in ``dims`` dimensions after PCA to ``pca_dims``.

    Barnes-Hut gradients (openTSNE's FFT method is for 1-2 dimensions only). With fewer than
    ``3 x perplexity + 1`` points the perplexity is lowered to what the data allow; fewer than 4 points give
    zeros. ``n_jobs`` > 1 is faster but its Barnes-Hut sums may round differently from run to run.
    """
    from openTSNE import TSNE  # imported here: slow to import, and only this function needs it

    n = X.shape[0]
    if n < 4:
        return np.zeros((n, dims))
    Z = pca(X, min(pca_dims, X.shape[1], n), seed)
    perp = float(min(perplexity, (n - 1) / 3.0))
    with threadpool_limits(limits=1, user_api="blas"):  # openTSNE's own PCA initialisation too
        emb = TSNE(n_components=dims, perplexity=perp, random_state=seed, negative_gradient_method="bh",
                   initialization="pca", n_jobs=n_jobs, verbose=False).fit(Z)
    return np.asarray(emb, float)


def embed(X: np.ndarray, method: str, pca_dims: int, perplexity: float = 30.0, seed: int = 0,
          n_jobs: int = 1) -> np.ndarray:
    """(n, 3) coordinates by ``method`` ('pca' or 'tsne')."""
    if method == "pca":
        return pca(X, 3, seed)
    if method == "tsne":
        return tsne(X, pca_dims, perplexity, 3, seed, n_jobs)
    raise ValueError(f"unknown embedding method {method!r}; choose one of {', '.join(METHODS)}")
