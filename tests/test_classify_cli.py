"""``usvflow classify``: a bundle applied to new recordings, the per-call table, the recording's decision, pairs,
reused call tables, and one-line answers to bad input."""
from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from test_bundle import _member

from usvflow.classify.bundle import FORMAT_VERSION, load_pt, make_bundle, save_bundle, save_pt
from usvflow.classify.classical import input_matrix
from usvflow.classify.final import fit_classical, train_final_network
from usvflow.classify.folds import FoldData
from usvflow.classify.tasks import train_settings
from usvflow.classify_cli import main
from usvflow.detect import CALL_COLUMNS, detect_file
from usvflow.detect.params import resolve_params as detector_params
from usvflow.detect_cli import main as detect_main
from usvflow.features.columns import resolve_params as feature_params
from usvflow.simulate.plan import RecordingSpec
from usvflow.simulate.recording import simulate_recording, write_recording
from usvflow.workflow.planning import train_job_settings


@pytest.fixture(scope="module")
def world(tmp_path_factory, config):
    """Four simulated recordings (2 F + 2 M, 12 s), a bundle trained on three of them, the fourth held out."""
    root = tmp_path_factory.mktemp("classify")
    sim = copy.deepcopy(config["simulation"])
    wavs, tables, images = {}, [], []
    for animal, sex in (("F01", "F"), ("M01", "M"), ("F02", "F"), ("M02", "M")):
        spec = RecordingSpec(f"sex_{animal}", "sex", animal, sex, "C57BL/6", sex, 12.0)
        wavs[animal] = root / f"{animal}.wav"
        write_recording(simulate_recording(sim, spec), wavs[animal], root / "truth")
        if animal != "M02":
            det = detect_file(wavs[animal])
            tables.append(det.calls.assign(animal=animal, sex=sex,
                                           call_uid=[f"{animal}#{i}" for i in range(len(det.calls))]))
            images.append(np.asarray(det.spectrograms))
    table, stack = pd.concat(tables, ignore_index=True), np.concatenate(images)
    settings = train_job_settings(train_settings({**copy.deepcopy(config), "preset": "test"}), "sex", "cnn")
    net, _ = train_final_network("sex", "cnn", FoldData(table=table, images=stack), settings, log=None)
    y = (table["sex"] == "M").to_numpy(int)
    fitted = fit_classical("ridge", input_matrix("spectrogram", table, images=stack), y, {"ridge_alpha": 1.0},
                           seed_key="cli")
    rng = np.random.default_rng(0)
    spec = {"family": "cnn", "n_classes": 2, "config": dict(net.config.__dict__), "state_dict": net.state_dict()}
    members = {"cnn": _member("cnn", "network", spec, rng, "probability"),
               "classical": _member("ridge", "classical", fitted, rng, "decision")}
    bundle = make_bundle("sex", ["F", "M"], {"sample_rates_hz": [300_000], "animals": ["F01", "M01", "F02"]},
                         {"method": "default", "params": detector_params("default")}, feature_params(), 0, members,
                         "cnn")
    path = root / "sex.pt"
    save_bundle(path, bundle)
    return {"root": root, "wavs": wavs, "bundle": path}


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_per_call_table_and_recording_summary(world, capsys, tmp_path):
    wav = world["wavs"]["M02"]
    code, out, err = _run(capsys, wav, "--model", world["bundle"], "-o", tmp_path / "calls.csv",
                          "--summary", tmp_path / "rec.json", "--progress")
    assert code == 0, err
    calls = pd.read_csv(tmp_path / "calls.csv")
    assert list(calls.columns) == CALL_COLUMNS + ["p_F", "p_M", "predicted"]
    assert len(calls) == len(detect_file(wav).calls) > 10
    np.testing.assert_allclose(calls["p_F"] + calls["p_M"], 1.0, atol=1e-5)
    assert set(calls["predicted"]) <= {"F", "M"}
    assert (calls["predicted"] == "M").tolist() == (calls["p_M"] > 0.5).tolist()
    summary = json.loads((tmp_path / "rec.json").read_text())
    assert summary["n_calls"] == len(calls) and summary["decision"] in ("F", "M")
    assert 0.5 <= summary["posterior"] <= 1.0
    assert summary["posterior_by_class"][summary["decision"]] == pytest.approx(summary["posterior"])
    assert 0 < summary["loao_accuracy_for_this_many_calls"] <= 1
    assert f"{len(calls)} calls -> {summary['decision']}, posterior {summary['posterior']:.3f}" in out


def test_reused_call_table(world, capsys, tmp_path):
    wav = world["wavs"]["F02"]
    assert detect_main([str(wav), "-o", str(tmp_path / "det.csv")]) == 0
    _run(capsys, wav, "--model", world["bundle"], "-o", tmp_path / "direct.csv")
    code, _, err = _run(capsys, wav, "--model", world["bundle"], "-o", tmp_path / "reused.csv", "--calls",
                        tmp_path / "det.csv", "--summary", tmp_path / "reused.json")
    assert code == 0, err
    direct, reused = pd.read_csv(tmp_path / "direct.csv"), pd.read_csv(tmp_path / "reused.csv")
    np.testing.assert_allclose(reused["p_M"], direct["p_M"], atol=1e-5)  # the detector's own images
    summary = json.loads((tmp_path / "reused.json").read_text())
    assert summary["calls_from"] == "table" and summary["table_calls_matched_by_detector"] == len(direct)
    # A hand-edited table: one call cut short, one added where the detector found none; the lab's columns stay.
    edited = pd.read_csv(tmp_path / "det.csv")[["onset_s", "offset_s"]].assign(note="ok")
    edited.loc[0, "offset_s"] = edited.loc[0, "onset_s"] + 0.5 * (edited.loc[0, "offset_s"] - edited.loc[0, "onset_s"])
    edited.loc[len(edited)] = [11.0, 11.03, "added"]
    edited.to_csv(tmp_path / "edited.tsv", sep="\t", index=False)
    code, _, err = _run(capsys, wav, "--model", world["bundle"], "-o", tmp_path / "edited.csv", "--calls",
                        tmp_path / "edited.tsv")
    assert code == 0, err
    out = pd.read_csv(tmp_path / "edited.csv")
    assert len(out) == len(edited) and list(out.columns[:3]) == ["onset_s", "offset_s", "note"]
    assert out["p_M"].between(0, 1).all()
    assert out["p_M"].iloc[1:-1].tolist() == pytest.approx(direct["p_M"].iloc[1:].tolist(), abs=1e-5)


def test_pair_mode_and_the_other_member(world, capsys, tmp_path):
    wav = world["wavs"]["M02"]
    code, out, err = _run(capsys, wav, "--model", world["bundle"], "-o", tmp_path / "p.csv", "--pair",
                          "--member", "classical", "--summary", tmp_path / "p.json", "--level", "0.9")
    assert code == 0, err
    summary = json.loads((tmp_path / "p.json").read_text())
    assert summary["member"] == "classical" and summary["model"] == "ridge"
    male = summary["pair"]["share"]["M"]
    assert 0 <= male["low"] <= male["estimate"] <= male["high"] <= 1 and summary["pair"]["level"] == 0.9
    female = summary["pair"]["share"]["F"]
    assert female["estimate"] == pytest.approx(1 - male["estimate"]) and female["low"] == pytest.approx(1 - male["high"])
    assert "share of calls M" in out and "90 % interval" in out


def test_real_250khz_clip(world, capsys, tmp_path, realdata):
    code, out, err = _run(capsys, realdata / "clip1" / "recording.wav", "--model", world["bundle"], "-o",
                          tmp_path / "clip.csv")
    assert code == 0, err
    assert len(pd.read_csv(tmp_path / "clip.csv")) > 5 and "calls ->" in out


def test_silent_recording_has_no_decision(world, capsys, tmp_path):
    wav = tmp_path / "silent.wav"
    sf.write(wav, np.zeros(300_000, np.int16), 300_000, subtype="PCM_16")
    code, out, err = _run(capsys, wav, "--model", world["bundle"], "-o", tmp_path / "c.csv", "--summary",
                          tmp_path / "s.json", "--pair")
    assert code == 0, err
    assert (tmp_path / "c.csv").read_text().strip() == ",".join(CALL_COLUMNS + ["p_F", "p_M", "predicted"])
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["n_calls"] == 0 and summary["decision"] is None and summary["posterior"] == 0.5
    assert "0 calls, no decision" in out


def test_feature_member_scores_auto_scored_features(world, capsys, tmp_path):
    """A classical member on the 9 features: a new recording's features are computed, its properties auto-scored."""
    from usvflow.classify.bundle import load_bundle
    from usvflow.features.columns import PROPERTIES
    from usvflow.features.extract import compute_features

    frames, labels = [], []
    for animal, sex in (("F01", 0), ("M01", 1), ("F02", 0)):
        calls = detect_file(world["wavs"][animal]).calls
        feats, _ = compute_features(calls, world["wavs"][animal])
        for prop in PROPERTIES:
            feats[prop] = feats[f"auto_{prop}"]
        frames.append(feats)
        labels += [sex] * len(feats)
    feats = pd.concat(frames, ignore_index=True)
    bundle = load_bundle(world["bundle"])
    fitted = fit_classical("ridge_feat9", input_matrix("feat9", feats), np.array(labels), {"ridge_alpha": 1.0},
                           seed_key="f")
    bundle["members"]["classical"]["model"] = fitted
    bundle["members"]["classical"]["name"] = "ridge_feat9"
    save_bundle(tmp_path / "feat.pt", bundle)
    code, _, err = _run(capsys, world["wavs"]["M02"], "--model", tmp_path / "feat.pt", "--member", "classical",
                        "-o", tmp_path / "c.csv", "--summary", tmp_path / "s.json")
    assert code == 0, err
    calls = pd.read_csv(tmp_path / "c.csv")
    assert len(calls) > 10 and calls["p_M"].between(0, 1).all() and calls["p_M"].std() > 0
    assert json.loads((tmp_path / "s.json").read_text())["model"] == "ridge_feat9"


def _bad_inputs(world, tmp):
    low = tmp / "low.wav"
    sf.write(low, np.zeros(96_000, np.float32), 192_000, subtype="FLOAT")
    junk = tmp / "junk.pt"
    junk.write_text("not a bundle")
    nocols = tmp / "nocols.csv"
    nocols.write_text("start,end\n1,2\n")
    backwards = tmp / "backwards.csv"
    backwards.write_text("onset_s,offset_s\n1.0,2.0\n3.0,2.5\n")
    corrupt = tmp / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage")
    wav, bundle = world["wavs"]["M02"], world["bundle"]
    # bundles written by another usvflow: a newer bundle format, and a detector parameter this version lacks
    newer, odd = tmp / "newer.pt", tmp / "odd.pt"
    blob = load_pt(bundle)
    save_pt(newer, {**blob, "format_version": FORMAT_VERSION + 1, "usvflow_version": "9.0.0"})
    blob["input"]["detector"]["params"]["threshold_jitter_db"] = 1.0
    save_pt(odd, blob)
    return [
        ([corrupt, "--model", bundle], "corrupt.wav: "),
        ([wav, "--model", newer], f"newer.pt: bundle format {FORMAT_VERSION + 1} was written by a newer usvflow (9.0.0)"),
        ([wav, "--model", odd], "parameter(s) threshold_jitter_db that this usvflow"),
        ([low, "--model", bundle], "low.wav: sample rate 192000 Hz is below the 248000 Hz this sex bundle needs"),
        ([wav, "--model", tmp / "none.pt"], "none.pt: model bundle not found"),
        ([wav, "--model", junk], "junk.pt: not a usvflow model bundle"),
        ([wav, "--model", bundle, "--calls", nocols], "nocols.csv: call table needs columns onset_s and offset_s"),
        ([wav, "--model", bundle, "--calls", backwards], "backwards.csv: row 3: onset_s"),
        ([wav, "--model", bundle, "--level", "1.5"], "--level must lie between 0 and 1"),
        ([wav, "--model", bundle, "--channel", "2"], "channel 2 requested but the file has 1"),
        ([tmp / "missing.wav", "--model", bundle], "missing.wav: file not found"),
    ]


def test_bad_input_one_line_exit_2(world, capsys, tmp_path):
    for argv, expected in _bad_inputs(world, tmp_path):
        code, _, err = _run(capsys, *argv, "-o", tmp_path / "out.csv")
        lines = err.strip().splitlines()
        assert code == 2, (argv, err)
        assert len(lines) == 1 and lines[0].startswith("usvflow classify: ") and expected in lines[0], (expected, err)
    code, _, err = _run(capsys, world["wavs"]["M02"], "--model", world["bundle"], "-o", tmp_path)
    assert code == 2 and "is a folder" in err
