"""Final models and bundles (usvflow.classify.final, usvflow.classify.bundle): the same models as the LOAO folds,
one file that loads without Snakemake, and one-line refusals of what a bundle cannot process."""
from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from usvflow.classify.aggregate import model_report
from usvflow.classify.bundle import (
    check_recording,
    check_reproducible,
    load_bundle,
    make_bundle,
    required_sample_rate,
    save_bundle,
)
from usvflow.classify.classical import _standardise, fit_predict, input_matrix
from usvflow.classify.classical_tasks import MODELS
from usvflow.classify.final import (
    FINAL_FOLD,
    choose_classical,
    classical_scores,
    eligible_classical,
    fit_classical,
    train_final_network,
)
from usvflow.classify.folds import FoldData
from usvflow.classify.models import save_model
from usvflow.classify.tasks import train_settings
from usvflow.detect.params import resolve_params as detector_params
from usvflow.errors import InputError
from usvflow.features.columns import FEATURES_9
from usvflow.features.columns import resolve_params as feature_params
from usvflow.workflow.planning import train_job_settings


def _images(rng, n, y):
    """Sparse 100 x 100 'calls' whose frequency band depends a little on the class."""
    img = np.zeros((n, 100, 100), np.uint8)
    for i in range(n):
        row = int(np.clip(rng.normal(40 + 12 * y[i], 8), 5, 90))
        length = int(rng.integers(10, 60))
        img[i, row:row + 4, :length] = rng.integers(120, 255, size=(4, length))
    return img


@pytest.mark.parametrize("model", ["ridge", "svm", "ridge_feat9", "svm_feat9"])
def test_final_classical_scores_equal_fit_predicts(model):
    rng = np.random.default_rng(0)
    n = 120
    y = np.repeat([0, 1], n // 2)  # already balanced: the final fit keeps every row
    kind = MODELS[model][1]
    if kind == "spectrogram":
        X = input_matrix("spectrogram", pd.DataFrame(), images=_images(rng, n, y))
        Xte = input_matrix("spectrogram", pd.DataFrame(), images=_images(rng, 30, np.r_[np.zeros(15), np.ones(15)]))
    else:
        table = pd.DataFrame(rng.normal(size=(n + 30, 9)) + 0.7 * np.r_[y, np.zeros(30)][:, None], columns=FEATURES_9)
        table.iloc[3, 2] = np.nan  # a missing value is filled with the training median
        X, Xte = input_matrix("feat9", table.iloc[:n]), input_matrix("feat9", table.iloc[n:])
    fitted = fit_classical(model, X, y, {"ridge_alpha": 1.0, "svm_c": 1.0}, seed_key="t")
    assert fitted["n_train"] == n
    ours = classical_scores(fitted, Xte)
    Xtr_ref, Xte_ref = (X, Xte) if kind == "spectrogram" else _standardise(X.astype(float), Xte.astype(float))
    ref, _ = fit_predict(MODELS[model][0], Xtr_ref, y, Xte_ref, {"ridge_alpha": 1.0, "svm_c": 1.0})
    # the folds fit ridge in dual (kernel) form on spectrograms, the final model in primal form: equal up to the
    # solvers' rounding (~1e-6 of scores near 1)
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-5)


def test_final_regularisation_is_the_loao_folds_choice():
    from usvflow.classify.final import loao_regularisation

    params = {"ridge_alpha": [1, 10, 100], "svm_c": [0.01, 0.1, 1]}
    folds = [{"model": "ridge", "hyperparameter": {"value": v}} for v in (10, 100, 100, 1)]
    folds += [{"model": "svm", "hyperparameter": {"value": v}} for v in (0.1, 1)]
    assert loao_regularisation(folds, "ridge", params)["ridge_alpha"] == 100  # the most frequent
    assert loao_regularisation(folds, "svm", params)["svm_c"] == 0.1  # a tie: the stronger regularisation
    assert loao_regularisation([], "ridge", params)["ridge_alpha"] == 10  # nothing on record: the grid's middle
    with pytest.raises(ValueError, match="one value"):
        fit_classical("ridge", np.zeros((4, 2)), np.array([0, 0, 1, 1]), params, seed_key="t")


def test_choosing_the_classical_model():
    metrics = [{"model": "ridge", "accuracy": 0.55}, {"model": "ridge", "accuracy": 0.57},
               {"model": "svm", "accuracy": 0.61}, {"model": "svm", "accuracy": None},
               {"model": "ridge_feat9", "accuracy": 0.80}]
    truth_props = pd.Series(["truth", "auto", "truth"])
    assert eligible_classical(["ridge", "svm", "ridge_feat9"], truth_props) == ["ridge", "svm"]
    assert eligible_classical(["ridge", "ridge_feat9"], pd.Series(["auto"] * 3)) == ["ridge", "ridge_feat9"]
    assert choose_classical(metrics, ["ridge", "svm"]) == ("svm", pytest.approx(0.61))
    assert choose_classical(metrics, ["ridge", "svm", "ridge_feat9"])[0] == "ridge_feat9"
    with pytest.raises(ValueError, match="none of"):
        choose_classical(metrics, ["svm_feat9"])


@pytest.fixture(scope="module")
def final_cnn(config):
    """A tiny CNN (the test preset's) trained on every animal of a small synthetic cohort."""
    rng = np.random.default_rng(1)
    animals = ["F1", "F2", "M1", "M2"]
    table = pd.DataFrame({"animal": np.repeat(animals, 40), "sex": np.repeat(["F", "F", "M", "M"], 40)})
    table["call_uid"] = [f"{a}#{i}" for a, i in zip(table["animal"], range(len(table)))]
    y = (table["sex"] == "M").to_numpy(int)
    settings = train_job_settings(train_settings({**copy.deepcopy(config), "preset": "test"}), "sex", "cnn")
    model, metrics = train_final_network("sex", "cnn", FoldData(table=table, images=_images(rng, len(table), y)),
                                         settings, log=None)
    return model, metrics


def test_final_network_trains_on_every_call(final_cnn):
    model, metrics = final_cnn
    assert metrics["n_train"] == 160 and metrics["fold"] == FINAL_FOLD and metrics["test_animals"] == [FINAL_FOLD]
    assert not model.training and metrics["classes"] == ["F", "M"]


def _member(name, kind, model_spec, rng, score):
    animals = [f"a{i}" for i in range(6)]
    rows = []
    for i, a in enumerate(animals):
        y = i % 2
        s = rng.normal(0.4 if y else -0.4, 1.0, 60)
        rows.append(pd.DataFrame({"animal": a, "y_true": y, "y_pred": (s > 0).astype(int),
                                  "score": 1 / (1 + np.exp(-s)) if score == "probability" else s}))
    rep = model_report(pd.concat(rows), name if kind == "classical" else "cnn", draws=20)
    return {"name": name, "kind": kind, "score": score, "model": model_spec,
            **{k: rep[k] for k in ("loao", "calibration", "curve", "calls_needed_90", "rates", "rate_model")}}


@pytest.fixture(scope="module")
def bundle(final_cnn):
    model, metrics = final_cnn
    rng = np.random.default_rng(2)
    y = np.repeat([0, 1], 40)
    fitted = fit_classical("ridge", input_matrix("spectrogram", pd.DataFrame(), images=_images(rng, 80, y)), y,
                           {"ridge_alpha": 1.0}, seed_key="b")
    spec = {"family": "cnn", "n_classes": 2, "config": dict(model.config.__dict__), "state_dict": model.state_dict()}
    members = {"cnn": _member("cnn", "network", spec, rng, "probability"),
               "classical": _member("ridge", "classical", fitted, rng, "decision")}
    return make_bundle("sex", ["F", "M"], {"sample_rates_hz": [300_000, 300_000], "animals": ["F1"]},
                       {"method": "default", "params": detector_params("default")}, feature_params(), 0, members, "cnn")


def test_bundle_round_trip_without_snakemake(tmp_path, bundle):
    path = tmp_path / "sex.pt"
    save_bundle(path, bundle)
    back = load_bundle(path)
    assert back["task"] == "sex" and back["classes"] == ["F", "M"] and back["usvflow_version"]
    assert back["input"]["detector"] == bundle["input"]["detector"]
    assert back["input"]["min_sample_rate_hz"] == 248_000  # the top image row (124 kHz) needs it
    np.testing.assert_array_equal(back["members"]["classical"]["model"]["coef"], bundle["members"]["classical"]["model"]["coef"])
    for k, v in bundle["members"]["cnn"]["model"]["state_dict"].items():
        assert (back["members"]["cnn"]["model"]["state_dict"][k] == v).all()
    assert back["members"]["cnn"]["calibration"] == bundle["members"]["cnn"]["calibration"]


def test_sample_rate_the_inputs_need():
    det = {"method": "default", "params": detector_params("default")}
    assert required_sample_rate(det, None, [300_000])[0] == 248_000
    assert required_sample_rate(det, feature_params(), [300_000]) == (250_000, "its features reach 125.0 kHz")
    # Trained at 250 kHz, the inputs held what 250 kHz holds: the same bar.
    assert required_sample_rate(det, None, [250_000, 300_000])[0] == 248_000
    # Trained at 200 kHz: the images stop at 100 kHz, so 200 kHz recordings are enough.
    assert required_sample_rate(det, None, [200_000])[0] == 200_000


def _wav(path, rate, channels=1, seconds=0.5):
    sf.write(path, np.zeros((int(rate * seconds), channels), np.float32) if channels > 1
             else np.zeros(int(rate * seconds), np.float32), rate, subtype="FLOAT")
    return path


def test_refusals_are_one_line(tmp_path, bundle):
    with pytest.raises(InputError, match=r"sample rate 192000 Hz is below the 248000 Hz this sex bundle needs") as err:
        check_recording(bundle, _wav(tmp_path / "low.wav", 192_000))
    assert "\n" not in str(err.value) and "low.wav" in str(err.value)
    info, channel = check_recording(bundle, _wav(tmp_path / "ok.wav", 250_000, channels=2))
    assert channel == 0 and info.channels == 2
    with pytest.raises(InputError, match="channel 3 requested but the file has 2"):
        check_recording(bundle, tmp_path / "ok.wav", channel="3")
    odd = copy.deepcopy(bundle)
    odd["input"]["detector"]["params"]["threshold_jitter_db"] = 1.0
    with pytest.raises(InputError, match="threshold_jitter_db that this usvflow"):
        check_reproducible(odd, "x.wav")
    odd = copy.deepcopy(bundle)
    odd["input"]["image"]["size"] = 128
    with pytest.raises(InputError, match="call images"):
        check_reproducible(odd, "x.wav")
    odd = copy.deepcopy(bundle)
    odd["input"]["detector"]["method"] = "wavelet"
    with pytest.raises(InputError, match="detector method 'wavelet'"):
        check_reproducible(odd, "x.wav")
    check_reproducible(bundle, "x.wav")


def test_load_refuses_what_is_not_a_bundle(tmp_path, final_cnn):
    with pytest.raises(InputError, match="model bundle not found"):
        load_bundle(tmp_path / "missing.pt")
    fold = tmp_path / "cnn.pt"
    save_model(str(fold), final_cnn[0], "cnn")
    with pytest.raises(InputError, match="not a usvflow model bundle .a trained fold"):
        load_bundle(fold)
    junk = tmp_path / "junk.pt"
    junk.write_text("hello")
    with pytest.raises(InputError, match="not a usvflow model bundle") as err:
        load_bundle(junk)
    assert "\n" not in str(err.value)


def test_default_member_is_the_better_per_recording_decider():
    """The bundle decides recordings, so its default member is the one whose held-out animals' recordings were
    decided right most often from all their calls, even when its single calls are right slightly less often."""
    from usvflow.classify.bundle import choose_default_member

    def member(call_acc, rec_acc):
        return {"loao": {"accuracy_mean": call_acc},
                "curve": [{"n_calls": "1", "accuracy": call_acc}, {"n_calls": "all", "accuracy": rec_acc}]}

    assert choose_default_member({"cnn": member(0.536, 0.875), "classical": member(0.539, 0.75)}) == "cnn"
    assert choose_default_member({"cnn": member(0.60, 0.75), "classical": member(0.55, 0.875)}) == "classical"
    # a tie on recordings goes to the better call-level accuracy, then to the CNN
    assert choose_default_member({"cnn": member(0.55, 0.875), "classical": member(0.60, 0.875)}) == "classical"
    assert choose_default_member({"cnn": member(0.60, 0.875), "classical": member(0.60, 0.875)}) == "cnn"
