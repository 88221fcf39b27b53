"""usvflow.features.noise: a tonal whistle is not noise-like, a low-frequency block and a click are; the
simulator's noise label follows the detection's matched true call."""

from __future__ import annotations

import numpy as np
import pandas as pd

from usvflow.features.noise import image_noise_measures, truth_noise


def test_image_measure_separates_whistles_from_blocks_and_clicks():
    images = np.zeros((3, 100, 100), np.uint8)
    t = np.arange(10, 70)
    images[0, 40 + (t - 10) // 3, t] = 220  # a rising whistle, 45-60 kHz
    images[0, 41 + (t - 10) // 3, t] = 150
    images[1, 0:20, 20:60] = 200  # a block at 25-45 kHz
    images[2, 10:90, 50] = 255  # a click: one column over 80 kHz
    images[2, 60, 10:40] = 180  # beside a faint flat tone
    m = image_noise_measures(images)
    assert m["noise_like"].tolist() == [False, True, True]
    assert m.loc[0, "low_share"] == 0 and m.loc[0, "broadest_khz"] == 2
    assert m.loc[1, "low_share"] > 0.7 and m.loc[2, "broadest_khz"] == 80
    assert image_noise_measures(np.zeros((0, 100, 100))).empty


def test_truth_noise_reads_the_matched_true_call():
    truth = {"r1": pd.DataFrame({"noise_overlap": ["none", "click", "movement"]})}
    table = pd.DataFrame({"recording": ["r1", "r1", "r1", "r2"], "reference_index": [1, -1, 0, 0]})
    out = truth_noise(table, truth)
    assert out.iloc[:3].tolist() == ["click", "unmatched", "none"] and pd.isna(out.iloc[3])


def test_cluster_noise_shares_per_cluster():
    """Fig 7I's numbers: per cluster, the male share and the noise shares, in % of the cluster's calls."""
    from usvflow.figures.callspace import cluster_noise

    calls = pd.DataFrame({"cluster": [0, 0, 0, 0, 1, 1], "sex": ["M", "M", "M", "F", "F", "M"],
                          "row": [5, 4, 3, 2, 1, 0]})
    noise = pd.DataFrame({"noise_like": [False, False, True, True, True, True],
                          "truth": ["none", "none", "movement", "click", "burst", "unmatched"]})
    out = cluster_noise(calls, noise)
    assert out.loc[0].tolist() == [4, 75.0, 100.0, 100.0]
    assert out.loc[1].tolist() == [2, 50.0, 0.0, 0.0]
    assert list(out.index) == [1, 0]  # ordered by male share
