"""The Fig 3 claims check on constructed stats files: each verdict follows the numbers."""
from __future__ import annotations

import json

from usvflow.report.claims import check_sex_claims, main


def _stats(tmp_path, cnn, ridge, svm, shuffled, p):
    def s(v):
        return {"n": 12, "mean": v}

    values = {"sex_loao_cnn": s(cnn), "sex_loao_ridge": s(ridge), "sex_loao_svm": s(svm),
              "sex_loao_cnn_shuffled": s(shuffled), "sex_loao_ridge_shuffled": s(0.5),
              "sex_loao_svm_shuffled": s(0.49), "p_cnn_above_chance": p}
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
                        "cnn shuffled at chance": False, "ridge shuffled at chance": True,
                        "svm shuffled at chance": True}
    assert main([str(tmp_path / "fig3.json")]) == 1
    assert main([str(tmp_path / "missing.json")]) == 2
    assert "not found" in capsys.readouterr().err
