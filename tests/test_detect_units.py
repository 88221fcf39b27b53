"""Detection helpers no other test runs: in-memory detection, the call-image file read back, the score
tables of the detection benchmark (hand-made intervals and a tiny simulated cohort), and the per-cohort call
table whose rows must stay aligned with its images."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from usvflow.audio.io import read_wav
from usvflow.detect import detect_file
from usvflow.detect.evaluate import CRITERIA, score_table, simulated_table
from usvflow.detect.export import load_spectrograms, save_spectrograms
from usvflow.detect.stream import detect_array


@pytest.fixture(scope="module")
def clip(realdata, tmp_path_factory):
    """The first 3 s of real clip 1, as a WAV of its own."""
    import soundfile as sf

    x, fs = read_wav(realdata / "clip1" / "recording.wav")
    x = x[:3 * fs]
    path = tmp_path_factory.mktemp("clip") / "clip1_3s.wav"
    sf.write(path, x, fs, subtype="FLOAT")
    return x, fs, path, detect_file(path)


def test_detect_array_equals_detect_file(clip):
    x, fs, _, det = clip
    assert len(det) > 0
    mem = detect_array(x, fs)
    pd.testing.assert_frame_equal(mem.calls, det.calls)
    assert np.array_equal(mem.spectrograms, det.spectrograms) and mem.sample_rate == fs


def test_call_images_read_back_row_by_row(clip, tmp_path):
    _, fs, _, det = clip
    save_spectrograms(tmp_path / "c.npz", det)
    z = load_spectrograms(tmp_path / "c.npz")
    assert np.array_equal(z["spectrograms"], det.spectrograms) and z["spectrograms"].dtype == np.uint8
    assert np.array_equal(z["onset_s"], det.calls["onset_s"]) and np.array_equal(z["offset_s"], det.calls["offset_s"])
    assert int(z["sample_rate"]) == fs and str(z["method"]) == det.method
    assert z["time_s"].shape == z["freq_hz"].shape == (100,) and np.all(np.diff(z["freq_hz"]) > 0)


def test_score_table_scores_each_comparison_and_pools_counts(tmp_path):
    truth = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    path = tmp_path / "truth.csv"
    pd.DataFrame(truth).to_csv(path, header=False, index=False)  # the dev clips' headerless format
    rows = [
        {"dataset": "d", "clip": "a", "tool": "t", "truth": truth, "detected": np.array([[0.0, 1.0], [2.2, 3.0]])},
        {"dataset": "d", "clip": "b", "tool": "t", "truth": path, "detected": np.array([[4.0, 4.4], [7.0, 8.0]])},
    ]
    table = score_table(rows).set_index(["clip", "criterion"])
    assert set(table.index.get_level_values("criterion")) == set(CRITERIA)
    # clip a: both detections match at IoU 1 and 0.8; clip b: IoU 0.4 matches at 0.3 and any overlap, not 0.5
    assert table.loc[("a", "iou0.5"), "tp"] == 2 and table.loc[("a", "iou0.5"), "recall"] == pytest.approx(2 / 3)
    assert table.loc[("b", "iou0.3"), "tp"] == 1 and table.loc[("b", "iou0.5"), "tp"] == 0
    for crit in CRITERIA:
        pooled = table.loc[("pooled", crit)]
        per_clip = table.loc[(["a", "b"], crit), ["n_true", "n_detected", "tp"]].sum()
        assert (pooled[["n_true", "n_detected", "tp"]] == per_clip).all()
        assert pooled["f1"] == pytest.approx(2 * per_clip["tp"] / (per_clip["n_true"] + per_clip["n_detected"]))


def test_simulated_table_against_the_truth(tiny_cohort, tmp_path):
    truth_dir = tiny_cohort["truth_dir"]
    recs = list(tiny_cohort["samples"].index)
    n_true, kept = 0, 0
    for method, keep in (("perfect", 1), ("half", 2)):
        (tmp_path / method).mkdir()
        for rec in recs:
            calls = pd.read_csv(truth_dir / f"{rec}.calls.csv")
            calls.iloc[::keep][["onset_s", "offset_s"]].to_csv(tmp_path / method / f"{rec}.calls.csv", index=False)
            if method == "half":
                n_true, kept = n_true + len(calls), kept + len(calls.iloc[::keep])
    table = simulated_table(recs, truth_dir, tmp_path, ["perfect", "half"])
    pooled = table[table.subset == "pooled"].set_index(["tool", "criterion"])
    assert (pooled.loc["usvflow-perfect", ["precision", "recall", "f1"]] == 1).all().all()
    half = pooled.loc["usvflow-half"]
    assert (half["n_true"] == n_true).all() and (half["tp"] == kept).all() and (half["precision"] == 1).all()
    # per call type: every true call counted once, under its own type
    types = table[(table.tool == "usvflow-perfect") & table.subset.str.startswith("type:")
                  & (table.criterion == "iou0.3")]
    assert types["n_true"].sum() == n_true and (types["recall"].dropna() == 1).all()


def test_cohort_table_and_images_stay_row_aligned(tmp_path):
    """build_cohort concatenates recordings' detections and images in the same order, labels every row with
    its recording's animal, and refuses a recording whose images and calls differ in number."""
    from usvflow.errors import InputError
    from usvflow.features.dataset import build_cohort, load_cohort

    samples = pd.DataFrame({"animal": ["A", "B"], "sex": ["F", "M"], "strain": ["WT", "WT"],
                            "cohort": ["sex", "sex"], "annotations": ["", ""]}, index=["r1", "r2"])
    calls, images = {}, {}
    for k, (rec, n) in enumerate((("r1", 3), ("r2", 2))):
        pd.DataFrame({"onset_s": np.arange(n) + 0.1, "offset_s": np.arange(n) + 0.2}).to_csv(
            tmp_path / f"{rec}.csv", index=False)
        imgs = np.zeros((n, 100, 100), np.uint8)
        imgs[:, 0, 0] = 10 * k + np.arange(n)  # each image carries its (recording, call) id
        np.savez(tmp_path / f"{rec}.npz", spectrograms=imgs)
        calls[rec], images[rec] = tmp_path / f"{rec}.csv", tmp_path / f"{rec}.npz"
    truth = tmp_path / "r2.truth.csv"
    pd.DataFrame({"onset_s": [1.1], "offset_s": [1.2], "direction": [1.0], "call_type": ["flat"]}).to_csv(truth)
    table, stack = build_cohort(samples, calls, images, {"r2": truth})
    assert table["call_uid"].tolist() == ["r1#0", "r1#1", "r1#2", "r2#0", "r2#1"]
    assert stack[:, 0, 0].tolist() == [0, 1, 2, 10, 11]
    assert table["animal"].tolist() == ["A"] * 3 + ["B"] * 2
    assert table["onset_s"].tolist() == pytest.approx([0.1, 1.1, 2.1, 0.1, 1.1])
    # only r2's second call overlaps the truth call: it gets its properties, the rest none
    assert table["properties_source"].tolist() == ["none"] * 4 + ["truth"]
    assert table.loc[4, "direction"] == 1.0 and table.loc[4, "truth_call_type"] == "flat"
    table.to_parquet(tmp_path / "t.parquet")
    np.save(tmp_path / "i.npy", stack)
    back, imgs = load_cohort(tmp_path / "t.parquet", tmp_path / "i.npy")
    assert np.array_equal(imgs, stack) and back["call_uid"].tolist() == table["call_uid"].tolist()
    np.save(tmp_path / "short.npy", stack[:4])
    with pytest.raises(InputError, match="4 images but 5 rows"):
        load_cohort(tmp_path / "t.parquet", tmp_path / "short.npy")
    np.savez(tmp_path / "r1.npz", spectrograms=np.zeros((2, 100, 100), np.uint8))
    with pytest.raises(InputError, match="2 images for 3 calls"):
        build_cohort(samples, calls, images)
