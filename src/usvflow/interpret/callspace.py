"""The space of calls (Ivanenko et al. 2020, Fig 7): the 3-D t-SNE map of the spectrograms and the emitter's sex.

* **Density difference** (Fig 7C): a Gaussian kernel density estimate (scipy, Scott's bandwidth) of the male
  calls and one of the female calls, each normalised to integrate to 1, evaluated on a regular 3-D grid over
  the map and at every call; male − female. Positive regions are male-dominated call types, negative
  female-dominated, whatever the numbers of calls per sex.
* **Sex-dominated cluster** (Fig 7A/B): the map is cut into ``n_clusters`` groups by k-means (seeded); for
  every group with at least ``min_cluster_size`` calls, a two-sided binomial test of its number of male calls
  against the cohort's male share, Bonferroni-corrected over the groups tested. The most sex-dominated
  cluster is the one with the smallest p-value (ties: the larger deviation of its male share). Its
  examples are the calls nearest its centre; the contrasting examples are drawn from the rest of the map.
* **Confident subset** (Fig 7D): calls whose held-out CNN probability of "male" (leave-one-animal-out, so the
  network never saw the call's animal) is below ``low`` or above ``high``.
* **Nearest-neighbour decoding** (Cover & Hart 1967): each call takes the majority sex of its ``k`` nearest
  other calls on the map (Euclidean; leave-one-out: never itself). Also, as a stricter variant, with the
  neighbours restricted to other animals, and a label-shuffled control.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import cKDTree

from .settings import CallSpaceSettings


def grid_axes(points: np.ndarray, n: int, margin: float = 0.05) -> list[np.ndarray]:
    """``n`` equally spaced values per dimension spanning the points plus a margin."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    pad = (hi - lo) * margin + 1e-9
    return [np.linspace(a - p, b + p, n) for a, b, p in zip(lo, hi, pad)]


def _kde(points: np.ndarray) -> stats.gaussian_kde | None:
    if len(points) <= points.shape[1]:
        return None  # too few points for a covariance estimate
    try:
        return stats.gaussian_kde(points.T)
    except np.linalg.LinAlgError:  # all points in a lower-dimensional subspace
        return None


def density_at(points: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Normalised Gaussian KDE of ``points`` (n, d) evaluated at ``where`` (m, d); zeros if not estimable."""
    kde = _kde(points)
    return np.zeros(len(where)) if kde is None else kde(where.T)


def density_on_grid(Y: np.ndarray, is_male: np.ndarray, n: int = 40) -> dict[str, Any]:
    """Male density, female density and their difference on an n^d grid over the map.

    Returns ``axes`` (list of d arrays) and ``male``, ``female``, ``difference`` (arrays of shape n^d,
    indexed like ``np.meshgrid(*axes, indexing='ij')``); each density integrates to ~1 over the grid.
    """
    axes = grid_axes(Y, n)
    mesh = np.stack([g.ravel() for g in np.meshgrid(*axes, indexing="ij")], axis=1)
    shape = (n,) * Y.shape[1]
    male = density_at(Y[is_male], mesh).reshape(shape)
    female = density_at(Y[~is_male], mesh).reshape(shape)
    return {"axes": axes, "male": male, "female": female, "difference": male - female}


# --------------------------------------------------------------------------------------------- clusters


def find_clusters(Y: np.ndarray, n_clusters: int, seed: int = 0) -> np.ndarray:
    """k-means labels of the map's points (seeded, 4 restarts); fewer points than clusters: one each."""
    from sklearn.cluster import KMeans

    k = max(1, min(n_clusters, len(Y)))
    return KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(Y)


def cluster_table(labels: np.ndarray, is_male: np.ndarray, animal: Sequence[str], min_size: int) -> pd.DataFrame:
    """One row per cluster: size, male calls, male share, animals contributing (per sex), the binomial
    p-value against the cohort's male share and its Bonferroni correction over the clusters tested (those
    with at least ``min_size`` calls; the others get NaN)."""
    p0 = float(is_male.mean())
    animal = np.asarray(animal, dtype=str)
    rows = []
    for c in np.unique(labels):
        m = labels == c
        k, n = int(is_male[m].sum()), int(m.sum())
        p = stats.binomtest(k, n, p0).pvalue if n >= min_size and 0 < p0 < 1 else np.nan
        rows.append({"cluster": int(c), "n": n, "n_male": k, "male_share": k / n, "p": p,
                     "male_animals": len(set(animal[m & is_male])), "female_animals": len(set(animal[m & ~is_male]))})
    table = pd.DataFrame(rows)
    tested = table["p"].notna()
    table["p_bonferroni"] = np.minimum(table["p"] * tested.sum(), 1.0)
    table["dominant_sex"] = np.where(table["male_share"] >= p0, "M", "F")
    return table


def dominant_cluster(table: pd.DataFrame, p0: float) -> int | None:
    """The most sex-dominated cluster: smallest p-value, ties broken by the larger |male share − p0|;
    None when no cluster was large enough to be tested."""
    t = table[table["p"].notna()]
    if t.empty:
        return None
    order = t.assign(dev=-(t["male_share"] - p0).abs()).sort_values(["p", "dev"], kind="stable")
    return int(order["cluster"].iloc[0])


def cluster_examples(Y: np.ndarray, labels: np.ndarray, cluster: int, n_in: int, n_out: int,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the ``n_in`` calls nearest the cluster's centre, and ``n_out`` random calls outside it."""
    inside = np.flatnonzero(labels == cluster)
    centre = Y[inside].mean(axis=0)
    near = inside[np.argsort(np.linalg.norm(Y[inside] - centre, axis=1), kind="stable")[:n_in]]
    outside = np.flatnonzero(labels != cluster)
    rng = np.random.default_rng(seed)
    far = np.sort(rng.choice(outside, min(n_out, outside.size), replace=False)) if outside.size else outside
    return near, far


# --------------------------------------------------------------------------------------------- subsets


def confident_mask(score: np.ndarray, low: float = 0.1, high: float = 0.9) -> np.ndarray:
    """Calls the held-out CNN was sure about: P(male) < low or > high (NaN scores: not confident)."""
    score = np.asarray(score, float)
    with np.errstate(invalid="ignore"):
        return (score < low) | (score > high)


# --------------------------------------------------------------------------------------------- kNN


def knn_decode(Y: np.ndarray, labels: np.ndarray, k: int = 1, groups: Sequence[Any] | None = None) -> np.ndarray:
    """Leave-one-out k-nearest-neighbour prediction of a binary label (0/1) for every point.

    A point never counts as its own neighbour (an exact duplicate elsewhere does). ``groups``: when given,
    only points of *other* groups (e.g. other animals) may be neighbours. Votes are unweighted; a tie (even
    ``k``) goes to the label of the nearest neighbour. Points without any admissible neighbour get -1.
    """
    labels = np.asarray(labels).astype(int)
    n = len(Y)
    pred = np.full(n, -1, int)
    if n < 2:
        return pred
    tree = cKDTree(Y)
    grp = None if groups is None else np.asarray(groups, dtype=str)
    q = k + 1
    todo = np.arange(n)
    while todo.size:
        kk = min(q, n)
        _, idx = tree.query(Y[todo], k=kk)
        idx = idx.reshape(len(todo), kk)
        ok = idx != todo[:, None]
        if grp is not None:
            ok &= grp[idx] != grp[todo][:, None]
        done = (ok.sum(axis=1) >= k) | (kk == n)  # with every point queried, take what there is
        for r in np.flatnonzero(done):
            nb = idx[r][ok[r]][:k]
            if nb.size == 0:
                continue
            votes = labels[nb]
            ones = votes.sum()
            pred[todo[r]] = int(votes[0]) if 2 * ones == votes.size else int(2 * ones > votes.size)
        todo = todo[~done]
        q = min(2 * q + k, n)
    return pred


def knn_accuracy(Y: np.ndarray, labels: np.ndarray, k: int = 1, groups: Sequence[Any] | None = None) -> float:
    """Fraction of points whose leave-one-out kNN prediction equals their label (undecidable points excluded)."""
    pred = knn_decode(Y, labels, k, groups)
    ok = pred >= 0
    return float((pred[ok] == np.asarray(labels).astype(int)[ok]).mean()) if ok.any() else float("nan")


def shuffled_knn_accuracy(Y: np.ndarray, labels: np.ndarray, k: int, n: int, seed: int) -> np.ndarray:
    """kNN accuracy with the labels permuted over the map ``n`` times: the chance distribution."""
    rng = np.random.default_rng(seed)
    return np.array([knn_accuracy(Y, rng.permutation(labels), k) for _ in range(n)])


# --------------------------------------------------------------------------------------------- whole analysis

#: Fig 7E-G overlays: (label, feature column, fallback computed from the call table).
OVERLAYS = [("mean frequency (kHz)", "mean_frequency_hz", "f_mean_hz", 1e-3),
            ("frequency range (kHz)", "spectral_width_hz", None, 1e-3),
            ("duration (ms)", "duration_s", None, 1e3)]


def overlay_values(table: pd.DataFrame, features: pd.DataFrame | None) -> dict[str, np.ndarray]:
    """Mean frequency, frequency range and duration per call, from the feature table when it has them,
    else from the call table's detection bounds."""
    out = {}
    for label, col, fallback, scale in OVERLAYS:
        if features is not None and col in features:
            v = features[col].to_numpy(float)
        elif col == "spectral_width_hz":
            v = (table["f_max_hz"] - table["f_min_hz"]).to_numpy(float)
        elif col == "duration_s":
            v = (table["offset_s"] - table["onset_s"]).to_numpy(float)
        else:
            v = table[fallback].to_numpy(float)
        out[label] = v * scale
    return out


def analyse_callspace(table: pd.DataFrame, Y: np.ndarray, predictions: pd.DataFrame,
                      features: pd.DataFrame | None = None, settings: CallSpaceSettings = CallSpaceSettings(),
                      ) -> tuple[pd.DataFrame, dict[str, Any], pd.DataFrame, dict[str, Any]]:
    """Every Fig 7 computation on one cohort's map.

    ``table``: the cohort's calls (``call_uid``, ``animal``, ``sex``), row-aligned with the map ``Y`` (n, 3)
    and ``features``; ``predictions``: the held-out CNN's ``call_uid`` and ``score`` = P(male) (one row per
    call, pooled over the leave-one-animal-out folds). Calls without F/M sex are dropped. Returns the per-call
    table (coordinates, sex, score, confident, cluster, kNN predictions, overlays), the density grid, the
    cluster table and the summary values.
    """
    sex = table["sex"].astype(str).str.upper()
    keep = sex.isin(["F", "M"]).to_numpy()
    calls = pd.DataFrame({"call_uid": table["call_uid"].astype(str).to_numpy(), "animal": table["animal"].astype(str),
                          "sex": sex.to_numpy(), "row": np.arange(len(table))})
    for d, name in enumerate("xyz"[:Y.shape[1]]):
        calls[name] = Y[:, d]
    for label, v in overlay_values(table, features).items():
        calls[label] = v
    calls = calls[keep].reset_index(drop=True)
    scores = predictions.assign(call_uid=predictions["call_uid"].astype(str)).drop_duplicates("call_uid")
    calls = calls.merge(scores[["call_uid", "score"]], on="call_uid", how="left")
    P = calls[list("xyz"[:Y.shape[1]])].to_numpy(float)
    male = calls["sex"].eq("M").to_numpy()
    calls["confident"] = confident_mask(calls["score"].to_numpy(), settings.confident_low, settings.confident_high)

    grid = density_on_grid(P, male, settings.grid_points)
    calls["density_male"] = density_at(P[male], P)
    calls["density_female"] = density_at(P[~male], P)
    calls["density_difference"] = calls["density_male"] - calls["density_female"]

    labels = find_clusters(P, settings.n_clusters, settings.seed)
    calls["cluster"] = labels
    clusters = cluster_table(labels, male, calls["animal"], settings.min_cluster_size)
    best = dominant_cluster(clusters, float(male.mean()))

    calls["knn_pred"] = knn_decode(P, male, settings.knn_k)
    calls["knn_pred_other_animals"] = knn_decode(P, male, settings.knn_k, calls["animal"].to_numpy())
    conf = calls["confident"].to_numpy()
    calls["knn_pred_confident"] = -1
    enough_conf = conf.sum() >= max(2, settings.min_confident)
    if enough_conf:
        calls.loc[conf, "knn_pred_confident"] = knn_decode(P[conf], male[conf], settings.knn_k)

    def acc(col: str, mask: np.ndarray) -> float:
        pred = calls.loc[mask, col].to_numpy()
        ok = pred >= 0
        return float((pred[ok] == male[mask][ok]).mean()) if ok.any() else float("nan")

    everyone = np.ones(len(calls), bool)
    shuffled = shuffled_knn_accuracy(P, male, settings.knn_k, settings.n_shuffles, settings.seed)
    shuffled_conf = (shuffled_knn_accuracy(P[conf], male[conf], settings.knn_k, settings.n_shuffles, settings.seed)
                     if enough_conf else np.array([]))

    def mean(v: np.ndarray) -> float:
        v = v[np.isfinite(v)]
        return float(v.mean()) if v.size else float("nan")


    def binom_p(accuracy: float, n: int, chance: float) -> float:
        if not (n and np.isfinite(accuracy) and 0 < chance < 1):
            return float("nan")
        return float(stats.binomtest(int(round(accuracy * n)), n, chance, alternative="greater").pvalue)

    a_all, a_conf = acc("knn_pred", everyone), acc("knn_pred_confident", conf)
    cnn_pred = calls["score"].to_numpy(float) > 0.5
    values: dict[str, Any] = {
        "n_calls": len(calls), "n_male": int(male.sum()), "n_female": int((~male).sum()),
        "knn_k": settings.knn_k,
        "knn_accuracy_all": a_all,
        "knn_accuracy_confident": a_conf,
        "knn_accuracy_other_animals": acc("knn_pred_other_animals", everyone),
        "knn_shuffled_mean": mean(shuffled), "knn_shuffled_sd": float(np.std(shuffled)) if shuffled.size else np.nan,
        "knn_shuffled_confident_mean": mean(shuffled_conf),
        "knn_all_binomial_p": binom_p(a_all, len(calls), mean(shuffled)),
        "knn_confident_binomial_p": binom_p(a_conf, int(conf.sum()), mean(shuffled_conf)),
        "n_with_score": int(calls["score"].notna().sum()),
        "confident_low": settings.confident_low, "confident_high": settings.confident_high,
        "n_confident": int(conf.sum()), "confident_share": float(conf.mean()) if len(calls) else float("nan"),
        "cnn_accuracy_confident": float((cnn_pred[conf] == male[conf]).mean()) if conf.any() else float("nan"),
        "male_share": float(male.mean()),
        "density_difference_male_dominated_volume": float((grid["difference"] > 0).mean()),
        "dominant_cluster": best,
    }
    if best is not None:
        row = clusters.set_index("cluster").loc[best]
        near, far = cluster_examples(P, labels, best, settings.n_examples, 2, settings.seed)
        values.update({"dominant_cluster_sex": row["dominant_sex"], "dominant_cluster_size": int(row["n"]),
                       "dominant_cluster_male_share": float(row["male_share"]),
                       "dominant_cluster_p_bonferroni": float(row["p_bonferroni"]),
                       "dominant_cluster_male_animals": int(row["male_animals"]),
                       "dominant_cluster_female_animals": int(row["female_animals"]),
                       "n_male_animals": int(calls.loc[male, "animal"].nunique()),
                       "n_female_animals": int(calls.loc[~male, "animal"].nunique()),
                       "significant_clusters": int((clusters["p_bonferroni"] < 0.05).sum()),
                       "example_rows_inside": calls["row"].to_numpy()[near].tolist(),
                       "example_rows_outside": calls["row"].to_numpy()[far].tolist()})
    return calls, grid, clusters, values
