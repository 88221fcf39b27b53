"""The Fig 3 claims check on constructed stats files: each verdict follows the numbers."""
from __future__ import annotations

import json

from usvflow.report.claims import check_sex_claims, main


def _stats(tmp_path, cnn, ridge, svm, shuffled, p, p_pair=0.004):
    def s(v):
        return {"n": 12, "mean": v}

    values = {"sex_loao_cnn": s(cnn), "sex_loao_ridge": s(ridge), "sex_loao_svm": s(svm),
              "sex_loao_cnn_shuffled": s(shuffled), "sex_loao_ridge_shuffled": s(0.5),
              "sex_loao_svm_shuffled": s(0.49), "p_cnn_above_chance": p,
              "cnn_vs_ridge": {"p": p_pair, "n": 12, "median_difference": cnn - ridge},
              "cnn_vs_svm": {"p": p_pair, "n": 12, "median_difference": cnn - svm}}
    path = tmp_path / "fig3.json"
    path.write_text(json.dumps({"figure": "fig3", "values": values, "rows": []}))
    return path


def test_claims_hold_when_the_numbers_do(tmp_path, capsys):
    path = _stats(tmp_path, 0.62, 0.55, 0.57, 0.51, 0.004)
    assert all(c.holds for c in check_sex_claims(path))
    assert main([str(path)]) == 0
    assert capsys.readouterr().out.count("holds") == 5


def test_each_claim_can_fail(tmp_path, capsys):
    verdicts = {c.name: c.holds for c in check_sex_claims(_stats(tmp_path, 0.56, 0.55, 0.58, 0.58, 0.09))}
    assert verdicts == {"CNN above chance across held-out animals": False,
                        "CNN above ridge and SVM on spectrograms": False,
                        "CNN shuffled at chance": False, "ridge shuffled at chance": True,
                        "SVM shuffled at chance": True}
    assert main([str(tmp_path / "fig3.json")]) == 1
    assert main([str(tmp_path / "missing.json")]) == 2
    assert "not found" in capsys.readouterr().err


def test_beating_the_baselines_needs_a_significant_paired_difference(tmp_path):
    """Higher means are not enough: the paper's claim is a paired test over held-out animals."""
    verdicts = {c.name: c for c in check_sex_claims(_stats(tmp_path, 0.62, 0.55, 0.57, 0.51, 0.004, p_pair=0.2))}
    assert not verdicts["CNN above ridge and SVM on spectrograms"].holds
    assert "p = 0.2" in verdicts["CNN above ridge and SVM on spectrograms"].detail
    # A shuffled control 6 points off chance fails the claim's own 5-point tolerance.
    verdicts = {c.name: c.holds for c in check_sex_claims(_stats(tmp_path, 0.62, 0.55, 0.57, 0.44, 0.004))}
    assert not verdicts["CNN shuffled at chance"]
