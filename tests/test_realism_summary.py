"""The simulator-vs-real measures on signals whose answers are known, on the real clips, and the
per-figure numbers and the summary page they feed."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from usvflow.report.summary import mean_sem, median_sem, render_summary, write_stats
from usvflow.simulate.realism import call_visibility, compare, measure_calls, measure_real_clips, noise_spectrum

FS = 250_000
SIGMA = 1e-3  # white noise at -60 dB of a unit-variance noise


def _signal():
    """White noise with a 60 kHz tone (0.2-0.23 s, silent for 5 ms in its middle), an 80->90 kHz sweep
    (0.5-0.54 s) and a 70 kHz tone 1.5 s later (2.0-2.02 s)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(int(2.5 * FS)) * SIGMA
    t = np.arange(len(x)) / FS

    def tone(a, b, f0, f1):
        m = (t >= a) & (t < b)
        tt = t[m] - a
        phase = 2 * np.pi * (f0 * tt + 0.5 * (f1 - f0) / (b - a) * tt ** 2)
        x[m] += 0.1 * np.sin(phase)

    tone(0.2, 0.2125, 60e3, 60e3)
    tone(0.2175, 0.23, 60e3, 60e3)
    tone(0.5, 0.54, 80e3, 90e3)
    tone(2.0, 2.02, 70e3, 70e3)
    return x.astype(np.float32), np.array([[0.2, 0.23], [0.5, 0.54], [2.0, 2.02]])


def test_measure_calls_on_known_tones():
    x, iv = _signal()
    m = measure_calls(x, FS, iv)
    assert m["duration_ms"].to_numpy() == pytest.approx([30, 40, 20])
    assert m["mean_frequency_khz"].to_numpy() == pytest.approx([60, 85, 70], abs=1.0)
    assert m.loc[0, "bandwidth_khz"] < 1.5 and m.loc[1, "bandwidth_khz"] == pytest.approx(9, abs=1.5)
    assert (m["snr_db"] > 30).all()
    # onset-to-onset intervals; the 1.5 s pause between bouts is no call interval, the last call has none
    assert m.loc[0, "ici_ms"] == pytest.approx(300) and m["ici_ms"].iloc[1:].isna().all()


def test_call_visibility_finds_the_fade_and_noise_spectrum_is_flat():
    x, iv = _signal()
    v = call_visibility(x, FS, iv)
    assert v["fades"].tolist() == [1, 0, 0]
    # the 5 ms silence, less what the 1 ms window and the tone's abrupt edges smear into it
    assert 1.5 <= v.loc[0, "fade_ms"] <= 5 and (v["peak_snr_db"] > 30).all()
    levels = noise_spectrum(x, FS, iv)
    assert len(levels) == 5
    assert max(levels.values()) - min(levels.values()) < 1.5  # white noise: the same in every band
    assert np.mean(list(levels.values())) == pytest.approx(20 * np.log10(SIGMA), abs=1.0)


def test_compare_is_zero_for_equal_and_one_for_disjoint_samples():
    rng = np.random.default_rng(3)
    cols = ["duration_ms", "mean_frequency_khz", "bandwidth_khz", "ici_ms", "snr_db"]
    a = pd.DataFrame(rng.gamma(3.0, 10.0, (50, 5)), columns=cols)
    same = compare(a, a.copy())
    assert set(same["measure"]) == set(cols)
    assert (same["ks_distance"] == 0).all() and (same["wasserstein"] == 0).all()
    far = compare(a, a + 1e4)
    assert (far["ks_distance"] == 1).all() and far["wasserstein"].to_numpy() == pytest.approx(1e4)
    assert (far["n_sim"] == 50).all() and (far["n_real"] == 50).all()


def test_measure_real_clips_measures_every_annotated_call(realdata):
    m = measure_real_clips(realdata)
    truth = {p.parent.name: len(pd.read_csv(p, header=None)) for p in realdata.glob("clip*/truth.csv")}
    assert m["source"].value_counts().to_dict() == truth
    assert m["duration_ms"].gt(0).all() and m["mean_frequency_khz"].dropna().between(25, 125).all()


def test_write_stats_and_render_summary(tmp_path):
    write_stats(tmp_path / "b.json", "fig3", "simulated", {"acc": np.float32(0.5), "n": np.int64(4),
                                                          "bad": float("nan"), "v": np.arange(2), "ok": np.bool_(1)},
                [{"quantity": "accuracy", "paper": "76.7 %", "ours": mean_sem([0.5, 0.7])}])
    write_stats(tmp_path / "a.json", "fig1", "real", {}, [{"quantity": "q", "paper": "1", "ours": "2"}])
    stats = json.loads((tmp_path / "b.json").read_text())
    assert stats["values"] == {"acc": 0.5, "n": 4, "bad": None, "v": [0, 1], "ok": True}
    with pytest.raises(ValueError, match="ours"):
        write_stats(tmp_path / "c.json", "x", "d", {}, [{"quantity": "q", "paper": "1"}])
    page = render_summary([tmp_path / "b.json", tmp_path / "a.json"], "# Summary")
    assert page.startswith("# Summary\n")
    assert page.index("## fig1") < page.index("## fig3")  # sorted by file name
    assert "| accuracy | 76.7 % | 60.0 ± 10.0 % (n=2) |" in page and "Data: simulated" in page


def test_mean_and_median_with_sem():
    # mean 60 %, SD (n-1) 14.14 %, SEM 10 %; [10, 20, 90] %: SD 43.6 %, SEM 25.2 %; missing values are dropped, not counted
    assert mean_sem([0.5, 0.7, None, float("nan")]) == "60.0 ± 10.0 % (n=2)"
    assert median_sem([0.1, 0.2, 0.9]) == "20.0 ± 25.2 % median ± SEM (mean 40.0 %, n=3)"
    assert mean_sem([3.0], scale=1, unit=" ms") == "3.0 ± nan ms (n=1)"
    assert mean_sem([]) == median_sem([None]) == "n/a"
