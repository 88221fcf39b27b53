"""Segmentation dataset pieces: erosion rule, threshold baseline, FF line from a mask, settings."""
from __future__ import annotations

import numpy as np
import pytest

from usvflow.segment.crops import CropGrid, crop_at, threshold_mask, to_gray
from usvflow.segment.ffline import ff_line_from_mask
from usvflow.segment.models import dice_score
from usvflow.segment.refine import erode_large_segments
from usvflow.segment.settings import segment_settings
from usvflow.simulate.plan import plan_cohorts
from usvflow.simulate.recording import render_mask, simulate_recording


def test_erosion_rule_on_constructed_mask():
    m = np.zeros((20, 20), bool)
    m[2:8, 2:10] = True  # 48 px >= 4 x (4x2): eroded with the 4x2 kernel -> 3 x 7
    m[12:14, 12:14] = True  # 4 px: too small, untouched
    m[16:18, 2:18] = True  # 32 px but only 2 rows: erosion would erase it, so it is kept
    out, applied = erode_large_segments(m, kernel=(4, 2), min_factor=4)
    assert applied == 1
    assert out[2:8, 2:10].sum() == 3 * 7
    assert out[12:14, 12:14].all() and out[16:18, 2:18].all()
    # repeated until erosion no longer applies
    n = 0
    while applied:
        out, applied = erode_large_segments(out)
        n += 1
    assert n >= 1 and out[2:8, 2:10].sum() < 48


def test_ff_line_from_mask_picks_the_masked_peak():
    freqs = np.arange(10) * 1000.0
    power = np.full((10, 3), 1e-6)
    power[2, :] = 1.0  # a loud line outside the mask (noise)
    power[6, :2] = 0.1  # the call, inside the mask
    mask = np.zeros((10, 3), bool)
    mask[5:8, :2] = True
    ff = ff_line_from_mask(power, mask, freqs)
    assert ff[:2] == pytest.approx([6000, 6000], abs=1)
    assert np.isnan(ff[2])


@pytest.fixture(scope="module")
def sim_crop(request):
    from pathlib import Path

    import yaml

    cfg = yaml.safe_load(open(Path(__file__).resolve().parents[1] / "config.yaml"))
    spec = plan_cohorts(cfg["simulation"], "test")[0]
    rec = simulate_recording(cfg["simulation"], spec)
    grid = CropGrid()
    calls = rec.calls[~rec.calls["faint"]].head(6)
    out = []
    for _, c in calls.iterrows():
        mid = 0.5 * (c["onset_s"] + c["offset_s"])
        power, freqs, times = crop_at(rec.audio, rec.sample_rate, mid - 0.048, mid + 0.048, grid)
        truth = render_mask(rec.contours, rec.calls, times, freqs)
        out.append((to_gray(power, grid.dynamic_range_db), truth))
    return out


def test_threshold_baseline_beats_null_model(sim_crop):
    # Averaged over crops: a single crop under a click or burst can fool the threshold.
    thr, null = [], []
    for img, truth in sim_crop:
        assert img.shape == truth.shape == (96, 96)
        thr.append(dice_score(threshold_mask(img), truth))
        null.append(dice_score(np.zeros_like(truth), truth))
    assert np.mean(thr) > np.mean(null) + 0.3


def test_settings_follow_the_preset():
    cfg = {"preset": "test", "segment": {"features_from_mask": True, "test": {"n_frames": 64,
                                                                                "refine": {"max_rounds": 2}}}}
    s = segment_settings(cfg)
    assert s["n_frames"] == 64 and s["refine"]["max_rounds"] == 2 and s["refine"]["unet_base"] == 64
    assert s["features_from_mask"] is True and s["lr"] == 1e-4
