"""The segmentation dataset on a tiny simulated cohort: crops per recording, row alignment of images, masks
and the crop table, the animal-level test split, mask scores, and the FF-line comparison."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from usvflow.segment.crops import CropGrid, threshold_mask
from usvflow.segment.dataset import build_dataset, recording_crops, score_masks
from usvflow.simulate.recording import load_truth

GRID = CropGrid(n_freq=96, n_frames=64)


@pytest.fixture(scope="module")
def detections(tiny_cohort, tmp_path_factory) -> dict:
    """The true calls as each recording's detections (the detector is not under test here)."""
    out = tmp_path_factory.mktemp("detections")
    paths = {}
    for rec in tiny_cohort["samples"].index:
        calls, _, _ = load_truth(tiny_cohort["truth_dir"], rec)
        calls[["onset_s", "offset_s"]].to_csv(out / f"{rec}.calls.csv", index=False)
        paths[rec] = out / f"{rec}.calls.csv"
    return paths


@pytest.fixture(scope="module")
def data(tiny_cohort, detections) -> dict:
    return build_dataset(tiny_cohort["samples"], detections, GRID, tiny_cohort["truth_dir"], noise_per_call=0.5,
                         test_fraction=0.25, val_fraction=0.2, seed=3, log=lambda s: None)


def test_split_holds_out_whole_animals(data, tiny_cohort):
    meta = data["meta"]
    splits = meta.groupby("animal")["split"].agg(set)
    # an animal is wholly in the test set or wholly out of it
    assert all(s == {"test"} or "test" not in s for s in splits), splits.to_dict()
    test_animals = {a for a, s in splits.items() if s == {"test"}}
    for cohort, grp in tiny_cohort["samples"].groupby("cohort"):
        animals = set(grp["animal"])
        # every cohort of >= 2 animals gives at least one test animal and keeps at least one for training
        assert animals & test_animals and animals - test_animals, (cohort, test_animals)
    # the validation crops are drawn from the training animals' crops only
    val = meta[meta["split"] == "val"]
    assert len(val) > 0 and not set(val["animal"]) & test_animals


def test_images_masks_and_table_stay_row_aligned(data, tiny_cohort, detections):
    meta, images, truth, thr = data["meta"], data["images"], data["truth"], data["threshold"]
    assert len(meta) == len(images) == len(truth) == len(thr)
    assert images.dtype == np.uint8 and images.shape[1:] == (GRID.n_freq, GRID.n_frames)
    # the call rows are each recording's detections, in order, with that recording's labels
    for rec, grp in meta[meta["kind"] == "call"].groupby("recording", sort=False):
        det = pd.read_csv(detections[rec])
        assert np.allclose(grp["onset_s"], det["onset_s"]) and np.allclose(grp["offset_s"], det["offset_s"])
        assert set(grp["animal"]) == {tiny_cohort["samples"].loc[rec, "animal"]}
        assert set(grp["cohort"]) == {tiny_cohort["samples"].loc[rec, "cohort"]}
        # each call crop spans its call's midpoint
        mid = 0.5 * (grp["onset_s"] + grp["offset_s"])
        assert ((grp["t0_s"] <= mid) & (mid <= grp["t1_s"])).all()
    # each recording's block equals that recording's crops built alone (same rng stream): concatenation
    # neither reorders nor shifts rows
    for i, rec in enumerate(tiny_cohort["samples"].index):
        det = pd.read_csv(detections[rec])
        alone = recording_crops(tiny_cohort["samples"].loc[rec, "path"], det, GRID, int(round(0.5 * len(det))),
                                np.random.default_rng([3, i]), tiny_cohort["truth_dir"], rec)
        rows = np.flatnonzero(meta["recording"] == rec)
        assert np.array_equal(images[rows], alone["images"]) and np.array_equal(truth[rows], alone["truth"])
    # masks belong to their own image: the truth pixels are brighter than the rest of the same crop, on
    # average over call crops (pairing each mask with another row's image loses that)
    calls = np.flatnonzero(meta["kind"].to_numpy() == "call")
    calls = calls[truth[calls].any(axis=(1, 2))]
    assert calls.size >= 10

    def contrast(img_rows, mask_rows):
        return np.mean([images[i][truth[j]].mean() - images[i][~truth[j]].mean()
                        for i, j in zip(img_rows, mask_rows)])

    assert contrast(calls, calls) > 20 > contrast(np.roll(calls, 1), calls)
    assert all(np.array_equal(thr[k], threshold_mask(images[k])) for k in range(0, len(images), 7))


def test_noise_crops_hold_no_call(data, tiny_cohort):
    meta, truth = data["meta"], data["truth"]
    noise = meta["kind"].to_numpy() == "noise"
    assert noise.sum() > 0 and not truth[noise].any()
    for rec, grp in meta[noise].groupby("recording"):
        calls, _, _ = load_truth(tiny_cohort["truth_dir"], rec)
        for t0, t1 in grp[["t0_s", "t1_s"]].to_numpy():
            assert not ((calls["onset_s"] < t1) & (calls["offset_s"] > t0)).any()
    # about noise_per_call noise crops per call crop (fewer only where the recording has no room)
    assert noise.sum() <= round(0.5 * (~noise).sum()) + len(tiny_cohort["samples"])


def test_resized_crops_are_paper_style_squares(tiny_cohort, detections):
    rec = tiny_cohort["samples"].index[0]
    det = pd.read_csv(detections[rec]).head(2)
    grid = CropGrid(size=64)
    out = recording_crops(tiny_cohort["samples"].loc[rec, "path"], det, grid, 1, np.random.default_rng(0),
                          tiny_cohort["truth_dir"], rec)
    assert out["images"].shape == (3, 64, 64) and out["truth"].shape == (3, 64, 64)
    assert out["truth"][:2].any(axis=(1, 2)).all() and not out["truth"][2].any()
    # without a truth there are no truth masks, the threshold masks are still made
    bare = recording_crops(tiny_cohort["samples"].loc[rec, "path"], det, grid, 0, np.random.default_rng(0))
    assert bare["truth"] is None and bare["threshold"].shape == (2, 64, 64)


def test_score_masks_hand_computed():
    truth = np.zeros((2, 4, 4), bool)
    truth[:, :2, :2] = True  # 4 of 16 pixels
    pred = truth.copy()
    pred[1] = False
    pred[1, 0, :] = True  # 2 of the 4 true pixels hit, 2 false positives, 2 misses
    s = score_masks(pred, truth)
    assert s["accuracy"] == pytest.approx([1.0, 12 / 16])
    assert s["dice"] == pytest.approx([1.0, (2 * 2 + 1) / (4 + 4 + 1)])  # Dice with the paper's smoothing 1


def test_ff_line_from_truth_masks_beats_nothing(data, tiny_cohort):
    """compare_ff_sources reads the FF line within the truth mask (an oracle) and from the spectrogram peak;
    the oracle's line lies on the truth line, an empty mask gives no line."""
    from usvflow.segment.ffline import compare_ff_sources

    meta = data["meta"]
    rows = np.flatnonzero((meta["kind"] == "call").to_numpy())[:12]
    masks = {"oracle": data["truth"][rows], "empty": np.zeros_like(data["truth"][rows])}
    table = compare_ff_sources({**data, "grid": GRID.__dict__}, rows, masks, tiny_cohort["samples"],
                               tiny_cohort["truth_dir"], log=lambda s: None)
    assert 0 < len(table) <= len(rows)
    assert set(table["recording"]) <= set(meta.loc[rows, "recording"]) and set(table["crop"]) <= set(rows)
    # the oracle reads a line on (nearly) every voiced frame and within a few bins of the truth's line;
    # an empty mask reads nothing
    assert table["oracle_coverage"].median() > 0.8 and table["oracle_ff_mae_khz"].median() < 3
    assert (table["empty_coverage"] == 0).all() and table["empty_ff_mae_khz"].isna().all()
    assert table["peak_coverage"].notna().all()


def test_recording_floor_makes_a_constant_tonal_band_background(tmp_path):
    """A stationary tonal band crossing every crop looks like a long flat call inside one crop; referenced to the
    recording's per-frequency floor (the default) it is background, while the call stays bright."""
    from dataclasses import replace

    from usvflow.audio.io import write_wav

    fs, dur = 250_000, 4.0
    rng = np.random.default_rng(7)
    t = np.arange(int(fs * dur)) / fs
    x = 0.001 * rng.standard_normal(t.size) + 0.001 * np.sin(2 * np.pi * 60_000 * t)  # band ~15 dB over noise
    on, off = 2.0, 2.03
    inside = (t >= on) & (t < off)
    f_call = 70_000 + 10_000 * (t[inside] - on) / (off - on)  # a 70 -> 80 kHz sweep
    x[inside] += 0.01 * np.sin(2 * np.pi * np.cumsum(f_call) / fs)
    wav = tmp_path / "band.wav"
    write_wav(wav, x, fs)
    det = pd.DataFrame({"onset_s": [on], "offset_s": [off]})
    grid = CropGrid(n_freq=96, n_frames=64)
    assert grid.floor == "recording"
    band_rows = slice(33, 38)  # 58-62 kHz at 1 kHz per row from 25 kHz
    call_rows = slice(46, 55)  # 71-79 kHz
    out = {floor: recording_crops(wav, det, replace(grid, floor=floor), 3, np.random.default_rng(0))
           for floor in ("recording", "crop")}
    new, old = out["recording"], out["crop"]
    assert list(new["meta"]["kind"]) == ["call", "noise", "noise", "noise"]
    # the call is found in its crop either way
    for o in (new, old):
        assert o["threshold"][0, call_rows].sum() > 20
    # raw power: the band is bright structure in every crop and the threshold baseline segments it
    assert old["threshold"][1:, band_rows].any(axis=(1, 2)).all()
    # over the recording's floor: the band is as grey as the background and nothing is segmented off the call
    assert not new["threshold"][1:].any()
    assert not new["threshold"][0, band_rows].any()
    band_grey = new["images"][1:, band_rows].astype(float).mean()
    background = np.median(new["images"][1:].astype(float))
    assert abs(band_grey - background) < 10
