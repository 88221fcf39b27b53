"""Bad input in the detection blocks of config.yaml (detection, detection_selection): one line, before any work."""
from __future__ import annotations

import copy
import runpy
from types import SimpleNamespace

import pytest

from usvflow.config import validate_config
from usvflow.detect.selection import DETECTION_GRID, check_grid, loco_table
from usvflow.errors import InputError


def _validate(config, repo_root, change):
    cfg = copy.deepcopy(config)
    change(cfg)
    validate_config(cfg, repo_root / "schemas" / "config.schema.yaml")
    return cfg


def test_null_switches_a_detector_option_off(config, repo_root):
    # tonal_db, floor_regime_db, floor_window_s and short_call_db are switched off with null (None).
    cfg = _validate(config, repo_root, lambda c: c["detection"]["default"].update(tonal_db=None, short_call_db=None))
    assert cfg["detection"]["default"] == {"tonal_db": None, "short_call_db": None}


@pytest.mark.parametrize("change,expected", [
    (lambda c: c["detection"]["default"].update(short_call_db="strong"), "short_call_db"),
    (lambda c: c["detection_selection"]["grid"].update(short_call_db=[]), "short_call_db"),
    (lambda c: c["detection_selection"]["grid"].update(tonal_db=[2.0, "x"]), "tonal_db"),
    (lambda c: c["detection_selection"].update(grids={}), "grids"),
])
def test_bad_detection_config_is_one_line(config, repo_root, change, expected):
    with pytest.raises(InputError) as e:
        _validate(config, repo_root, change)
    msg = str(e.value)
    assert msg.startswith("config.yaml: ") and "\n" not in msg and expected in msg


@pytest.mark.parametrize("grid,expected", [
    ({}, "the grid is empty"),
    ({"threshold_dB": [8.0]}, "'threshold_dB' is not a setting of the default detector"),
    ({"short_call_db": []}, "short_call_db: no values to try"),
    ({"tonal_db": [2.0, "2"]}, "tonal_db: '2' is not a number"),
    ({"floor_regime_db": [3.0, 3.0]}, "floor_regime_db: a value is listed twice"),
    ({"chunk_s": [0.5]}, "overlap_s must be shorter than chunk_s"),
])
def test_bad_grid_is_refused(grid, expected):
    with pytest.raises(ValueError, match=expected):
        check_grid(grid)


def test_shipped_grid_passes_and_a_bad_one_stops_before_detection(tmp_path):
    check_grid(DETECTION_GRID)
    check_grid(DETECTION_GRID, {"tonal_db": None})
    # No clip is read: the folder does not even exist.
    with pytest.raises(ValueError, match="not a setting"):
        loco_table(tmp_path / "missing", {"short_call": [15.0]})


def test_workflow_script_names_config_and_setting(tmp_path, repo_root, capsys):
    log = tmp_path / "evaluate_detection.log"
    smk = SimpleNamespace(log=[str(log)], threads=1,
                          params=SimpleNamespace(loco_grid={"short_call": [15.0]}, detection={"default": {}},
                                                 methods=["default"], realdata_dir=str(tmp_path / "missing"),
                                                 recordings=[]))
    with pytest.raises(SystemExit) as e:
        runpy.run_path(str(repo_root / "scripts" / "evaluate_detection.py"), init_globals={"snakemake": smk})
    assert e.value.code == 1
    line = capsys.readouterr().err.strip()
    assert line == ("usvflow: config.yaml: detection_selection → grid: 'short_call' is not a setting of the default "
                    "detector (usvflow.detect.DEFAULT_PARAMS)")
    assert log.read_text().strip() == line
