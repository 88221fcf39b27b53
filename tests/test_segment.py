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
    # repeated until erosion no longer applies: the 3 x 7 segment (21 px) is now under 4 x 8 px, the thin one
    # still cannot be eroded, so the second pass changes nothing and the loop stops there
    again, applied = erode_large_segments(out, kernel=(4, 2), min_factor=4)
    assert applied == 0 and np.array_equal(again, out)


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
        truth = render_mask(rec.contours, rec.calls, times, freqs, frame_s=grid.window_s)
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


# ------------------------------------------------------------------------------------------ Table 1 over seeds


def test_summary_over_seeds_and_images_hand_computed():
    from usvflow.segment.table import summarise

    scores = np.array([[0.8, 0.6], [0.9, 0.7], [0.7, 0.5]])  # 3 seeds x 2 images
    s = summarise(scores)
    assert s["mean"] == pytest.approx(70.0)
    assert s["per_seed"] == pytest.approx([70.0, 80.0, 60.0])
    assert s["sem_seeds"] == pytest.approx(10.0 / np.sqrt(3))  # sd of 70, 80, 60 is 10
    assert s["sem_images"] == pytest.approx(10.0)  # image means 80, 60: sd 14.14, / sqrt(2)
    det = summarise(np.tile([0.5, 0.7], (3, 1)))  # a deterministic baseline: every seed the same
    assert det["sem_seeds"] == 0 and det["mean"] == pytest.approx(60.0)


def test_paired_test_over_images():
    from scipy import stats

    from usvflow.segment.table import paired_test

    rng = np.random.default_rng(0)
    base = rng.uniform(0.5, 0.9, 40)
    a = np.stack([base + 0.05 + rng.normal(0, 0.01, 40) for _ in range(3)])
    b = np.stack([base + rng.normal(0, 0.01, 40) for _ in range(3)])
    t = paired_test(a, b)
    assert t["difference"] == pytest.approx(5.0, abs=0.5) and t["p"] < 1e-6
    assert t["seeds_a_better"] == 3 and t["images_a_better"] == 40 and t["n_images"] == 40
    assert t["p"] == pytest.approx(stats.wilcoxon(a.mean(0), b.mean(0)).pvalue)
    same = paired_test(b, b)
    assert same["p"] == 1.0 and same["difference"] == 0
    with pytest.raises(ValueError):
        paired_test(a[:2], b)


def test_table1_has_the_six_rows_and_like_for_like_tests():
    from usvflow.segment.settings import MODELS
    from usvflow.segment.table import build_table, schedule_summary

    rng = np.random.default_rng(1)
    keys = list(MODELS) + ["threshold", "null"]
    dice = {k: rng.uniform(0.3, 0.9, (3, 10)) for k in keys}
    acc = {k: rng.uniform(0.9, 1.0, (3, 10)) for k in keys}
    runs = {k: [dict(updates=100 - i, max_updates=100, lr_drops=[3] if i else [], stopped="early stopping" if i
                     else "max epochs") for i in range(3)] for k in MODELS}
    table, tests = build_table(dice, acc, runs, {k: 1000 for k in MODELS})
    assert list(table.model) == ["SqueakOut", "SqueakOut without augmentation", "U-Net", "U-Net with augmentation",
                                 "threshold baseline", "null model"]
    assert (table.seeds == 3).all() and table.dice_sem_seeds.notna().all()
    row = table.set_index("model").loc["SqueakOut without augmentation"]
    assert row.compared_with == "U-Net" and 0 <= row.wilcoxon_p <= 1
    assert table.set_index("model").loc["SqueakOut", "compared_with"] == "U-Net with augmentation"
    assert set(tests) == {"squeakout_noaug vs unet", "squeakout vs unet_aug"}
    sch = schedule_summary(runs)
    assert sch == {"runs": 12, "runs_with_lr_drop": 8, "runs_early_stopped": 8, "updates_min": 98,
                   "updates_max": 100, "max_updates": 100}


# ------------------------------------------------------------------------------------------ presets


def _preset(config, name):
    return segment_settings({**config, "preset": name})


def test_default_preset_shrinks_both_networks_in_the_papers_proportion(config):
    from usvflow.segment.models import SqueakOut, UNet, build_model, count_parameters

    s = _preset(config, "default")
    paper_ratio = count_parameters(UNet(base=64, depth=4)) / count_parameters(SqueakOut(width=1.0))
    assert 6.5 < paper_ratio < 7.0  # the standard U-Net (31.0 M) against the 4.6 M SqueakOut
    sq = count_parameters(build_model("squeakout", s["squeakout_width"], s["squeakout_last_channels"],
                                      s["unet_base"], s["unet_depth"]))
    un = count_parameters(build_model("unet", s["squeakout_width"], s["squeakout_last_channels"],
                                      s["unet_base"], s["unet_depth"]))
    assert s["unet_depth"] == 4  # the standard U-Net's depth, only narrower
    assert abs(np.log(un / sq) - np.log(paper_ratio)) < np.log(1.1)
    assert len(s["seeds"]) >= 3


def test_paper_preset_trains_at_the_papers_settings(config):
    s = _preset(config, "paper")
    assert s["size"] == 512 and s["squeakout_width"] == 1.0 and s["lr"] == 1e-4 and s["batch_size"] == 8
    assert s["unet_base"] == 64 and s["unet_depth"] == 4 and s["tile"] == 0
    assert s["batches_per_epoch"] is None and (s["plateau_patience"], s["early_stop_patience"]) == (5, 15)
    assert len(s["seeds"]) >= 3


def test_paper_preset_plans_every_model_and_seed(paper_dry_run, planning_clone):
    from conftest import job_counts

    proc = paper_dry_run
    assert proc.returncode == 0, proc.stderr
    counts = job_counts(proc.stdout)
    assert counts["segment_train"] == 4 * len(_preset(yaml_config(planning_clone), "paper")["seeds"])
    assert counts["segment_evaluate"] == 1 and counts["segment_refine"] == 1
    for model in ("squeakout", "squeakout_noaug", "unet", "unet_aug"):
        assert f"results/segment/models/{model}/seed0.pt" in proc.stdout


def yaml_config(root):
    import yaml

    return yaml.safe_load((root / "config.yaml").read_text())


@pytest.mark.parametrize("width,base,depth", [(1.0, 64, 4), (0.25, 16, 4), (0.35, 8, 3), (0.5, 4, 2)])
def test_parameter_counts_without_torch_match_the_networks(width, base, depth):
    from usvflow.segment.models import SqueakOut, UNet, count_parameters
    from usvflow.segment.settings import squeakout_parameters, unet_parameters

    assert squeakout_parameters(width) == count_parameters(SqueakOut(width=width))
    assert unet_parameters(base, depth) == count_parameters(UNet(base=base, depth=depth))


# ------------------------------------------------------------------------------------------ refinement loop


def test_erosion_keeps_long_thin_calls_with_the_thickness_guard():
    m = np.zeros((20, 60), bool)
    m[5:10, 2:58] = True  # a long call 5 rows thick: 280 px, far above the area rule's 32
    paper, applied = erode_large_segments(m, kernel=(4, 2), min_factor=4)
    assert applied == 1 and paper.sum(0).max() == 2  # the paper's rule leaves it 2 rows thick
    guarded, applied = erode_large_segments(m, kernel=(4, 2), min_factor=4, min_thickness=4)
    assert applied == 0 and (guarded == m).all()
    thick = np.zeros((20, 60), bool)
    thick[2:14, 2:58] = True  # 12 rows: eroded to 9, still thick enough, so the guard lets it through
    out, applied = erode_large_segments(thick, kernel=(4, 2), min_factor=4, min_thickness=4)
    assert applied == 1 and out.sum(0).max() == 9


def _blob_crops(n: int, size: int = 32, seed: int = 0):
    """Bright horizontal bars on noise (calls) and noise alone; the truth is each bar, the start masks a
    dilated (too thick) copy of it, as a threshold gives around a loud call."""
    from scipy import ndimage as ndi

    rng = np.random.default_rng(seed)
    images = rng.integers(0, 60, (n, size, size)).astype(np.uint8)
    truth = np.zeros((n, size, size), bool)
    is_noise = np.arange(n) % 4 == 3
    for i in np.flatnonzero(~is_noise):
        r, c = rng.integers(4, size - 10), rng.integers(2, 10)
        truth[i, r:r + 5, c:c + 18] = True
    images[truth] = 220
    start = np.stack([ndi.binary_dilation(t, iterations=2) for t in truth])
    return images, start, is_noise, truth


def test_refinement_scores_every_step_on_the_chosen_device():
    from usvflow.segment.refine import RefineConfig, refine_masks

    images, start, is_noise, truth = _blob_crops(24)
    cfg = RefineConfig(unet_base=4, unet_depth=2, pretrain_epochs=1, call_epochs=1, noise_epochs=1, max_rounds=2,
                       lr=3e-3, batch_size=4, batches_per_epoch=3, seed=0)
    res = refine_masks(images, start, is_noise, truth, cfg, log=lambda s: None, device="cpu")
    steps = [(s["step"], s["round"]) for s in res.steps]
    assert steps[0] == ("threshold", 0) and ("erosion", 1) in steps and ("calls + noise tasks", 1) in steps
    assert all("dice_mean" in s for s in res.steps)  # Dice against the truth after every step
    calls = ~is_noise
    assert res.masks.shape == start[calls].shape and (res.threshold_masks == start[calls]).all()
    assert res.steps[0]["dice_mean"] == pytest.approx(dice_score(start[calls], truth[calls]).mean() * 100)


def test_refinement_verdict_is_a_paired_test_against_the_threshold_masks():
    from usvflow.segment.refine import RefineResult, refinement_verdict

    _, start, is_noise, truth = _blob_crops(40, seed=1)
    calls = ~is_noise
    thr, tru = start[calls], truth[calls]
    steps = [dict(step="threshold", round=0, dice_mean=50.0), dict(step="erosion", round=1, dice_mean=80.0)]
    better = refinement_verdict(RefineResult(masks=tru.copy(), steps=steps, threshold_masks=thr), tru)
    assert better["beats_threshold"] and better["p"] < 1e-3 and better["final_dice"] == pytest.approx(100)
    assert better["best_step"] == "erosion 1" and better["rounds"] == 1
    same = refinement_verdict(RefineResult(masks=thr.copy(), steps=steps[:1], threshold_masks=thr), tru)
    assert not same["beats_threshold"] and same["p"] == 1.0 and same["best_step"] == "threshold"
    worse = refinement_verdict(RefineResult(masks=np.zeros_like(thr), steps=steps, threshold_masks=thr), tru)
    assert not worse["beats_threshold"] and worse["difference"] < 0
