"""Ridge / SVM folds: a known separating feature, shuffled control at chance, bad input handled."""
import numpy as np
import pandas as pd
import pytest

from usvflow.classify import classical as cl
from usvflow.classify import classical_tasks as ct
from usvflow.features.columns import FEATURES_9

SPEC = ct.task_spec("sex")


def _cohort(n_animals=6, calls=80, effect=3.0, seed=0):
    """Animals alternate F/M; only duration differs between the sexes (by ``effect`` SDs)."""
    rng = np.random.default_rng(seed)
    rows = []
    for a in range(n_animals):
        sex = "FM"[a % 2]
        for i in range(calls):
            row = {c: rng.normal() for c in FEATURES_9}
            row["duration_s"] += effect * (sex == "M")
            rows.append(dict(row, animal=f"{sex}{a:02d}", sex=sex, call_uid=f"{a}#{i}"))
    return pd.DataFrame(rows)


@pytest.mark.parametrize("model", ["ridge_feat9", "svm_feat9"])
def test_known_feature_separates_and_shuffled_control_is_at_chance(model):
    t = _cohort()
    X, y = cl.input_matrix("feat9", t), ct.encode_labels(t["sex"], SPEC)
    real, shuf = [], []
    for a in sorted(t["animal"].unique()):
        r = cl.run_fold(X, y, t["animal"], t["call_uid"], a, model, "sex", SPEC)
        real.append(r.metrics["accuracy"])
        assert r.metrics["n_test"] == 80 and r.metrics["fold"] == a and r.metrics["classes"] == ["F", "M"]
        assert set(r.predictions.columns) == {"call_uid", "y_true", "y_pred", "score"}
    for seed in range(4):  # average several shuffles: one fold's control is a coin flip per animal
        for a in sorted(t["animal"].unique()):
            r = cl.run_fold(X, y, t["animal"], t["call_uid"], a, model + "_shuffled", "sex", SPEC, {"seed": seed})
            assert r.metrics["shuffled"]
            shuf.append(r.metrics["accuracy"])
    assert np.mean(real) > 0.9
    assert abs(np.mean(shuf) - 0.5) < 0.15


def test_quadratic_svm_learns_a_nonlinear_spectrogram_cue():
    rng = np.random.default_rng(1)
    n = 240
    images = rng.integers(0, 40, (n, 100, 100)).astype(np.uint8)
    y = np.arange(n) % 2
    # Class 1: energy in band A or band B (never both) — a sign-free cue a linear model cannot use well.
    for i in np.flatnonzero(y == 1):
        band = (20, 30) if rng.random() < 0.5 else (70, 80)
        images[i, band[0]:band[1], :40] = 200
    for i in np.flatnonzero(y == 0):
        images[i, 20:30, :40] = images[i, 70:80, :40] = 110  # same mean energy, spread over both bands
    t = pd.DataFrame({"sex": np.where(y == 1, "M", "F"), "animal": [f"A{i % 4}" for i in range(n)],
                      "call_uid": [str(i) for i in range(n)]})
    X = cl.input_matrix("spectrogram", t, images=images)
    yy = ct.encode_labels(t["sex"], SPEC)
    # The estimator's capacity at C = 1 (two animals per class leave the nested choice almost no inner folds).
    acc = [cl.run_fold(X, yy, t["animal"], t["call_uid"], a, "svm", "sex", SPEC, {"svm_c": 1.0},
                       standardise=False).metrics["accuracy"] for a in ["A0", "A1"]]
    assert np.mean(acc) > 0.9


def test_balance_subsamples_the_larger_class():
    y = np.r_[np.zeros(30, int), np.ones(10, int)]
    idx = cl.balance(y, np.random.default_rng(0))
    assert (y[idx] == 0).sum() == (y[idx] == 1).sum() == 10


def test_one_sex_cohort_and_sparse_animal_are_reported_not_crashed():
    samples = pd.DataFrame({"cohort": "sex", "sex": ["F", "F"], "animal": ["F1", "F2"]})
    folds, why = ct.loao_folds(samples, SPEC)
    assert folds == [] and "one class only" in why
    plan = ct.plan_tasks(samples, None, ["sex"])
    assert plan["sex"]["skipped"] and "strain" not in plan
    t = _cohort(n_animals=4)
    t = t[~((t["animal"] == "M01") & (t.index % 80 > 3))]  # animal M01 keeps 4 calls
    X, y = cl.input_matrix("feat9", t), ct.encode_labels(t["sex"], SPEC)
    r = cl.run_fold(X, y, t["animal"], t["call_uid"], "M01", "ridge_feat9", "sex", SPEC)
    assert r.metrics["accuracy"] is None and "fewer than" in r.metrics["skipped"] and r.predictions.empty
    # Holding out the only M animal leaves training with one class: skipped, said why.
    t2 = _cohort(n_animals=3)
    X2, y2 = cl.input_matrix("feat9", t2), ct.encode_labels(t2["sex"], SPEC)
    r2 = cl.run_fold(X2, y2, t2["animal"], t2["call_uid"], "M01", "svm_feat9", "sex", SPEC)
    assert r2.metrics["accuracy"] is None and "need" in r2.metrics["skipped"]
    summary = cl.summarise([r.metrics, r2.metrics])
    assert (summary["n_folds"] == 0).all()


def test_shuffled_control_pools_several_permutations():
    t = _cohort()
    X, y = cl.input_matrix("feat9", t), ct.encode_labels(t["sex"], SPEC)
    one = cl.run_fold(X, y, t["animal"], t["call_uid"], "M01", "ridge_feat9_shuffled", "sex", SPEC)
    three = cl.run_fold(X, y, t["animal"], t["call_uid"], "M01", "ridge_feat9_shuffled", "sex", SPEC,
                       {"shuffle_repeats": 3})
    pred = three.predictions
    assert len(pred) == 3 * 80 and sorted(pred["replicate"].unique()) == [0, 1, 2]
    # The first permutation is the single-permutation control; the others differ from it.
    assert np.array_equal(pred[pred.replicate == 0]["score"].to_numpy(), one.predictions["score"].to_numpy())
    reps = three.metrics["replicate_accuracies"]
    assert three.metrics["replicates"] == 3 and reps[0] == one.metrics["accuracy"] and len(set(reps)) > 1
    assert three.metrics["accuracy"] == pytest.approx(np.mean(reps))
    # The real model is never repeated.
    real = cl.run_fold(X, y, t["animal"], t["call_uid"], "M01", "ridge_feat9", "sex", SPEC, {"shuffle_repeats": 3})
    assert len(real.predictions) == 80 and "replicates" not in real.metrics


def test_kernel_ridge_is_sklearn_ridge_with_intercept():
    """The dual form on a precomputed Gram (spectrograms) is the same model as ridge on the features."""
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(3)
    X, Xt = rng.normal(size=(60, 200)) + 2.0, rng.normal(size=(15, 200)) + 2.0
    y = (rng.random(60) < 0.4).astype(int)
    for alpha in (0.1, 10.0, 1e4):
        dual = cl.KernelRidgeClassifier(alpha).fit(X @ X.T, y).decision_function(Xt @ X.T)
        primal = Ridge(alpha=alpha).fit(X, y.astype(float)).predict(Xt) - 0.5
        assert np.allclose(dual, primal, atol=1e-8)
    scores, info = cl.fit_predict("ridge", X, y, Xt, {"ridge_alpha": 10.0})
    assert info["value"] == 10.0 and np.allclose(scores, Ridge(alpha=10.0).fit(X, y.astype(float)).predict(Xt) - 0.5)


def _wide_cohort(n_animals=8, calls=30, dims=180, seed=4):
    """Sex carried by one feature among many noise dimensions, fewer calls than dimensions: a weakly
    regularised linear model fits the training calls and generalises poorly; a strongly regularised one
    finds the sex feature (the situation of the 457-dimensional 24 features + 3 vectors)."""
    rng = np.random.default_rng(seed)
    rows, X = [], []
    for a in range(n_animals):
        sex = "FM"[a % 2]
        for i in range(calls):
            x = rng.normal(0, 1, dims)
            x[0] += 2.0 * (sex == "M")
            X.append(x)
            rows.append({"animal": f"{sex}{a:02d}", "sex": sex, "call_uid": f"{a}#{i}"})
    return pd.DataFrame(rows), np.asarray(X)


@pytest.mark.parametrize("model,gain", [("ridge_semiconv", 0.15), ("svm_semiconv", -0.05)])
def test_nested_choice_is_recorded_and_beats_the_weakest_regularisation(model, gain):
    """Ridge near its interpolation threshold (as many calls as dimensions) needs a large alpha: the nested
    choice finds it. The hinge loss is robust to a loose C here: the choice must not lose much."""
    t, X = _wide_cohort()
    y = ct.encode_labels(t["sex"], SPEC)
    tuned, loose = [], []
    weakest = {"ridge_alpha": 1e-2} if model.startswith("ridge") else {"svm_c": 1.0}
    for a in sorted(t["animal"].unique()):
        r = cl.run_fold(X, y, t["animal"], t["call_uid"], a, model, "sex", SPEC)
        h = r.metrics["hyperparameter"]
        assert h["name"] == ("alpha" if model.startswith("ridge") else "C") and h["value"] in h["grid"]
        assert h["inner_folds"] == 7 and len(h["inner_accuracy"]) == len(h["grid"])
        # The chosen value is the best inner score (class-balanced over the inner held-out animals).
        assert h["inner_accuracy"][h["grid"].index(h["value"])] >= max(h["inner_accuracy"]) - 1e-9
        tuned.append(r.metrics["accuracy"])
        loose.append(cl.run_fold(X, y, t["animal"], t["call_uid"], a, model, "sex", SPEC, weakest).metrics["accuracy"])
    assert np.mean(tuned) > np.mean(loose) + gain and np.mean(tuned) > 0.65


def test_shuffled_control_chooses_on_its_own_labels():
    t, X = _wide_cohort()
    y = ct.encode_labels(t["sex"], SPEC)
    r = cl.run_fold(X, y, t["animal"], t["call_uid"], "F00", "ridge_semiconv_shuffled", "sex", SPEC,
                    {"shuffle_repeats": 3})
    assert len(r.metrics["hyperparameter_per_replicate"]) == 3
    assert r.metrics["hyperparameter"]["value"] == r.metrics["hyperparameter_per_replicate"][0]
