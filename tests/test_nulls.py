"""Animal-level permutation nulls: every assignment of the labels to the animals, the fixed regularisation the
real folds chose most often, and a null that exposes an animal-level effect which call-level shuffles cannot."""
import math

import numpy as np
import pytest

from usvflow.classify import nulls
from usvflow.classify.classical import fit_predict
from usvflow.classify.classical_tasks import DEFAULT_PARAMS, MODELS


def test_assignments_are_all_of_them_for_4_plus_4_and_random_for_larger_cohorts():
    labels = {f"F{i}": 0 for i in range(4)} | {f"M{i}": 1 for i in range(4)}
    perms, exhaustive = nulls.assignments(labels, 1000, 0)
    assert exhaustive and len(perms) == 70 == math.comb(8, 4)
    assert perms[0] == labels
    assert len({tuple(sorted(p.items())) for p in perms}) == 70
    assert all(sum(p.values()) == 4 for p in perms)
    big = {f"F{i}": 0 for i in range(9)} | {f"M{i}": 1 for i in range(8)}
    perms, exhaustive = nulls.assignments(big, 1000, 0)
    assert not exhaustive and len(perms) == 1000 and perms[0] == big
    assert all(sum(p.values()) == 8 for p in perms)


def test_equal_groups_cannot_reach_below_two_assignments():
    four = {f"A{i}": int(i < 4) for i in range(8)}
    assert nulls.smallest_p(four, 70, True) == pytest.approx(2 / 70)
    assert nulls.smallest_p({f"A{i}": int(i < 3) for i in range(7)}, 35, True) == pytest.approx(1 / 35)
    assert nulls.smallest_p(four, 1000, False) == pytest.approx(1 / 1000)


def test_most_chosen_takes_the_mode_and_breaks_ties_towards_stronger_regularisation():
    assert nulls.most_chosen("ridge", [10.0, 1e3, 1e3, 10.0, 1e4], DEFAULT_PARAMS) == 1e3
    assert nulls.most_chosen("ridge", [10.0, 1e3], DEFAULT_PARAMS) == 1e3  # tie: the larger alpha
    assert nulls.most_chosen("svm_linear", [1e-2, 1e-3], DEFAULT_PARAMS) == 1e-3  # tie: the smaller C
    grid = nulls.grid_of("ridge", DEFAULT_PARAMS)
    assert nulls.most_chosen("ridge", [], DEFAULT_PARAMS) == grid[len(grid) // 2]


@pytest.mark.parametrize("estimator", ["ridge", "svm_quadratic"])
def test_dual_form_scores_equal_the_classical_models(estimator):
    rng = np.random.default_rng(3)
    X = rng.random((90, 400)).astype(np.float32)
    y = rng.integers(0, 2, 70)
    tr, te = np.arange(70), np.arange(70, 90)
    params = dict(DEFAULT_PARAMS, ridge_alpha=10.0, svm_c=0.1)
    direct, _ = fit_predict(estimator, X[tr], y, X[te], params)
    np.testing.assert_allclose(nulls.Gram(X).scores(estimator, tr, te, y, params), direct, atol=1e-6)


def _cohort(group_effect: float, animal_sd: float, n_per_group=4, calls=60, seed=0):
    """Calls with 3 features: the group shifts feature 0 by ``group_effect``; each animal has its own offset
    (sd ``animal_sd``) in every feature, as individual signatures or recording conditions would give."""
    rng = np.random.default_rng(seed)
    X, y, animals = [], [], []
    for i in range(2 * n_per_group):
        g = i % 2
        offset = animal_sd * rng.standard_normal(3)
        X.append(rng.standard_normal((calls, 3)) + offset + np.array([group_effect * g, 0, 0]))
        y += [g] * calls
        animals += [f"A{i}"] * calls
    return np.vstack(X), np.array(y), np.array(animals)


def test_the_null_gives_the_smallest_p_to_a_real_group_effect():
    X, y, animals = _cohort(group_effect=4.0, animal_sd=0.2)
    res = nulls.headline_null({"feat9": X}, {"ridge_feat9": MODELS["ridge_feat9"]}, y, animals, DEFAULT_PARAMS,
                              {"ridge_feat9": [1.0, 1.0, 100.0]}, 1000, 0)
    m = res["models"]["ridge_feat9"]
    assert res["n_assignments"] == 70 and res["exhaustive"] and res["p_min"] == pytest.approx(2 / 70)
    assert m["fixed"] == {"name": "alpha", "value": 1.0}
    # The true split and its swap (4 + 4: the same split of the animals) are the two best of the 70.
    assert m["mean_accuracy"] > 0.9 and m["p"] <= 2 / 70 + 1e-12
    assert sorted(m["null"])[-3] < 0.8
    assert len(m["null"]) == 70 and m["null_mean"] < 0.65
    assert set(m["fold_accuracy"]) == set(animals)


def test_animal_offsets_without_a_group_effect_are_not_significant_under_the_animal_null():
    """Animal-level structure only: each relabelling of the animals is fitted as well as the true one, so the
    true labels sit inside the null. (A call-level shuffle would destroy the animal structure instead.)"""
    X, y, animals = _cohort(group_effect=0.0, animal_sd=1.5, seed=4)
    res = nulls.headline_null({"feat9": X}, {"ridge_feat9": MODELS["ridge_feat9"], "svm_feat9": MODELS["svm_feat9"]},
                              y, animals, DEFAULT_PARAMS, {}, 1000, 0)
    for m in res["models"].values():
        assert m["p"] > 0.05
        null = np.array(m["null"])
        assert null.std() > 0.05  # relabellings of animals with signatures score far from 50 % either way


def test_spectrogram_models_use_the_shared_gram_and_rows_left_out_stay_out():
    rng = np.random.default_rng(1)
    X, y, animals = _cohort(group_effect=1.5, animal_sd=0.1, n_per_group=3, calls=30, seed=2)
    images = np.hstack([X, rng.random((len(X), 50))]).astype(np.float32)
    y = y.copy()
    y[:5] = -1  # unlabelled calls: never trained or tested on
    res = nulls.headline_null({"spectrogram": images}, {m: MODELS[m] for m in ("ridge", "svm")}, y, animals,
                              DEFAULT_PARAMS, {"ridge": [10.0], "svm": [0.1]}, 1000, 0)
    assert res["n_assignments"] == 20 and res["exhaustive"] and res["p_min"] == pytest.approx(0.1)
    for m in res["models"].values():
        assert m["p"] <= 0.1 + 1e-12 and m["mean_accuracy"] > 0.8
    yp = nulls.relabel(y, animals, {a: 1 for a in set(animals)})
    assert (yp[:5] == -1).all() and (yp[5:] == 1).all()


def test_cnn_relabellings_are_fixed_distinct_and_never_the_true_one():
    import pandas as pd

    labels = {f"F{i}": 0 for i in range(4)} | {f"M{i}": 1 for i in range(4)}
    five = nulls.sampled_assignments(labels, 5, 1000, 20200)
    assert len(five) == 5 and labels not in five
    assert len({tuple(sorted(a.items())) for a in five}) == 5
    assert nulls.sampled_assignments(labels, 8, 1000, 20200)[:5] == five  # relabelling i is the same for every K
    table = pd.DataFrame({"animal": ["F0", "F0", "M1", "X"], "sex": ["F", "F", "M", "?"]})
    out = nulls.relabelled_table(table, "sex", five[0], ["F", "M"])
    assert list(out["sex"][:3]) == ["FM"[five[0]["F0"]]] * 2 + ["FM"[five[0]["M1"]]] and out["sex"][3] == "?"
    assert list(table["sex"]) == ["F", "F", "M", "?"]  # the input is not changed
    assert nulls.monte_carlo_p(0.9, [0.5, 0.6, 0.95]) == pytest.approx(2 / 4)
    assert nulls.monte_carlo_p(0.9, [0.5] * 9) == pytest.approx(1 / 10)
