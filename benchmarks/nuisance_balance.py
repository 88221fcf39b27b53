"""How far apart the groups of a simulated cohort sit in recording-level nuisance, over many seeds (no audio).

For each seed, plans the preset's cohorts, maps each recording's stratified quantiles to its nuisance
(usvflow.simulate.noise.nuisance_levels), and replays the part of the generator that places the calls and walks
the distance, so the calls' distances are the ones a full simulation gives. Prints, per cohort, the largest
difference between the two groups' means over the seeds of: the walk centre, the gain, the floor, the number of
tonal bands, movement episodes, clicks and bursts, and the calls' mean level change from distance,
-20 log10(d / reference_m), the part of a group's level difference that distance makes.

    python benchmarks/nuisance_balance.py [PRESET] [N_SEEDS]      # default: default 40
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from usvflow.simulate.calls import animal_profile, call_onsets_and_durations
from usvflow.simulate.noise import nuisance_levels
from usvflow.simulate.plan import _stable_seed, plan_cohorts
from usvflow.simulate.recording import _distance_track, _nuisance_quantiles

ROOT = Path(__file__).resolve().parents[1]


def recording_rows(sim: dict, preset: str) -> pd.DataFrame:
    rows = []
    for spec in plan_cohorts(sim, preset):
        levels = nuisance_levels(sim, _nuisance_quantiles(sim, spec), spec.duration_s)
        # The same draws, in the same order, as simulate_recording up to the distance walk.
        rng = np.random.default_rng(_stable_seed(sim["seed"], "recording", spec.recording))
        onsets, _, _ = call_onsets_and_durations(rng, sim, animal_profile(sim, spec), spec.duration_s)
        t, d = _distance_track(rng, sim["distance"], spec.duration_s, levels["distance_centre_m"])
        at_calls = np.interp(onsets, t, d)
        rows.append(dict(cohort=spec.cohort, group=spec.group, **levels,
                         distance_db=float(np.mean(-20 * np.log10(at_calls / sim["distance"]["reference_m"])))))
    return pd.DataFrame(rows)


def main(preset: str = "default", n_seeds: int = 40) -> None:
    sim = yaml.safe_load((ROOT / "config.yaml").read_text())["simulation"]
    first = int(sim["seed"])
    diffs = []
    for seed in range(first, first + n_seeds):
        sim["seed"] = seed
        table = recording_rows(sim, preset)
        for cohort, part in table.groupby("cohort"):
            means = part.drop(columns="cohort").groupby("group").mean()
            diffs.append(dict(seed=seed, cohort=cohort, **(means.iloc[0] - means.iloc[1]).to_dict()))
    diffs = pd.DataFrame(diffs)
    cols = ["distance_centre_m", "gain_db", "floor_dbfs", "tonal_band", "movement", "clicks", "bursts", "distance_db"]
    print(f"preset {preset}, seeds {first}..{first + n_seeds - 1}: group mean differences (first group minus second)")
    for cohort, part in diffs.groupby("cohort"):
        print(f"  {cohort}: largest |difference| over seeds")
        for c in cols:
            print(f"    {c:18s} {part[c].abs().max():8.3f}   (mean |difference| {part[c].abs().mean():.3f})")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "default", int(sys.argv[2]) if len(sys.argv) > 2 else 40)
