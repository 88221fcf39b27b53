"""Interval matching and the detection benchmark's scores."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from usvflow.detect.evaluate import category_scores, match, read_intervals, score, score_files
from usvflow.errors import InputError


def test_perfect_and_empty():
    t = np.array([[0.1, 0.2], [0.5, 0.6]])
    s = score(t, t)
    assert (s.tp, s.precision, s.recall, s.f1) == (2, 1.0, 1.0, 1.0)
    assert score(t, np.zeros((0, 2))).f1 == 0.0
    assert score(np.zeros((0, 2)), t).f1 == 0.0
    assert np.isnan(score(np.zeros((0, 2)), np.zeros((0, 2))).f1)


def test_iou_threshold_and_any_overlap():
    t = np.array([[0.0, 0.10]])
    d = np.array([[0.08, 0.20]])  # IoU 0.02 / 0.20 = 0.1
    assert score(t, d, 0.3).tp == 0
    assert score(t, d, 0.0).tp == 1
    assert score(t, np.array([[0.10, 0.2]]), 0.0).tp == 0  # touching is not overlapping


def test_matching_is_one_to_one_and_maximal():
    truth = np.array([[0.0, 0.1], [0.15, 0.25]])
    merged = np.array([[0.0, 0.25]])  # one detection spanning both calls
    assert score(truth, merged, 0.0).tp == 1
    # A greedy matcher would pair d0 with t0 (higher IoU) and leave t1 unmatched.
    truth = np.array([[0.0, 0.10], [0.08, 0.2]])
    det = np.array([[0.0, 0.11], [0.09, 0.19]])
    pairs = match(truth, det, 0.3)
    assert len(pairs) == 2 and all(i == j for i, j, _ in pairs)


def test_peer_scores_on_real_clips_match_their_readme(realdata):
    """The amvoc-dev README's pooled F1 of the published tools (IoU >= 0.3) is reproduced."""
    readme = (realdata / "README.md").read_text()
    for tool, name in [("usvseg", "USVSEG"), ("deepsqueak", "DeepSqueak"), ("mupet", "MUPET")]:
        total = None
        for clip in sorted(realdata.glob("clip*")):
            s = score_files(clip / "truth.csv", clip / "peers" / f"{tool}.csv")["iou0.3"]
            total = s if total is None else total + s
        assert re.search(rf"{name}(?: F1)? {total.f1:.3f}", readme), (name, total.f1)


def test_read_intervals_formats(tmp_path):
    (tmp_path / "a.csv").write_text("0.1,0.2\n0.3,0.4\n")
    (tmp_path / "b.csv").write_text("onset_s,offset_s,score\n0.1,0.2,3\n")
    (tmp_path / "c.txt").write_text("Selection\tBegin Time (s)\tEnd Time (s)\n1\t0.1\t0.2\n")
    (tmp_path / "empty.csv").write_text("")
    assert read_intervals(tmp_path / "a.csv").shape == (2, 2)
    assert read_intervals(tmp_path / "b.csv").tolist() == [[0.1, 0.2]]
    assert read_intervals(tmp_path / "c.txt").tolist() == [[0.1, 0.2]]
    assert read_intervals(tmp_path / "empty.csv").shape == (0, 2)
    (tmp_path / "bad.csv").write_text("0.3,0.1\n")
    with pytest.raises(InputError, match="offsets before onsets"):
        read_intervals(tmp_path / "bad.csv")
    with pytest.raises(InputError, match="not found"):
        read_intervals(tmp_path / "missing.csv")


def test_category_scores_charge_false_positives():
    truth = pd.DataFrame({"onset_s": [0.0, 1.0], "offset_s": [0.1, 1.1], "call_type": ["flat", "short"]})
    det = np.array([[0.0, 0.1], [1.2, 1.3], [1.05, 1.4]])  # flat hit; one stray; one poor overlap of short
    s = category_scores(truth, det, "call_type")
    assert (s["flat"].tp, s["flat"].n_detected) == (1, 1)
    assert (s["short"].tp, s["short"].n_true, s["short"].n_detected) == (0, 1, 1)
    assert s["no call"].n_detected == 1 and s["no call"].n_true == 0
