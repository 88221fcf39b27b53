"""``usvflow detect``: outputs, formats and one-line answers to bad input."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from usvflow.detect import CALL_COLUMNS
from usvflow.detect.export import RAVEN_COLUMNS
from usvflow.detect_cli import main

FS = 250_000


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    return code, err


def test_clip_with_every_output(tmp_path, capsys, realdata):
    out = tmp_path / "out"
    code, err = _run(capsys, realdata / "clip1" / "recording.wav", "-o", out / "calls.csv",
                     "--raven", out / "sel.txt", "--spectrograms", out / "calls.npz", "--overview", out / "ov.png")
    assert code == 0, err
    calls = pd.read_csv(out / "calls.csv")
    assert list(calls.columns) == CALL_COLUMNS and len(calls) > 5
    # the calls are clip1's: nearly every detection overlaps a human-annotated call
    truth = pd.read_csv(realdata / "clip1" / "truth.csv", header=None, names=["onset_s", "offset_s"])
    hits = [((truth.onset_s < b) & (truth.offset_s > a)).any() for a, b in zip(calls.onset_s, calls.offset_s)]
    assert np.mean(hits) >= 0.9, f"{np.mean(hits):.2f} of detections overlap an annotated call"
    raven = pd.read_csv(out / "sel.txt", sep="\t")
    assert list(raven.columns) == RAVEN_COLUMNS and len(raven) == len(calls)
    assert np.allclose(raven["Begin Time (s)"], calls.onset_s, atol=1e-6)
    assert np.allclose(raven["End Time (s)"], calls.offset_s, atol=1e-6)
    with np.load(out / "calls.npz") as z:
        assert z["spectrograms"].shape == (len(calls), 100, 100)
        assert z["freq_hz"].shape == (100,)
        assert np.allclose(z["onset_s"], calls.onset_s) and (z["spectrograms"].max(axis=(1, 2)) > 0).all()
        # How the images were scaled travels with them (defaults: call-referenced, sparse above 10 dB).
        assert str(z["level_reference"]) == "call" and float(z["floor_margin_db"]) == 10.0
    from matplotlib.image import imread

    overview = imread(out / "ov.png")
    assert min(overview.shape[:2]) >= 200 and overview[..., :3].std() > 0.05  # a picture, not a blank page


@pytest.mark.parametrize("method", ["default", "paper"])
def test_silent_recording_gives_header_only_csv(tmp_path, capsys, method):
    wav = tmp_path / "silent.wav"
    sf.write(wav, np.zeros(FS, np.int16), FS, subtype="PCM_16")
    code, err = _run(capsys, wav, "-o", tmp_path / "c.csv", "--method", method)
    assert code == 0, err
    assert (tmp_path / "c.csv").read_text().strip() == ",".join(CALL_COLUMNS)


@pytest.mark.parametrize("channel", ["1", "mean"])
def test_stereo_float_file(tmp_path, capsys, channel):
    tau = np.arange(FS) / FS - 0.4  # a 60 -> 75 kHz sweep from 0.4 to 0.45 s, on digital silence
    call = (0.05 * np.sin(2 * np.pi * (60e3 * tau + 150e3 * tau**2)) * ((tau > 0) & (tau < 0.05))).astype(np.float32)
    x = np.stack([np.zeros(FS, np.float32), call], axis=1)
    wav = tmp_path / "stereo.wav"
    sf.write(wav, x, FS, subtype="FLOAT")
    code, err = _run(capsys, wav, "-o", tmp_path / "c.csv", "--channel", channel)
    assert code == 0, err
    assert len(pd.read_csv(tmp_path / "c.csv")) == 1


def _bad_inputs(tmp: Path) -> dict[str, tuple[Path, str, list[str]]]:
    good = tmp / "good.wav"
    sf.write(good, np.zeros(FS // 2, np.int16), FS, subtype="PCM_16")
    trunc = tmp / "truncated.wav"
    trunc.write_bytes(good.read_bytes()[: 20000])
    ulaw, alaw, low = tmp / "ulaw.wav", tmp / "alaw.wav", tmp / "low.wav"
    sf.write(ulaw, np.zeros(FS // 2), FS, subtype="ULAW")
    sf.write(alaw, np.zeros(FS // 2), FS, subtype="ALAW")
    sf.write(low, np.zeros(48_000), 48_000, subtype="PCM_16")
    text = tmp / "notes.wav"
    text.write_text("not audio at all\n")
    return {
        "missing": (tmp / "nope.wav", "not found", []),
        "truncated": (trunc, "truncated", []),
        "mu-law": (ulaw, "unsupported encoding", []),
        "a-law": (alaw, "unsupported encoding", []),
        "low rate": (low, "too low", []),
        "not audio": (text, "not a readable audio file", []),
        "bad channel": (good, "channel 3", ["--channel", "3"]),
        "bad channel name": (good, "channel must be", ["--channel", "left"]),
    }


@pytest.mark.parametrize("case", ["missing", "truncated", "mu-law", "a-law", "low rate", "not audio",
                                  "bad channel", "bad channel name"])
def test_bad_input_one_line(tmp_path, capsys, case):
    path, problem, extra = _bad_inputs(tmp_path)[case]
    code, err = _run(capsys, path, "-o", tmp_path / "c.csv", *extra)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"usvflow detect: {path}:") and problem in lines[0]
    assert not (tmp_path / "c.csv").exists()


def test_no_traceback_from_a_real_process(tmp_path):
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    proc = subprocess.run([sys.executable, "-m", "usvflow.detect_cli", str(tmp_path / "nope.wav"), "-o",
                           str(tmp_path / "c.csv")], capture_output=True, text=True, env=env)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"usvflow detect: {tmp_path / 'nope.wav'}: file not found"
