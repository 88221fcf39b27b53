"""The usvflow command without Snakemake."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import scipy.signal as sps
import soundfile as sf
import yaml

from usvflow.cli import main
from usvflow.simulate.recording import load_truth


def _tiny_config(tmp_path, repo_root):
    cfg = yaml.safe_load((repo_root / "config.yaml").read_text())
    cfg["simulation"]["presets"]["tiny"] = {"sex": {"females": 1, "males": 1, "minutes": 0.05}}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    (tmp_path / "schemas").symlink_to(repo_root / "schemas")
    return path


def test_simulate_writes_a_cohort(tmp_path, repo_root, capsys):
    cfg = _tiny_config(tmp_path, repo_root)
    out = tmp_path / "cohort"
    assert main(["simulate", "--config", str(cfg), "--preset", "tiny", "-o", str(out), "-j", "1"]) == 0
    sheet = pd.read_csv(out / "samples.tsv", sep="\t")
    assert list(sheet.recording) == ["sex_F01", "sex_M01"]
    sim = yaml.safe_load(cfg.read_text())["simulation"]
    fs, seconds = int(sim["sample_rate_hz"]), 0.05 * 60
    for r in sheet.recording:
        audio, rate = sf.read(out / "wav" / f"{r}.wav")
        assert rate == fs and len(audio) == round(seconds * fs)
        calls, _, _ = load_truth(out / "truth", r)
        assert len(calls) > 0 and (calls.offset_s <= seconds).all()
        # the truth's calls are in the audio: in the band of each call's pitch, louder inside the calls than in
        # the gaps between them (the floor and noise events fill the gaps)
        f, t, S = sps.spectrogram(audio, fs, nperseg=512, noverlap=256)
        inside = np.zeros(len(t), bool)
        for a, b in zip(calls.onset_s, calls.offset_s):
            inside |= (t >= a) & (t <= b)
        band = (f >= calls.f_min_hz.min()) & (f <= calls.f_max_hz.max())
        power = S[band].mean(axis=0)
        assert np.median(power[inside]) > 4 * np.median(power[~inside]), r
    assert f"simulated {len(sheet)} recordings" in capsys.readouterr().out


def test_simulate_bad_preset_is_one_line(tmp_path, repo_root):
    cfg = _tiny_config(tmp_path, repo_root)
    proc = subprocess.run([sys.executable, "-m", "usvflow.cli", "simulate", "--config", str(cfg), "--preset", "nope"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "usvflow simulate: config.yaml: preset 'nope' is not defined; choose one of default, paper, test, tiny"
    ]


def test_detect_features_match_the_workflow(tmp_path, realdata):
    """`usvflow detect --features` keeps the detector's columns and adds the features stage's values."""
    from usvflow.features.extract import compute_features

    wav = realdata / "clip1" / "recording.wav"
    plain, with_features = tmp_path / "calls.csv", tmp_path / "calls_features.csv"
    assert main(["detect", str(wav), "-o", str(plain), "--no-progress"]) == 0
    assert main(["detect", str(wav), "-o", str(with_features), "--features", "--no-progress"]) == 0
    calls, feats = pd.read_csv(plain), pd.read_csv(with_features)
    assert len(calls) > 10 and len(feats) == len(calls)
    pd.testing.assert_frame_equal(feats[calls.columns], calls)  # f_mean_hz and friends kept
    workflow, _ = compute_features(calls, wav)
    for col in ["duration_s", "mean_frequency_hz", "spectral_width_hz", "auto_direction"]:
        assert np.allclose(feats[col].to_numpy(float), workflow[col].to_numpy(float), rtol=1e-5, equal_nan=True), col
