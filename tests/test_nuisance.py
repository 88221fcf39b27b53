"""Recording-level nuisance (microphone distance, noise floor, gain, tonal band, movement, clicks, bursts) is
balanced across the groups by the cohort plan's design, for any seed, and written per recording in the truth."""
from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from usvflow.simulate.conditions import plan_faint_epochs
from usvflow.simulate.noise import nuisance_levels
from usvflow.simulate.plan import NUISANCES, RECORDING_COLUMNS, plan_cohorts, stratified_quantiles
from usvflow.simulate.recording import simulate_cohort

SEEDS = [0, 1, 2, 3, 4, 5, 6, 7, 20200, 20201]
#: Nuisance values that are monotone functions of their quantile (tonal_band is a 0/1 presence, checked apart).
VALUES = ("distance_centre_m", "gain_db", "floor_dbfs", "tonal_level_db", "movement", "clicks", "bursts")


def _cohorts(sim: dict, preset: str):
    specs = plan_cohorts(sim, preset)
    for cohort in sorted({s.cohort for s in specs}):
        members = [s for s in specs if s.cohort == cohort]
        yield cohort, members, sorted({s.group for s in members})


def _quantile_bound(n_a: int, n_b: int) -> float:
    """What the design allows between two groups' mean quantiles (``stratified_quantiles``).

    Equal groups of ``m`` (``n = 2m`` levels ``1/n`` apart): every block of four consecutive levels is split
    ABBA or BAAB, which gives both groups the same sum; when ``m`` is odd one pair is left over, one level
    spacing apart, so the sums differ by ``1/n`` and the means by ``1/(n m)``. Unequal groups: each level goes to
    the group furthest behind its share; we allow one level spacing, ``1/n`` (the paper preset's 9 + 8 alternate
    from the lowest level, and their means coincide).
    """
    n = n_a + n_b
    if n_a == n_b:
        return 0.0 if n_a % 2 == 0 else 1.0 / (n * n_a)
    return 1.0 / n


@pytest.mark.parametrize("preset", ["default", "test", "paper"])
def test_plan_balances_every_nuisance_quantile_across_groups(sim, preset):
    for seed in SEEDS:
        sim["seed"] = seed
        for cohort, members, groups in _cohorts(sim, preset):
            n = len(members)
            sizes = [sum(s.group == g for s in members) for g in groups]
            for name in NUISANCES:
                q = np.array([s.nuisance[name] for s in members])
                # The levels are the n evenly spaced quantiles, each used once.
                np.testing.assert_allclose(np.sort(q), (np.arange(n) + 0.5) / n)
                means = [q[[s.group == g for s in members]].mean() for g in groups]
                bound = _quantile_bound(*sizes)
                assert abs(means[0] - means[1]) <= bound + 1e-12, (preset, seed, cohort, name, means, bound)


@pytest.mark.parametrize("preset", ["default", "test"])
def test_plan_balances_every_nuisance_value_across_groups(sim, preset):
    """Equal groups take one level of every consecutive pair (2p, 2p + 1). For a value that grows with its
    quantile the groups' sums then differ by at most the sum of the pairs' spreads, which is at most the spread
    of the cohort's values: the means differ by at most that spread over the group size. A tonal band is
    present below a quantile threshold, so only the pair straddling it can split: counts differ by at most 1."""
    for seed in SEEDS:
        sim["seed"] = seed
        for cohort, members, groups in _cohorts(sim, preset):
            m = len(members) // 2
            assert [sum(s.group == g for s in members) for g in groups] == [m, m]
            table = pd.DataFrame([dict(group=s.group, **nuisance_levels(sim, s.nuisance, s.duration_s),
                                       faint_s=sum(b - a for a, b, _ in plan_faint_epochs(
                                           sim, s.recording, s.duration_s, s.nuisance["faint"])))
                                  for s in members])
            for name in (*VALUES, "faint_s"):
                means = table.groupby("group")[name].mean()
                bound = (table[name].max() - table[name].min()) / m
                assert abs(means.iloc[0] - means.iloc[1]) <= bound + 1e-9, (preset, seed, cohort, name)
            present = table.groupby("group")["tonal_band"].sum()
            assert abs(present.iloc[0] - present.iloc[1]) <= 1


def test_shipped_default_plan_has_the_sexes_at_the_same_mean_distance_gain_and_floor(config):
    """The shipped default cohort (seed and sizes from config.yaml): 4 + 4 animals, so every linear nuisance is
    exactly balanced, and the tonal bands are split evenly."""
    sim = copy.deepcopy(config["simulation"])
    for cohort, members, groups in _cohorts(sim, "default"):
        table = pd.DataFrame([dict(group=s.group, **nuisance_levels(sim, s.nuisance, s.duration_s))
                              for s in members])
        means = table.groupby("group").mean()
        if cohort == "sex":
            for name in ("distance_centre_m", "gain_db", "tonal_level_db"):
                assert means[name].iloc[0] == pytest.approx(means[name].iloc[1], abs=1e-12), name
        lo, hi = sim["distance"]["centre_m"]
        spacing = (hi - lo) / len(members)
        assert abs(means["distance_centre_m"].iloc[0] - means["distance_centre_m"].iloc[1]) <= spacing


def test_plan_is_seeded_and_blind_to_the_animals(sim):
    before = plan_cohorts(sim, "default")
    again = plan_cohorts(copy.deepcopy(sim), "default")
    assert [s.nuisance for s in before] == [s.nuisance for s in again]
    # Nothing about the animals' calls enters the plan: change every sex effect and the plan stays.
    changed = copy.deepcopy(sim)
    changed["effects"]["sex"] = {k: 0.0 for k in changed["effects"]["sex"] if k != "type_logits"}
    assert [s.nuisance for s in plan_cohorts(changed, "default")] == [s.nuisance for s in before]
    sim["seed"] += 1
    assert [s.nuisance for s in plan_cohorts(sim, "default")] != [s.nuisance for s in before]


def test_unequal_groups_interleave():
    """9 + 8 (the paper's sex cohort): the larger group takes every other level, from the lowest."""
    groups = ["F"] * 9 + ["M"] * 8
    q = stratified_quantiles(groups, np.random.default_rng(0))
    levels = (np.arange(17) + 0.5) / 17
    np.testing.assert_allclose(np.sort(q[:9]), levels[0::2])
    np.testing.assert_allclose(np.sort(q[9:]), levels[1::2])


def test_any_group_sizes_stay_within_the_design_bound():
    for n_a in range(1, 11):
        for n_b in range(1, 11):
            for seed in range(5):
                q = stratified_quantiles(["A"] * n_a + ["B"] * n_b, np.random.default_rng(seed))
                np.testing.assert_allclose(np.sort(q), (np.arange(n_a + n_b) + 0.5) / (n_a + n_b))
                assert abs(q[:n_a].mean() - q[n_a:].mean()) <= _quantile_bound(n_a, n_b) + 1e-12, (n_a, n_b, seed)


def test_truth_records_each_recordings_nuisance(sim, tmp_path):
    for part in sim["presets"]["test"].values():
        part["minutes"] = 0.1
    specs = {s.recording: s for s in plan_cohorts(sim, "test")}
    simulate_cohort(sim, "test", tmp_path)
    table = pd.read_csv(tmp_path / "truth" / "recordings.tsv", sep="\t")
    assert list(table.columns) == RECORDING_COLUMNS
    assert list(table.recording) == list(specs)
    for row in table.itertuples():
        spec = specs[row.recording]
        design = nuisance_levels(sim, spec.nuisance, spec.duration_s)
        noise = pd.read_csv(tmp_path / "truth" / f"{row.recording}.noise.csv")
        calls = pd.read_csv(tmp_path / "truth" / f"{row.recording}.calls.csv")
        assert row.group == spec.group
        for name in NUISANCES:
            assert getattr(row, f"q_{name}") == pytest.approx(spec.nuisance[name])
        assert row.gain_db == pytest.approx(design["gain_db"])
        assert row.floor_dbfs == pytest.approx(design["floor_dbfs"])
        assert row.distance_centre_m == pytest.approx(design["distance_centre_m"])
        # The walk averages to its centre (up to reflections at the edges of the range).
        lo, hi = sim["distance"]["range_m"]
        assert lo <= row.distance_mean_m <= hi
        assert abs(row.distance_mean_m - row.distance_centre_m) < 2 * row.distance_sd_m + 1e-9
        assert row.distance_calls_mean_m == pytest.approx(calls.distance_m.mean())
        assert row.tonal_bands == int(design["tonal_band"]) == (noise.kind == "tonal_band").sum()
        assert row.movement_events == design["movement"] == (noise.kind == "movement").sum()
        # Clicks and bursts: the planned ones plus those put on calls.
        assert row.clicks >= design["clicks"] and row.clicks == (noise.kind == "click").sum()
        assert row.bursts >= design["bursts"] and row.bursts == (noise.kind == "burst").sum()
        assert row.n_calls == len(calls)
