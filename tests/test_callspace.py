"""Fig 7 analyses on constructed maps with known answers: kNN decoding, cluster finding, densities, subsets."""

from __future__ import annotations

import numpy as np
import pandas as pd

from usvflow.interpret.callspace import (
    analyse_callspace,
    cluster_examples,
    cluster_table,
    confident_mask,
    density_on_grid,
    dominant_cluster,
    find_clusters,
    knn_accuracy,
    knn_decode,
)
from usvflow.interpret.settings import CallSpaceSettings
from usvflow.report import paper
from usvflow.report.interpret import fig7_rows


def _line(n: int) -> np.ndarray:
    return np.c_[np.arange(n, dtype=float), np.zeros(n), np.zeros(n)]


def test_knn_alternating_line_is_always_wrong() -> None:
    """Points on a line with alternating labels: the nearest other points always carry the other label
    (k=1: one neighbour at distance 1; k=3: two of the three nearest), so leave-one-out accuracy is 0."""
    Y, y = _line(20), np.arange(20) % 2
    assert knn_accuracy(Y, y, k=1) == 0.0
    assert knn_accuracy(Y, y, k=3) == 0.0


def test_knn_separated_blobs_and_exact_fraction() -> None:
    """Two far-apart blobs, one per label: perfect. Then pairs of points, each pair 10 apart from the next:
    in pairs with equal labels the neighbour agrees, in mixed pairs it does not: accuracy = share of equal pairs."""
    rng = np.random.default_rng(0)
    Y = np.r_[rng.normal(size=(30, 3)), rng.normal(size=(30, 3)) + 50]
    y = np.r_[np.zeros(30), np.ones(30)]
    assert knn_accuracy(Y, y) == 1.0
    pairs = 10
    Yp = np.repeat(np.arange(pairs) * 10.0, 2)[:, None] + np.tile([0.0, 1.0], pairs)[:, None]
    Yp = np.c_[Yp, np.zeros((2 * pairs, 2))]
    same = np.array([1, 1, 0, 1, 0, 1, 1, 1, 0, 0], bool)  # 6 equal-label pairs of 10
    yp = np.ravel([[0, 0] if s else [0, 1] for s in same])
    assert knn_accuracy(Yp, yp) == 0.6


def test_knn_leave_one_out_ignores_self_and_respects_groups() -> None:
    """Exact duplicates: a point's copy is a legitimate neighbour, the point itself is not. With groups,
    neighbours come from other groups only."""
    Y = np.array([[0.0, 0, 0], [0, 0, 0], [5, 0, 0], [5, 0, 0]])
    y = np.array([0, 1, 1, 0])
    assert knn_decode(Y, y).tolist() == [1, 0, 0, 1]
    # With groups: every point's nearest neighbour in its own group would give the other label; in the other
    # group the nearest has a known label (0 and 1 look at 2 → 1; 2 and 3 look at 1 → 1).
    Yg = np.array([[0.0, 0, 0], [0.5, 0, 0], [5, 0, 0], [6, 0, 0]])
    assert knn_decode(Yg, y).tolist() == [1, 0, 0, 1]
    assert knn_decode(Yg, y, 1, ["a", "a", "b", "b"]).tolist() == [1, 1, 1, 1]
    assert (knn_decode(Y[:1], y[:1]) == -1).all()


def test_knn_even_k_ties_go_to_the_nearest() -> None:
    Y = _line(3)
    y = np.array([1, 0, 1])
    # point 1: neighbours 0 and 2 (both label 1) → 1; point 0: nearest 1 (label 0), then 2 (label 1) → tie → 0
    assert knn_decode(Y, y, k=2).tolist() == [0, 1, 0]


def _mixed_map_with_male_blob(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_mix = 600
    Y = np.r_[rng.uniform(-20, 20, size=(n_mix, 3)), rng.normal(size=(60, 3)) + [60, 0, 0]]
    male = np.r_[rng.random(n_mix) < 0.5, np.ones(60, bool)]
    animal = np.where(male, np.array(["m1", "m2", "m3"])[rng.integers(0, 3, len(male))],
                      np.array(["f1", "f2", "f3"])[rng.integers(0, 3, len(male))])
    return Y, male, animal


def test_cluster_finding_recovers_the_male_blob() -> None:
    Y, male, animal = _mixed_map_with_male_blob()
    labels = find_clusters(Y, 10, seed=0)
    table = cluster_table(labels, male, animal, min_size=20)
    best = dominant_cluster(table, float(male.mean()))
    members = labels == best
    blob = np.arange(len(Y)) >= 600
    assert members[blob].mean() > 0.95 and blob[members].mean() > 0.9
    row = table.set_index("cluster").loc[best]
    assert row["dominant_sex"] == "M" and row["p_bonferroni"] < 1e-6 and row["male_animals"] == 3
    near, far = cluster_examples(Y, labels, best, 3, 2, seed=0)
    assert members[near].all() and not members[far].any()


def test_small_clusters_are_not_tested() -> None:
    labels = np.r_[np.zeros(5, int), np.ones(50, int)]
    male = np.r_[np.ones(5, bool), np.arange(50) % 2 == 0]
    table = cluster_table(labels, male, ["a"] * 55, min_size=20)
    assert np.isnan(table.loc[table.cluster == 0, "p"]).all()
    assert dominant_cluster(table, male.mean()) == 1
    assert dominant_cluster(cluster_table(labels, male, ["a"] * 55, min_size=100), male.mean()) is None


def test_density_difference_sign_and_normalisation() -> None:
    Y, male, _ = _mixed_map_with_male_blob()
    grid = density_on_grid(Y, male, 20)
    cell = np.prod([a[1] - a[0] for a in grid["axes"]])
    # each density integrates to ~1 (a little mass lies in the kernels' tails beyond the grid's margin)
    assert 0.8 < grid["male"].sum() * cell <= 1.0 and 0.8 < grid["female"].sum() * cell <= 1.0
    ix = np.argmin(np.abs(grid["axes"][0] - 60)), np.argmin(np.abs(grid["axes"][1])), np.argmin(np.abs(grid["axes"][2]))
    assert grid["difference"][ix] > 0


def test_confident_mask() -> None:
    s = np.array([0.05, 0.1, 0.5, 0.9, 0.95, np.nan])
    assert confident_mask(s).tolist() == [True, False, False, False, True, False]


def test_analyse_callspace_end_to_end() -> None:
    Y, male, animal = _mixed_map_with_male_blob(1)
    n = len(Y)
    table = pd.DataFrame({"call_uid": [f"c{i}" for i in range(n)], "animal": animal,
                          "sex": np.where(male, "M", "F"), "onset_s": 0.0, "offset_s": 0.05,
                          "f_min_hz": 50e3, "f_max_hz": 60e3, "f_mean_hz": 55e3})
    rng = np.random.default_rng(0)
    # the CNN is confident exactly on the blob
    score = np.where(np.arange(n) >= 600, 0.97, rng.uniform(0.2, 0.8, n))
    preds = pd.DataFrame({"call_uid": table["call_uid"], "score": score})
    calls, grid, clusters, values = analyse_callspace(table, Y, preds, None,
                                                      CallSpaceSettings(n_clusters=10, grid_points=12, n_shuffles=3))
    assert values["n_confident"] == 60 and values["knn_accuracy_confident"] == 1.0
    assert 0.5 < values["knn_accuracy_all"] < 0.7
    assert values["dominant_cluster_sex"] == "M"
    assert {"x", "y", "z", "cluster", "knn_pred", "mean frequency (kHz)", "duration (ms)"} <= set(calls.columns)
    assert np.allclose(calls["duration (ms)"], 50.0)
    all_calls = next(r for r in fig7_rows(values) if r["quantity"].endswith("all calls"))
    assert all_calls["paper"] == f"{100 * paper.FIG7_KNN_ALL:.1f} %"  # the paper's number from one place
    assert all_calls["ours"].startswith(f"{100 * values['knn_accuracy_all']:.1f} %") and f"n = {n}" in all_calls["ours"]


def test_confident_thresholds_travel_from_the_settings_to_the_summary_and_fig7_d(tmp_path) -> None:
    """A run with other confidence thresholds says so in summary.md's row and in Fig 7D's title."""
    from test_figures import _fig7_inputs

    from usvflow.figures.callspace import plot_fig7

    Y, male, animal = _mixed_map_with_male_blob(1)
    n = len(Y)
    table = pd.DataFrame({"call_uid": [f"c{i}" for i in range(n)], "animal": animal,
                          "sex": np.where(male, "M", "F"), "onset_s": 0.0, "offset_s": 0.05,
                          "f_min_hz": 50e3, "f_max_hz": 60e3, "f_mean_hz": 55e3})
    score = np.where(np.arange(n) >= 600, 0.85, 0.5)  # confident at 0.8, not at the default 0.9
    preds = pd.DataFrame({"call_uid": table["call_uid"], "score": score})
    settings = CallSpaceSettings(n_clusters=10, grid_points=12, n_shuffles=3, confident_low=0.2, confident_high=0.8)
    _, _, _, values = analyse_callspace(table, Y, preds, None, settings)
    assert values["n_confident"] == 60 and (values["confident_low"], values["confident_high"]) == (0.2, 0.8)
    row = next(r for r in fig7_rows(values) if "confident calls only" in r["quantity"])
    assert "CNN p < 0.2 or > 0.8" in row["quantity"]
    calls, grid, images, fig_values, noise = _fig7_inputs()
    fig = plot_fig7(calls, grid, images, {**fig_values, "confident_low": 0.2, "confident_high": 0.8}, "cohort", noise)
    titles = [ax.get_title() for ax in fig.axes]
    assert any(t.startswith("D  confident only\n(p < 0.2 or > 0.8") for t in titles), titles
