"""Noise-like calls in the dataset stage (issue 23): every row carries Fig 7's image measures, ``noise_like:
drop`` takes exactly the noise-like rows out of the table and the images together, the setting is checked by
the config schema, and the measure of what dropping costs (benchmarks/noise_like_real.py) counts right."""

from __future__ import annotations

import copy
import runpy
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from usvflow.config import validate_config
from usvflow.errors import InputError
from usvflow.features.dataset import NOISE_COLUMNS, build_cohort, load_cohort, noise_columns
from usvflow.features.noise import drop_effect, image_noise_measures, pool_effects


def _image(kind: str, tag: int) -> np.ndarray:
    img = np.zeros((100, 100), np.uint8)
    t = np.arange(10, 70)
    if kind == "whistle":  # a rising tone at 45-65 kHz
        img[40 + (t - 10) // 3, t] = 220
    elif kind == "block":  # low-frequency broadband block (movement)
        img[0:20, 20:60] = 200
    else:  # a click: one column lit over 80 kHz
        img[10:90, 50] = 255
    img[99, 99] = tag  # which call this image is
    return img


@pytest.fixture()
def cohort(tmp_path):
    """Two recordings: r1 whistle, block, whistle; r2 click, whistle (inputs of build_cohort)."""
    samples = pd.DataFrame({"animal": ["A", "B"], "sex": ["F", "M"], "strain": ["WT", "WT"],
                            "cohort": ["sex", "sex"], "annotations": ["", ""]}, index=["r1", "r2"])
    kinds = {"r1": ["whistle", "block", "whistle"], "r2": ["click", "whistle"]}
    calls, images = {}, {}
    for k, (rec, ks) in enumerate(kinds.items()):
        n = len(ks)
        pd.DataFrame({"onset_s": np.arange(n) + 0.1, "offset_s": np.arange(n) + 0.16}).to_csv(
            tmp_path / f"{rec}.csv", index=False)
        np.savez(tmp_path / f"{rec}.npz", spectrograms=np.stack([_image(s, 10 * k + i) for i, s in enumerate(ks)]))
        calls[rec], images[rec] = str(tmp_path / f"{rec}.csv"), str(tmp_path / f"{rec}.npz")
    return samples, calls, images


def test_every_call_gets_the_image_measures_of_fig7(cohort):
    table, stack = build_cohort(*cohort)
    assert len(table) == len(stack) == 5
    assert set(NOISE_COLUMNS) <= set(table.columns)
    expected = image_noise_measures(stack)
    for col in NOISE_COLUMNS:
        assert table[col].tolist() == expected[col].tolist(), col
    assert table["noise_like"].tolist() == [False, True, False, True, False]
    assert table["noise_like"].dtype == bool


def test_drop_removes_exactly_the_noise_like_rows_from_table_and_images(cohort, tmp_path):
    kept, kept_stack = build_cohort(*cohort)
    dropped, stack = build_cohort(*cohort, noise_like="drop")
    noisy = kept["noise_like"].to_numpy()
    assert len(dropped) == len(stack) == (~noisy).sum() and not dropped["noise_like"].any()
    # the same calls, in order, with the detector's numbering, and each row still beside its own image
    assert dropped["call_uid"].tolist() == kept.loc[~noisy, "call_uid"].tolist() == ["r1#0", "r1#2", "r2#1"]
    assert dropped["call_index"].tolist() == [0, 2, 1]
    assert np.array_equal(stack, kept_stack[~noisy])
    assert stack[:, 99, 99].tolist() == [0, 2, 11]
    assert list(dropped.index) == [0, 1, 2]
    dropped.to_parquet(tmp_path / "t.parquet")
    np.save(tmp_path / "i.npy", stack)
    back, imgs = load_cohort(tmp_path / "t.parquet", tmp_path / "i.npy")
    assert back["call_uid"].tolist() == dropped["call_uid"].tolist() and np.array_equal(imgs, stack)


def test_noise_columns_refuses_a_bad_policy_or_misaligned_images(cohort):
    with pytest.raises(ValueError, match="keep, drop"):
        build_cohort(*cohort, noise_like="remove")
    table, stack = build_cohort(*cohort)
    with pytest.raises(ValueError, match="4 images for 5 calls"):
        noise_columns(table, stack[:4])
    empty, none = noise_columns(pd.DataFrame(), np.zeros((0, 100, 100), np.uint8), "drop")
    assert list(empty.columns) == NOISE_COLUMNS and len(none) == 0


def test_dataset_script_passes_the_setting(cohort, repo_root, tmp_path):
    """scripts/dataset.py with the rule's params (``noise_like`` from config ``dataset``): drop writes the
    aligned, reduced table and image stack."""
    samples, calls, images = cohort
    recs = list(samples.index)
    out = SimpleNamespace(table=str(tmp_path / "sex.calls.parquet"), images=str(tmp_path / "sex.spectrograms.npy"))
    smk = SimpleNamespace(log=[str(tmp_path / "dataset.log")], output=out,
                          input=SimpleNamespace(calls=[calls[r] for r in recs], images=[images[r] for r in recs]),
                          params=SimpleNamespace(samples=samples, noise_like="drop"))
    runpy.run_path(str(repo_root / "scripts" / "dataset.py"), init_globals={"snakemake": smk})
    table, stack = load_cohort(out.table, out.images)
    assert table["call_uid"].tolist() == ["r1#0", "r1#2", "r2#1"] and stack[:, 99, 99].tolist() == [0, 2, 11]
    assert "3 calls from 2 recordings, 0 of them noise-like (noise_like: drop)" in (tmp_path / "dataset.log").read_text()


def test_schema_fills_keep_and_refuses_a_bad_value(config, repo_root):
    schema = repo_root / "schemas" / "config.schema.yaml"
    cfg = copy.deepcopy(config)
    cfg["dataset"] = {"detector": "default"}
    validate_config(cfg, schema)
    assert cfg["dataset"]["noise_like"] == "keep"
    cfg["dataset"]["noise_like"] = "drop"
    validate_config(cfg, schema)
    for bad in ("remove", True, ""):
        cfg["dataset"]["noise_like"] = bad
        with pytest.raises(InputError) as e:
            validate_config(cfg, schema)
        msg = str(e.value)
        assert msg.startswith("config.yaml: ") and "dataset" in msg and "noise_like" in msg and "\n" not in msg


def test_drop_effect_counts_what_dropping_costs():
    """Three annotated calls; detections: call 0 (tonal), call 1 (noise-like, a true call over noise), a
    noise-like click between calls (false), call 2 (tonal)."""
    truth = np.array([[0.0, 0.1], [1.0, 1.1], [2.0, 2.1]])
    det = np.array([[0.0, 0.1], [1.0, 1.1], [1.5, 1.52], [2.01, 2.1]])
    flags = np.array([False, True, True, False])
    e = drop_effect(truth, det, flags)
    assert (e["n_true"], e["n_detected"], e["n_noise_like"]) == (3, 4, 2)
    assert (e["tp_noise_like"], e["tp_other"], e["tp_drop"], e["calls_lost"]) == (1, 2, 2, 1)
    assert e["precision_noise_like"] == 0.5 and e["precision_other"] == 1.0
    assert e["recall"] == 1.0 and e["f1"] == pytest.approx(6 / 7)
    assert e["recall_drop"] == pytest.approx(2 / 3) and e["f1_drop"] == pytest.approx(4 / 5)
    pooled = pool_effects([e, drop_effect(truth[:1], det[:1], flags[:1])])
    assert (pooled["n_true"], pooled["n_detected"], pooled["tp_drop"], pooled["calls_lost"]) == (4, 5, 3, 1)
    assert pooled["f1_drop"] == pytest.approx(6 / 7) and pooled["precision_other"] == 1.0
    with pytest.raises(ValueError, match="3 noise-like flags for 4 detections"):
        drop_effect(truth, det, flags[:3])


def test_default_keep_follows_the_real_clips(repo_root):
    """The schema's default (keep) rests on the real annotated clips: the default detector's noise-like
    detections there are mostly true calls, and dropping them lowers the pooled F1."""
    import yaml

    from usvflow.detect.evaluate import _annotated_clips
    from usvflow.features.noise import clip_noise_effect

    schema = yaml.safe_load((repo_root / "schemas" / "config.schema.yaml").read_text())
    assert schema["properties"]["dataset"]["properties"]["noise_like"]["default"] == "keep"
    clips = _annotated_clips(repo_root / "data" / "amvoc-dev")
    pooled = pool_effects([clip_noise_effect(c / "recording.wav", c / "truth.csv") for c in clips])
    assert pooled["n_noise_like"] > 0
    assert pooled["precision_noise_like"] > 0.5 and pooled["f1_drop"] < pooled["f1"]
