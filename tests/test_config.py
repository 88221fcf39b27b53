"""Configuration and sample-sheet validation: each bad input gets one line a biologist can act on."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import soundfile as sf

from usvflow.config import load_config, read_sample_sheet, validate_config
from usvflow.errors import InputError

HEADER = "recording\tpath\tanimal\tsex\tstrain\tcohort\n"


@pytest.fixture()
def schemas(repo_root):
    return repo_root / "schemas"


@pytest.fixture()
def wavs(tmp_path):
    paths = []
    for i in range(2):
        p = tmp_path / f"rec{i}.wav"
        sf.write(p, np.zeros(2500, dtype=np.float32), 250_000)
        paths.append(p)
    return paths


def _sheet(tmp_path, text):
    p = tmp_path / "samples.tsv"
    p.write_text(text)
    return p


def test_shipped_config_is_valid(repo_root, schemas):
    cfg = load_config(repo_root / "config.yaml", schemas / "config.schema.yaml")
    assert cfg["preset"] == "default"
    assert load_config(repo_root / "config.yaml", schemas / "config.schema.yaml", {"preset": "paper"})["preset"] == "paper"


@pytest.mark.parametrize("change,expected", [
    (lambda c: c.update(preset="huge"), "preset 'huge' is not defined; choose one of default, paper, test"),
    (lambda c: c.update(channel="left"), "channel: 'left' is not a channel"),
    (lambda c: c["simulation"]["presets"]["default"]["sex"].update(females=-1), "simulation → presets → default → sex → females"),
    (lambda c: c["simulation"].pop("seed"), "missing required entry 'seed'"),
    (lambda c: c["simulation"].update(sample_rate_hz=44100), "44100 is less than the minimum"),
])
def test_bad_config_one_line(config, schemas, change, expected):
    bad = copy.deepcopy(config)
    change(bad)
    with pytest.raises(InputError) as e:
        validate_config(bad, schemas / "config.schema.yaml")
    msg = str(e.value)
    assert msg.startswith("config.yaml: ") and "\n" not in msg and expected in msg


def test_good_sheet(tmp_path, schemas, wavs):
    p = _sheet(tmp_path, HEADER + f"a\t{wavs[0]}\tA1\tF\t\tsex\nb\t{wavs[1]}\tA2\tM\tWT\tsex\n")
    sheet = read_sample_sheet(p, schemas / "samples.schema.yaml")
    assert list(sheet.index) == ["a", "b"] and sheet.loc["a", "strain"] == "" and "annotations" in sheet


@pytest.mark.parametrize("body,expected", [
    ("recording\tpath\tanimal\tsex\n", "missing column(s) strain, cohort"),
    (HEADER, "sample sheet has no recordings"),
    (HEADER + "a\t{w0}\tA1\tF\tWT\tsex\na\t{w1}\tA2\tM\tWT\tsex\n", "duplicate recording id(s): a"),
    (HEADER + "a\t/nowhere/x.wav\tA1\tF\tWT\tsex\n", "line 2 (recording 'a'): WAV file not found: /nowhere/x.wav"),
    (HEADER + "a\t{w0}\tA1\tfemale\tWT\tsex\n", "column sex: 'female' is not allowed; use one of 'F', 'M', empty"),
    (HEADER + "a b\t{w0}\tA1\tF\tWT\tsex\n", "column recording"),
    (HEADER + "a\t{w0}\t\tF\tWT\tsex\n", "column animal"),
])
def test_bad_sheet_one_line(tmp_path, schemas, wavs, body, expected):
    p = _sheet(tmp_path, body.format(w0=wavs[0], w1=wavs[1]))
    with pytest.raises(InputError) as e:
        read_sample_sheet(p, schemas / "samples.schema.yaml")
    msg = str(e.value)
    assert msg.startswith(str(p)) and "\n" not in msg and expected in msg


def test_missing_sheet(tmp_path, schemas):
    with pytest.raises(InputError, match="sample sheet not found"):
        read_sample_sheet(tmp_path / "none.tsv", schemas / "samples.schema.yaml")


def test_schema_defaults_fill_omitted_blocks(config, schemas):
    """Defaults live in the schema: a config without `embed:`, `network:` or `classical:` gets the documented
    values (those of the shipped config.yaml), not a KeyError later."""
    trimmed = copy.deepcopy(config)
    for key in ("embed", "network", "classical", "channel", "realdata_dir", "dataset", "detection"):
        del trimmed[key]
    validate_config(trimmed, schemas / "config.schema.yaml")
    for key in ("embed", "network", "classical", "channel", "realdata_dir", "dataset"):
        assert trimmed[key] == config[key], key
    assert trimmed["detection"] == {"default": {}, "paper": {}, "image_format": {"paper": "paper"}}
    assert trimmed["detection"] == config["detection"]


def test_partial_block_keeps_given_values_and_fills_the_rest(config, schemas):
    cfg = copy.deepcopy(config)
    cfg["embed"] = {"perplexity": 12}
    validate_config(cfg, schemas / "config.schema.yaml")
    assert cfg["embed"] == {**config["embed"], "perplexity": 12}


def test_missing_required_block_is_one_line(config, schemas):
    cfg = copy.deepcopy(config)
    del cfg["train"]
    with pytest.raises(InputError, match=r"config.yaml: \(top level\): missing required entry 'train'"):
        validate_config(cfg, schemas / "config.schema.yaml")


# A spreadsheet's "Save as CSV": the sheet is read with the delimiter its header line uses.
@pytest.mark.parametrize("sep,prefix", [("\t", ""), (",", ""), (";", ""), (",", "\ufeff")])
def test_sheet_delimiter_is_detected(tmp_path, schemas, wavs, sep, prefix):
    rows = [["recording", "path", "animal", "sex", "strain", "cohort"],
            ["a", str(wavs[0]), "A1", "F", "", "sex"], ["b", str(wavs[1]), "A2", "M", "C57BL/6", "sex"]]
    p = tmp_path / "samples.csv"
    p.write_text(prefix + "".join(sep.join(r) + "\n" for r in rows), encoding="utf-8")
    sheet = read_sample_sheet(p, schemas / "samples.schema.yaml")
    assert list(sheet.index) == ["a", "b"] and sheet.loc["b", "strain"] == "C57BL/6"
    assert sheet.loc["a", "path"] == str(wavs[0]) and sheet.loc["a", "strain"] == ""


def test_quoted_csv_with_spaces_after_commas(tmp_path, schemas, wavs):
    p = tmp_path / "samples.csv"
    p.write_text('"recording","path","animal","sex","strain","cohort"\n'
                 f'a, {wavs[0]}, A1, F, "wild type, C57BL/6", sex\n')
    sheet = read_sample_sheet(p, schemas / "samples.schema.yaml")
    assert sheet.loc["a", "sex"] == "F" and sheet.loc["a", "strain"] == "wild type, C57BL/6"


@pytest.mark.parametrize("body,expected", [
    ("recording,path,animal,sex\n", "missing column(s) strain, cohort (found: recording, path, animal, sex; "
                                    "read as comma-separated)"),
    ("recording\tpath\tanimal\n", "read as tab-separated"),
    ("", "sample sheet is empty"),
    ("recording,path,animal,sex,strain,cohort\na,{w0},A1,F,WT,sex,extra,cells\n", "not a readable comma-separated table (line 2 has 8 cells, the header 6)"),
])
def test_bad_csv_sheet_one_line(tmp_path, schemas, wavs, body, expected):
    p = _sheet(tmp_path, body.format(w0=wavs[0]))
    with pytest.raises(InputError) as e:
        read_sample_sheet(p, schemas / "samples.schema.yaml")
    msg = str(e.value)
    assert msg.startswith(str(p)) and "\n" not in msg and expected in msg


def test_binary_file_as_sheet_is_one_line(tmp_path, schemas, wavs):
    p = tmp_path / "samples.tsv"
    p.write_bytes(b"\xff\xfe\x00\x01" * 20)
    with pytest.raises(InputError, match="not a text table"):
        read_sample_sheet(p, schemas / "samples.schema.yaml")


def test_detector_switches_take_booleans(config, schemas):
    # bridge_near is a switch: false turns the near-band bridging off, as the library's params allow.
    cfg = copy.deepcopy(config)
    cfg.setdefault("detection", {}).setdefault("default", {})["bridge_near"] = False
    validate_config(cfg, schemas / "config.schema.yaml")
    cfg["detection"]["default"]["bridge_near"] = "no"
    with pytest.raises(InputError, match="bridge_near"):
        validate_config(cfg, schemas / "config.schema.yaml")
