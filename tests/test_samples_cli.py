"""`usvflow samples`: a sample sheet from a folder of recordings, accepted by the workflow; every bad input
gets one line naming the file and the problem."""
from __future__ import annotations

import subprocess

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, SNAKEMAKE, job_counts

from usvflow.audio.io import write_wav
from usvflow.cli import main
from usvflow.config import read_sample_sheet

SAMPLES_SCHEMA = ROOT / "schemas" / "samples.schema.yaml"
PATTERN = r"(?P<animal>(?P<sex>[FM])\d+)_day\d+"
NAMES = ["F03_day1", "F03_day2", "F05_day1", "M02_day1", "M04_day1", "M04_day2"]


def _wav(path, rate=250_000, seconds=0.05, channels=1, seed=0):
    """A short synthetic recording: noise with one 60 kHz tone burst."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate * seconds)) / rate
    x = 0.01 * rng.standard_normal(t.size) + 0.2 * np.sin(2 * np.pi * 60_000 * t) * (np.abs(t - seconds / 2) < 0.01)
    write_wav(path, np.column_stack([x] * channels) if channels > 1 else x, rate)
    return path


@pytest.fixture()
def folder(tmp_path):
    recs = tmp_path / "recordings"
    for i, name in enumerate(NAMES):
        _wav(recs / f"{name}.wav", seed=i)
    return recs


def _run(capsys, *argv):
    code = main(["samples", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def _one_line_error(capsys, *argv):
    code, out, err = _run(capsys, *argv)
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("usvflow samples: "), err
    return lines[0]


def test_sheet_from_file_names_is_accepted_by_the_workflow(folder, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = _run(capsys, folder.name, "--pattern", PATTERN, "--strain", "C57BL/6", "-o", "samples.tsv")
    assert code == 0 and "wrote 6 recordings of 4 animals (2 F, 2 M; cohort(s) sex)" in out
    sheet = read_sample_sheet(tmp_path / "samples.tsv", SAMPLES_SCHEMA)
    assert list(sheet.index) == NAMES
    assert sheet.loc["F03_day2", "animal"] == "F03" and sheet.loc["M04_day1", "sex"] == "M"
    assert set(sheet["strain"]) == {"C57BL/6"} and set(sheet["cohort"]) == {"sex"}
    assert sheet.loc["F05_day1", "path"] == "recordings/F05_day1.wav"  # as found, relative to here


def test_named_groups_give_recording_cohort_and_strain(folder, tmp_path, capsys):
    (folder / "sub").mkdir()
    _wav(folder / "sub" / "KO-M07-d3.WAV")
    out = tmp_path / "s.csv"
    pattern = r"(?P<strain>WT|KO)-(?P<recording>(?P<animal>(?P<sex>[FM])\d+)-d\d+)"
    code, _, err = _run(capsys, folder, "--pattern", pattern, "-o", out, "--recursive", "--skip-unmatched",
                        "--cohort", "strain", "--absolute")
    assert code == 0
    assert err.count("skipped") == len(NAMES)  # the F03_day1... names do not match this pattern
    assert out.read_text().startswith("recording,path,animal")  # .csv is written comma-separated
    sheet = read_sample_sheet(out, SAMPLES_SCHEMA)
    row = sheet.loc["M07-d3"]
    assert (row.animal, row.sex, row.strain, row.cohort) == ("M07", "M", "KO", "strain")
    assert row.path == str((folder / "sub" / "KO-M07-d3.WAV").resolve())


def test_malformed_name_is_reported_with_the_file_and_the_pattern(folder, tmp_path, capsys):
    _wav(folder / "F3-day1.wav")
    line = _one_line_error(capsys, folder, "--pattern", PATTERN, "-o", tmp_path / "s.tsv")
    assert line == f"usvflow samples: {folder / 'F3-day1.wav'}: file name does not match --pattern '{PATTERN}'"
    assert not (tmp_path / "s.tsv").exists()
    # --skip-unmatched lists it and writes the others
    code, out, err = _run(capsys, folder, "--pattern", PATTERN, "-o", tmp_path / "s.tsv", "--skip-unmatched")
    assert code == 0 and "skipped 1 file(s)" in out
    assert err.strip() == f"usvflow samples: skipped {folder / 'F3-day1.wav'}: file name does not match " \
                          f"--pattern '{PATTERN}'"
    assert len(pd.read_csv(tmp_path / "s.tsv", sep="\t")) == len(NAMES)


def test_metadata_table_by_animal_and_by_file(folder, tmp_path, capsys):
    meta = tmp_path / "animals.csv"
    meta.write_text("animal,sex,strain,weight_g\nF03,female,WT,21\nF05,F,WT,20\nM02,male,KO,25\nM04,M,KO,24\n")
    out = tmp_path / "s.tsv"
    code, _, _ = _run(capsys, folder, "--pattern", r"(?P<animal>[FM]\d+)_day\d+", "--metadata", meta, "-o", out)
    assert code == 0
    sheet = read_sample_sheet(out, SAMPLES_SCHEMA)
    assert sheet.groupby("animal")["sex"].first().to_dict() == {"F03": "F", "F05": "F", "M02": "M", "M04": "M"}
    assert sheet.loc["M04_day2", "strain"] == "KO"
    # keyed by file name, no pattern at all (tab-separated table, names with or without .wav)
    by_file = tmp_path / "files.tsv"
    by_file.write_text("file\tanimal\tsex\n" + "".join(
        f"{n}{'.wav' if i % 2 else ''}\tA{i // 2}\t{'F' if i < 3 else 'M'}\n" for i, n in enumerate(NAMES)))
    code, _, _ = _run(capsys, folder, "--metadata", by_file, "-o", out)
    assert code == 0
    sheet = read_sample_sheet(out, SAMPLES_SCHEMA)
    assert sheet["animal"].tolist() == ["A0", "A0", "A1", "A1", "A2", "A2"]
    assert sheet["sex"].tolist() == ["F", "F", "F", "M", "M", "M"]


#: Metadata tables of the bad-input cases (``meta:<kind>``).
METADATA = {
    "conflict": "animal,sex\nF03,M\nF05,F\nM02,M\nM04,M\n",
    "missing": "animal,strain\nF03,WT\nF05,WT\nM02,WT\n",
    "nokey": "mouse,strain\nF03,WT\n",
    "dupkey": "animal,strain\nF03,WT\nF03,KO\n",
    "blank": "",
    "norows": "animal,strain\n",
    "nocols": "animal,weight\nF03,20\n",
    "nopattern": "animal,sex\nF03,F\n",
}


@pytest.mark.parametrize("setup,argv,expected", [
    (None, ["--pattern", r"(?P<animal>[FM]\d+)_day\d+"],
     r"no source for 'sex': add a (?P<sex>...) group to --pattern '(?P<animal>[FM]\d+)_day\d+' or a column 'sex'"),
    (None, ["--pattern", r"(?P<animal>(?P<sex>[FM])\d+)_(?P<day>day\d+)"], "group(s) day are not sheet columns"),
    (None, ["--pattern", "(?P<animal>[FM"], "is not a regular expression"),
    (None, [], "give --pattern (a regular expression on the file names), --metadata (a table), or both"),
    ("F03_day1.wav:empty", ["--pattern", PATTERN], "F03_day1.wav: file is empty"),
    ("F03_day1.wav:lowrate", ["--pattern", PATTERN], "F03_day1.wav: sample rate 44100 Hz is too low"),
    ("F03_day1.wav:stereo", ["--pattern", PATTERN, "--config", "{cfg}"],
     "F03_day1.wav: channel 3 requested but the file has 2 channel(s)"),
    ("F03 day3.wav:ok", ["--pattern", r"(?P<animal>(?P<sex>[FM])\d+) day\d+", "--skip-unmatched"],
     "F03 day3.wav: column recording: 'F03 day3' does not match"),
    ("M02_day1.wav:dup", ["--pattern", r"(?P<animal>(?P<sex>[FM])\d+)_day\d+", "-r"],
     "recording id 'M02_day1' is also that of"),
    ("X01_day1.wav:ok", ["--pattern", r"(?P<animal>(?P<sex>[A-Z])\d+)_day\d+"], "X01_day1.wav: sex 'X' is not F or M"),
    ("meta:conflict", ["--pattern", PATTERN, "--metadata", "{meta}"],
     "F03_day1.wav: sex is 'F' in the file name but 'M' in the metadata table"),
    ("meta:missing", ["--pattern", PATTERN, "--metadata", "{meta}"],
     "M04_day1.wav: animal 'M04' is not in the metadata table"),
    ("meta:nokey", ["--pattern", PATTERN, "--metadata", "{meta}"], "metadata table needs a 'file' or an 'animal' column"),
    ("meta:dupkey", ["--pattern", PATTERN, "--metadata", "{meta}"], "animal 'F03' appears more than once"),
    ("meta:blank", ["--pattern", PATTERN, "--metadata", "{meta}"], "meta.csv: metadata table is empty"),
    ("meta:norows", ["--pattern", PATTERN, "--metadata", "{meta}"], "meta.csv: metadata table has no rows"),
    ("meta:nocols", ["--pattern", PATTERN, "--metadata", "{meta}"], "gives none of the columns"),
    (None, ["--pattern", PATTERN, "--metadata", "nowhere.csv"], "nowhere.csv: metadata table not found"),
    ("meta:nopattern", ["--metadata", "{meta}"], "the table is keyed by animal, so --pattern needs"),
])
def test_bad_input_is_one_line(folder, tmp_path, capsys, setup, argv, expected):
    meta = tmp_path / "meta.csv"
    cfg = tmp_path / "config.yaml"
    cfg.write_text((ROOT / "config.yaml").read_text() + "\nchannel: 3\n")
    if setup:
        name, kind = setup.split(":")
        target = folder / name
        if name == "meta":
            meta.write_text(METADATA[kind])
        elif kind == "empty":
            target.write_bytes(b"")
        elif kind == "dup":
            _wav(folder / "again" / name)
        else:
            _wav(target, **{"lowrate": {"rate": 44_100}, "stereo": {"channels": 2}, "ok": {}}[kind])
    argv = [a.format(meta=meta, cfg=cfg) for a in argv]
    line = _one_line_error(capsys, folder, *argv, "-o", tmp_path / "s.tsv")
    assert expected in line, line
    assert not (tmp_path / "s.tsv").exists()


def test_empty_or_missing_folder(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert "no .wav files in this folder" in _one_line_error(capsys, tmp_path / "empty", "--pattern", PATTERN)
    assert "folder not found" in _one_line_error(capsys, tmp_path / "nowhere", "--pattern", PATTERN)


def test_nothing_matched_with_skip_unmatched(folder, capsys):
    line = _one_line_error(capsys, folder, "--pattern", r"(?P<animal>x)(?P<sex>F)", "--skip-unmatched")
    assert line == f"usvflow samples: {folder}: no recording matched --pattern '(?P<animal>x)(?P<sex>F)'"


def test_config_min_sample_rate_is_the_workflows(folder, tmp_path, capsys):
    """The WAVs are checked against the configured minimum rate: 250 kHz fails a 300 kHz minimum."""
    cfg = tmp_path / "config.yaml"
    cfg.write_text((ROOT / "config.yaml").read_text() + "\nmin_sample_rate_hz: 300000\n")
    line = _one_line_error(capsys, folder, "--pattern", PATTERN, "--config", cfg, "-o", tmp_path / "s.tsv")
    assert "sample rate 250000 Hz is too low" in line and "need at least 300000 Hz" in line


def test_workflow_plans_the_written_sheet(clone, capsys, monkeypatch):
    """The done-when: WAVs named like F03_day1.wav → `usvflow samples` → `snakemake -n --config samples=...`."""
    recs = clone / "lab_recordings"
    for i, name in enumerate(NAMES):
        _wav(recs / f"{name}.wav", seed=i)
    monkeypatch.chdir(clone)
    for out in ("lab_samples.tsv", "lab_samples.csv"):
        code, _, _ = _run(capsys, "lab_recordings", "--pattern", PATTERN, "--strain", "WT", "-o", out)
        assert code == 0
        proc = subprocess.run(SNAKEMAKE + ["-n", "--cores", "2", "--config", f"samples={out}"], cwd=clone,
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        jobs = job_counts(proc.stdout)
        assert jobs["extract_calls"] == len(NAMES) and "simulate_recording" not in jobs
        # leave-one-animal-out over the sheet's 4 animals: one sex CNN job per held-out animal
        sex_loao = [b for b in proc.stdout.split("\nrule train_cnn:")[1:] if "task=sex, split=loao" in b.split("\n\n")[0]]
        assert len(sex_loao) == 4
