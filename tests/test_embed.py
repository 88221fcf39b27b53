"""Embeddings: shapes, determinism, and that well-separated groups stay apart."""
import numpy as np
import pandas as pd

from usvflow.features import embed as E


def _two_clusters(n=60, d=20, seed=0):
    rng = np.random.default_rng(seed)
    X = np.r_[rng.normal(0, 1, (n, d)), rng.normal(6, 1, (n, d))]
    return X, np.r_[np.zeros(n), np.ones(n)]


def test_pca_and_tsne_are_3d_deterministic_and_keep_clusters_apart():
    X, y = _two_clusters()
    for method in ("pca", "tsne"):
        Y = E.embed(X, method, pca_dims=9, perplexity=30, seed=3)
        assert Y.shape == (120, 3)
        assert np.allclose(Y, E.embed(X, method, pca_dims=9, perplexity=30, seed=3))
        centroid_gap = np.linalg.norm(Y[y == 0].mean(0) - Y[y == 1].mean(0))
        assert centroid_gap > 3 * max(Y[y == 0].std(0).max(), Y[y == 1].std(0).max()), method


def test_small_inputs_and_feature_matrix():
    assert E.tsne(np.ones((3, 4)), 2).shape == (3, 3)
    assert E.embed(np.random.default_rng(0).normal(size=(10, 5)), "tsne", 9, 30).shape == (10, 3)
    t = pd.DataFrame({"a": [1.0, np.nan, 3.0], "b": [2.0, 2.0, 2.0]})
    Z = E.feature_matrix(t, ["a", "b"])
    assert np.isfinite(Z).all() and np.allclose(Z[:, 1], 0)


def test_embeddings_are_byte_identical_and_blas_runs_on_one_thread(monkeypatch):
    """t-SNE turns last-bit differences into other maps, so the BLAS under PCA (and openTSNE's own PCA start)
    runs on one thread whatever the machine, and two runs give the same bytes."""
    from threadpoolctl import threadpool_info, threadpool_limits

    seen = []
    fit_transform = E.PCA.fit_transform

    def spy(self, X, y=None):
        seen.append(max((p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"), default=1))
        return fit_transform(self, X, y)

    monkeypatch.setattr(E.PCA, "fit_transform", spy)
    X = np.random.default_rng(1).random((200, 600)).astype(np.float32)  # > 500 columns: randomized PCA
    with threadpool_limits(limits=2, user_api="blas"):
        first = E.embed(X, "tsne", pca_dims=20, perplexity=10, seed=5)
    again = E.embed(X, "tsne", pca_dims=20, perplexity=10, seed=5)
    assert seen and set(seen) == {1}
    assert first.tobytes() == again.tobytes()
