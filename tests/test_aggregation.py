"""From calls to recordings (usvflow.classify.aggregate) and mixed-pair shares (usvflow.classify.mixture), on
held-out predictions whose generating process is known."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from usvflow.classify.aggregate import (
    HeldOut,
    accuracy_curve,
    call_log_odds,
    calls_needed,
    fit_call_calibration,
    fit_recording_model,
    model_report,
    new_animal_check,
    predicted_accuracy,
    recording_posterior,
)
from usvflow.classify.mixture import class_share, rate_model


def _animals(rng, n_animals, calls, effect=0.5, animal_sd=0.0, scale=2.0):
    """Per animal: label alternating, per-call true log-odds = +-effect + the animal's own offset + call noise;
    the 'model' reports an overconfident score (scale x the calibrated log-odds)."""
    labels, scores = [], []
    for a in range(n_animals):
        y = a % 2
        mu = (effect if y else -effect) + animal_sd * rng.standard_normal()
        # a call's class-1 log-odds is mu + logistic-ish noise; the score is a scaled version of it
        log_odds = mu + rng.standard_normal(calls)
        labels.append(y)
        scores.append(scale * log_odds)
    return HeldOut([f"a{i}" for i in range(n_animals)], np.array(labels), scores)


def _predictions(held: HeldOut, kind: str = "decision") -> pd.DataFrame:
    rows = []
    for animal, y, s in zip(held.animals, held.labels, held.scores):
        score = expit(s) if kind == "probability" else s
        rows.append(pd.DataFrame({"animal": animal, "y_true": y, "y_pred": (s > 0).astype(int), "score": score}))
    return pd.concat(rows, ignore_index=True)


def test_call_calibration_undoes_an_overconfident_scale():
    rng = np.random.default_rng(0)
    held = _animals(rng, 12, 300, effect=0.6, scale=3.0)
    cal = fit_call_calibration(held)
    # Calls are N(+-0.6, 1) in log-odds units: the Bayes log-odds is 1.2 * l, and scores are 3 * l.
    assert cal["a"] == pytest.approx(1.2 / 3.0, rel=0.15)
    assert abs(cal["b"]) < 0.1


def test_recording_calibration_levels_off_with_animal_effects_and_is_calibrated_on_new_animals():
    rng = np.random.default_rng(1)
    train = _animals(rng, 100, 250, effect=0.25, animal_sd=0.35)
    cal = fit_call_calibration(train)
    rec = fit_recording_model(train, cal)
    assert rec["between_var"] / rec["within_var"] > 0.03  # calls of one animal are not independent here
    # New animals from the same process: posteriors of recordings of N calls match their accuracy.
    test = _animals(np.random.default_rng(2), 400, 200, effect=0.25, animal_sd=0.35)
    for n in (5, 50, 200):
        post, right = [], []
        for s, y in zip(test.scores, test.labels):
            p1 = recording_posterior(call_log_odds(s[:n], cal), rec)
            post.append(max(p1, 1 - p1))
            right.append((p1 > 0.5) == bool(y))
        post, right = np.array(post), np.array(right)
        assert abs(post.mean() - right.mean()) < 0.05, (n, post.mean(), right.mean())
        sure = post >= 0.95
        if sure.sum() > 20:
            assert right[sure].mean() >= 0.9
    # Without animal effects the same fit treats calls as nearly independent.
    indep = _animals(np.random.default_rng(3), 12, 250, effect=0.15, animal_sd=0.0)
    cal_i = fit_call_calibration(indep)
    rec_i = fit_recording_model(indep, cal_i)
    assert rec_i["between_var"] / rec_i["within_var"] < 0.01


def test_accuracy_curve_grows_with_calls_and_predicts_between_points():
    held = _animals(np.random.default_rng(4), 10, 120, effect=0.3, animal_sd=0.1)
    cal = fit_call_calibration(held)
    rec = fit_recording_model(held, cal)
    curve = accuracy_curve(held, cal, rec, grid=(1, 2, 5, 10, 20, 50), draws=100, seed=0)
    assert curve["n_calls"].tolist() == ["1", "2", "5", "10", "20", "50", "all"]
    acc = curve["accuracy"].to_numpy()
    assert acc[0] < acc[3] < acc[-1] and acc[0] == pytest.approx(expit(0.6 * 1.0), abs=0.1)
    assert curve["n_calls_used"].iloc[-1] == 120
    mid = predicted_accuracy(curve, 7)
    assert acc[2] <= mid <= acc[3]
    assert predicted_accuracy(curve, 1000) == acc[-1]  # flat beyond "all"
    need = calls_needed(held, cal, rec, 0.9, draws=100)
    assert need["calls"] is not None and 5 <= need["calls"] <= 100
    assert calls_needed(held, cal, rec, 0.9999, draws=100)["calls"] is None
    # The posterior follows the accuracy on animals the calibration never saw.
    for row in new_animal_check(held, draws=30):
        assert abs(row["mean_posterior"] - row["accuracy"]) < 0.1, row


def test_model_report_reads_pooled_predictions():
    held = _animals(np.random.default_rng(5), 8, 80, effect=0.4, animal_sd=0.2)
    preds = _predictions(held, "probability")
    report = model_report(preds, "cnn", draws=50)
    assert report["score"] == "probability" and report["n_animals"] == 8 and report["n_calls"] == 640
    assert set(report["loao"]["per_animal"]) == set(held.animals)
    assert {r["n_calls"] for r in report["curve"]} >= {"1", "all"}
    assert report["rate_model"]["1"]["n_animals"] == 4
    with pytest.raises(ValueError, match="both classes"):
        model_report(preds.assign(y_true=np.arange(len(preds)) % 2), "cnn")


def test_pair_share_interval_covers_new_animals_and_narrows_when_animals_agree():
    rng = np.random.default_rng(6)

    def rates(k, t_mu, f_mu, sd):
        n = 300
        t = expit(t_mu + sd * rng.standard_normal(k))
        f = expit(f_mu + sd * rng.standard_normal(k))
        return pd.DataFrame({"label": [1] * k + [0] * k, "n_calls": n,
                             "share_class1": np.r_[rng.binomial(n, t) / n, rng.binomial(n, f) / n]})

    model = rate_model(rates(8, 1.0, -1.0, 0.4))
    covered, widths = 0, []
    for i in range(200):
        t = expit(1.0 + 0.4 * rng.standard_normal())
        f = expit(-1.0 + 0.4 * rng.standard_normal())
        pi = rng.uniform(0.1, 0.9)
        n = 250
        n1 = rng.binomial(int(round(pi * n)), t) + rng.binomial(n - int(round(pi * n)), f)
        est = class_share(n1, n, model, draws=4000, seed=i)
        covered += est["low"] <= round(pi * n) / n <= est["high"]
        widths.append(est["high"] - est["low"])
    assert covered / 200 >= 0.9
    tight = rate_model(rates(8, 1.0, -1.0, 0.05))
    assert class_share(125, 250, tight)["high"] - class_share(125, 250, tight)["low"] < np.mean(widths)
    # The point estimate undoes the errors: a pair of only class-0 calls called at the false-positive rate.
    f_rate = tight["0"]["mean_rate"]
    assert class_share(int(round(f_rate * 1000)), 1000, tight)["share"] == pytest.approx(0.0, abs=0.03)
